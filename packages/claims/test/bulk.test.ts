import { createQueueSet, createRedisConnection, type QueueSet } from '@meridian/queue';
import { createTestPrefix, testRedisUrl } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { BucketType, bulkClaimsJob, claimsCatalog, runBulkClaims, withClaims } from '../src';
import { chunkRecords } from '../src/bulk-claims';
import { leaseCounts, serviceClaims, startClaimsTestEnv, type ClaimsTestEnv } from '../src/conformance/claims-test-env';
import { models, schema, users } from './fixtures';

// Bulk writes bypass per-row claims; after COMMIT they enqueue bulk-claims jobs of 500 rows.

let env: ClaimsTestEnv;
let redis: Redis;
let queues: QueueSet;
const prefix = createTestPrefix('claimsbulk');
beforeAll(async () => {
  env = await startClaimsTestEnv({ schema });
  await env.setClaimsFlag(true);
  redis = await createRedisConnection(testRedisUrl(), 'producer');
  queues = createQueueSet(claimsCatalog(), redis, prefix.prefix);
});
afterAll(async () => {
  await queues.close();
  redis.disconnect();
  await prefix.cleanup();
  await env.close();
});

async function drain(): Promise<Array<{ created: number; destroyed: number }>> {
  const queue = queues.get(bulkClaimsJob);
  const jobs = await queue.getJobs(['waiting']);
  const claims = env.claims({ models, queues });
  const results = [];
  for (const job of jobs.sort((a, b) => Number(a.id) - Number(b.id))) {
    results.push(await runBulkClaims(claims, bulkClaimsJob.payload.parse(job.data)));
    await job.remove();
  }
  return results;
}

test('1,200 inserted rows → 3 jobs after COMMIT (500, 500, 200), each claiming with BeginUpdate + CommitUpdate', async () => {
  const claims = env.claims({ models, queues });
  const rows = Array.from({ length: 1200 }, (_, i) => ({ username: `bulk-${i}` }));
  const inserted = await withClaims(claims, env.cells[1]!.sql, async (w) => {
    const result = await w.insertMany(users, rows);
    // nothing is enqueued before COMMIT
    expect(await queues.get(bulkClaimsJob).getWaitingCount()).toBe(0);
    return result;
  });
  expect(inserted).toHaveLength(1200);
  expect(env.calls).toEqual([]); // no in-transaction BeginUpdate for bulk writes
  const results = await drain();
  expect(results).toEqual([{ created: 1000, destroyed: 0 }, { created: 1000, destroyed: 0 }, { created: 400, destroyed: 0 }]);
  const held = (await serviceClaims(env)).filter((c) => c.type === BucketType.USERNAMES && c.value.startsWith('bulk-'));
  expect(held).toHaveLength(1200);
  expect(held.every((c) => c.status === 1)).toBe(true);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });

  // bulk delete: the claims are captured before the rows go, released after COMMIT
  await withClaims(claims, env.cells[1]!.sql, (w) => w.deleteMany(users, inserted.slice(0, 600).map((r) => r.id)));
  expect((await drain()).map((r) => r.destroyed)).toEqual([1000, 200]);
  expect((await serviceClaims(env)).filter((c) => c.type === BucketType.USERNAMES && c.value.startsWith('bulk-'))).toHaveLength(600);
});

test('a rolled-back bulk write enqueues nothing', async () => {
  const claims = env.claims({ models, queues });
  await expect(
    withClaims(claims, env.cells[1]!.sql, async (w) => {
      await w.insertMany(users, [{ username: 'bulk-rolled-back' }]);
      throw new Error('abandon');
    }),
  ).rejects.toThrow('abandon');
  expect(await queues.get(bulkClaimsJob).getWaitingCount()).toBe(0);
});

test('background BeginUpdates carry at most 1,000 records and about 10 MB', () => {
  const small = Array.from({ length: 2500 }, (_, i) => ({ bucket: { value: `v${i}` } }));
  expect(chunkRecords(small).map((c) => c.length)).toEqual([1000, 1000, 500]);
  const big = Array.from({ length: 30 }, () => ({ bucket: { value: 'x'.repeat(1024 * 1024) } }));
  expect(chunkRecords(big).map((c) => c.length)).toEqual([9, 9, 9, 3]);
});
