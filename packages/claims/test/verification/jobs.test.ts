import { createQueueSet, createRedisConnection, randomDelayWithin, type QueueSet } from '@meridian/queue';
import { createTestPrefix, deleteKeysWithPrefix, testRedisUrl } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { createLogger } from '@meridian/logger';
import {
  acquireLock,
  BucketType,
  claimsCatalog,
  claimsProcessors,
  DEFAULT_VERIFICATION_WINDOW_MS,
  listPasses,
  loadCursor,
  recoverLostTransactions,
  runVerification,
  verificationJob,
  verificationScheduleJob,
  verificationScheduleWithinJob,
} from '../../src';
import { startClaimsTestEnv, type ClaimsTestEnv } from '../../src/conformance/claims-test-env';
import { decodeIntegerPrimaryKey } from '../../src/primary-key';
import { aheadClock, enableVerification, meta, seedService, serviceState, verificationSchema, vModels, vUsers } from './verification-env';

// The verification job around the service: time budget and cursor, Redis flushed mid-pass, the
// per-model lock, the flag, conflicts with another cell, a lost CommitUpdate; and the weekly
// schedule (schedule-within delay, 10-minute stagger) with seeded randomness.

let env: ClaimsTestEnv;
let redis: Redis;
let queues: QueueSet;
const prefix = createTestPrefix('claimsverify');
beforeAll(async () => {
  env = await startClaimsTestEnv({ schema: verificationSchema, cells: [1, 2] });
  await env.setClaimsFlag(true);
  await enableVerification(env, 1, vModels);
  await enableVerification(env, 2, vModels);
  redis = await createRedisConnection(testRedisUrl(), 'producer');
  queues = createQueueSet(claimsCatalog(), redis, prefix.prefix);
});
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await prefix.cleanup();
  await env?.close();
});

async function reset() {
  for (const cell of [1, 2]) {
    const sql = env.cells[cell]!.sql;
    await sql`truncate users, emails, cells_claims_verification_cursors, cells_claims_verification_passes, cells_claims_verification_locks`;
  }
  await env.topologySql`delete from claims`;
  await env.topologySql`delete from claim_leases`;
  await deleteKeysWithPrefix(prefix.prefix);
  env.calls.length = 0;
}

/** n users without claims, plus orphans every 500 ids and a stale username every 700. */
async function seedRows(cell: number, n: number): Promise<void> {
  const sql = env.cells[cell]!.sql;
  const ids = await sql<{ id: bigint }[]>`
    insert into users (username) select 'u-' || g || '-c' || ${cell}::int from generate_series(1, ${n}) g returning id`;
  const records = [];
  for (const [i, { id }] of ids.entries()) {
    if (i % 700 === 0) records.push(meta(BucketType.USERNAMES, `stale-${i}-c${cell}`, id, id));
    if (i % 500 === 0) records.push(meta(BucketType.USER_IDS, String(id + 100_000_000n), id + 100_000_000n, id + 100_000_000n));
  }
  await seedService(env.client(cell), records);
  env.calls.length = 0;
}

/** A cell's service state with the cell's id range and suffix taken out, to compare two cells. */
async function normalized(cell: number): Promise<string[]> {
  const base = BigInt(cell) * 1_000_000_000n;
  const rows = await env.topologySql<{ bucket_type: number; bucket_value: string; source_id: Buffer }[]>`
    select bucket_type, bucket_value, source_id from claims where cell_id = ${cell}`;
  return rows
    .map((r) => {
      const source = r.source_id.readBigUInt64BE(0) - base;
      const value = r.bucket_type === BucketType.USER_IDS ? String(BigInt(r.bucket_value) - base) : r.bucket_value.replace(`-c${cell}`, '');
      return `${r.bucket_type}=${value}@${source}`;
    })
    .sort();
}

test('a run cut by its time budget resumes at its cursor and ends in the same state as one long run', async () => {
  await reset();
  await seedRows(1, 3_500);
  await seedRows(2, 3_500);
  const now = aheadClock();
  // cell 2: one long run
  const long = await runVerification(env.claims({ models: vModels, cellId: 2 }), 'users', { now, budgetMs: Infinity });
  expect(long.status).toBe('done');
  // cell 1: a clock that moves a minute per reading and a 1 ms budget: one batch per run
  let t = now().getTime();
  const ticking = () => new Date((t += 60_000));
  const claims = env.claims({ models: vModels, cellId: 1 });
  const cursors: Array<string | undefined> = [];
  let runs = 0;
  for (;;) {
    const run = await runVerification(claims, 'users', { now: ticking, budgetMs: 1 });
    runs++;
    if (run.status === 'done') break;
    expect(run.status).toBe('paused');
    cursors.push((await loadCursor(env.cells[1]!.sql, 'users'))?.lastId);
    expect(runs).toBeLessThan(10);
  }
  expect(runs).toBe(4); // 1,000 + 1,000 + 1,000 + 500 rows
  const first = 1_000_000_000n;
  expect(cursors).toEqual([String(first + 999n), String(first + 1_999n), String(first + 2_999n)]);
  expect(await normalized(1)).toEqual(await normalized(2));
  const [pass1] = await listPasses(env.cells[1]!.sql, { model: 'users' });
  const [pass2] = await listPasses(env.cells[2]!.sql, { model: 'users' });
  expect(pass1!.counts).toEqual(pass2!.counts);
  expect(pass1!.rows).toBe(3_500);
});

test('a Redis flush mid-pass loses no progress: the cursor is in PostgreSQL', async () => {
  await reset();
  await seedRows(1, 2_500);
  let t = aheadClock()().getTime();
  const ticking = () => new Date((t += 60_000));
  const claims = env.claims({ models: vModels, cellId: 1, queues });
  const first = await runVerification(claims, 'users', { now: ticking, budgetMs: 1, queues });
  expect(first.status).toBe('continued');
  expect(first.counts.rows).toBe(1_000);
  expect(await queues.get(verificationJob).getWaitingCount()).toBe(1); // the follow-up job
  await deleteKeysWithPrefix(prefix.prefix); // Redis loses the follow-up job
  expect(await queues.get(verificationJob).getWaitingCount()).toBe(0);
  // the next weekly schedule (or an operator) starts the model again: it resumes at the cursor
  const rest = await runVerification(claims, 'users', { now: ticking, budgetMs: Infinity, queues });
  expect(rest.status).toBe('done');
  expect(rest.counts.rows).toBe(1_500);
  const [pass] = await listPasses(env.cells[1]!.sql, { model: 'users' });
  expect(pass!.rows).toBe(2_500);
  expect(pass!.counts.created).toBe(5_000);
});

test('two workers never verify one model at once; a dead worker\'s lock expires', async () => {
  await reset();
  await seedRows(1, 1_500);
  const sql = env.cells[1]!.sql;
  // the lock is one statement: of ten racing takers exactly one wins
  const at = new Date();
  const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => acquireLock(sql, 'race', `w${i}`, at, 60_000)));
  expect(wins.filter(Boolean)).toHaveLength(1);

  const claims = env.claims({ models: vModels, cellId: 1 });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let paused!: () => void;
  const reached = new Promise<void>((resolve) => (paused = resolve));
  const now = aheadClock();
  const a = runVerification(claims, 'users', { now, budgetMs: Infinity, afterBatch: async () => (paused(), held) });
  await reached;
  const b = await runVerification(claims, 'users', { now, budgetMs: Infinity });
  expect(b).toMatchObject({ status: 'skipped', reason: 'another process is verifying this model' });
  release();
  expect((await a).status).toBe('done');

  // a worker that died holding the lock: refused until its expiry, then the model runs
  const t0 = now();
  expect(await acquireLock(sql, 'users', 'dead-worker', t0, 5 * 60_000)).toBe(true);
  const early = await runVerification(claims, 'users', { now: () => new Date(t0.getTime() + 5 * 60_000 - 1) });
  expect(early.status).toBe('skipped');
  const late = await runVerification(claims, 'users', { now: () => new Date(t0.getTime() + 5 * 60_000) });
  expect(late.status).toBe('done');
});

test('a flag-disabled model is skipped with a log line and untouched', async () => {
  await reset();
  await seedRows(1, 100);
  const before = await serviceState(env, 1);
  await enableVerification(env, 1, [vUsers], false);
  try {
    const lines: unknown[] = [];
    const logger = createLogger({ name: 'test', destination: { write: (l: string) => lines.push(JSON.parse(l)) } });
    const result = await runVerification(env.claims({ models: vModels, cellId: 1, logger }), 'users', { now: aheadClock() });
    expect(result).toMatchObject({ status: 'skipped', reason: 'flag cells_claims_verification_worker_user is disabled' });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'claims verification skipped', model: 'users' }));
    expect(env.calls).toEqual([]);
    expect(await serviceState(env, 1)).toEqual(before);
  } finally {
    await enableVerification(env, 1, [vUsers], true);
  }
});

test('a value owned by another cell is a conflict reported once, with its owner, and not retried in a loop', async () => {
  await reset();
  const sql = env.cells[1]!.sql;
  const [other] = await env.cells[2]!.sql<{ id: bigint }[]>`insert into users (username) values ('taken') returning id`;
  await seedService(env.client(2), [meta(BucketType.USERNAMES, 'taken', other!.id, other!.id)]);
  const [mine] = await sql<{ id: bigint }[]>`insert into users (username) values ('taken') returning id`;
  await sql`insert into users (username) select 'free-' || g from generate_series(1, 10) g`;
  env.calls.length = 0;
  const claims = env.claims({ models: vModels, cellId: 1 });
  const result = await runVerification(claims, 'users', { now: aheadClock() });
  expect(result.conflicts).toEqual([{ model: 'users', recordId: String(mine!.id), bucketType: 'USERNAMES', value: 'taken', owningCell: 2 }]);
  expect(result.counts).toMatchObject({ created: 21, conflicts: 1 });
  // one refused BeginUpdate, one without the taken value: no loop
  expect(env.calls.filter((c) => c.method === 'BeginUpdate')).toHaveLength(2);
  expect((await serviceState(env, 1)).filter((l) => l.includes('=taken '))).toEqual([]);
});

test('a lost CommitUpdate fails the batch and leaves a service-only lease that recovery rolls back', async () => {
  await reset();
  await seedRows(1, 10);
  const failing = env.client(1, {
    interceptors: [
      (next) => async (req) => {
        if (req.method.name === 'CommitUpdate') throw new Error('connection lost before CommitUpdate');
        return next(req);
      },
    ],
  });
  const claims = env.claims({ models: vModels, cellId: 1, client: failing });
  await expect(runVerification(claims, 'users', { now: aheadClock() })).rejects.toThrow();
  expect(await loadCursor(env.cells[1]!.sql, 'users')).toBeUndefined(); // the batch is not passed
  const [open] = await env.topologySql<{ n: number }[]>`select count(*)::int as n from claim_leases where state = 'open' and cell_id = 1`;
  expect(open!.n).toBe(1);
  const recovery = await recoverLostTransactions(env.claims({ models: vModels, cellId: 1 }), { now: new Date(Date.now() + 6 * 60_000), fullScan: true });
  expect(recovery.rolledBack).toBe(1);
  // the next run repairs it
  expect((await runVerification(env.claims({ models: vModels, cellId: 1 }), 'users', { now: aheadClock() })).status).toBe('done');
});

test('a batch whose repairs fail stops the run there: the cursor stays at the last repaired batch, later batches repair nothing', async () => {
  await reset();
  await seedRows(1, 50); // every row lacks its claims: each batch of 10 has creates
  const ids = (await env.cells[1]!.sql<{ id: string }[]>`select id::text from users order by id`).map((r) => r.id);
  const secondBatch = new Set(ids.slice(10, 20));
  // the second batch's repairs fail (its creates' lease is never committed); the first batch's go through
  let failNextCommit = false;
  const failing = env.client(1, {
    interceptors: [
      (next) => async (req) => {
        if (req.method.name === 'BeginUpdate') {
          const creates = (req.message as { createRecords?: Array<{ source?: { railsPrimaryKeyId?: Uint8Array } }> }).createRecords ?? [];
          if (creates.some((c) => c.source?.railsPrimaryKeyId && secondBatch.has(String(decodeIntegerPrimaryKey(c.source.railsPrimaryKeyId))))) failNextCommit = true;
        }
        if (req.method.name === 'CommitUpdate' && failNextCommit) throw new Error('connection lost before CommitUpdate');
        return next(req);
      },
    ],
  });
  const claims = env.claims({ models: vModels, cellId: 1, client: failing });
  await expect(runVerification(claims, 'users', { now: aheadClock(), verify: { batchSize: 10 } })).rejects.toThrow('connection lost');
  expect((await loadCursor(env.cells[1]!.sql, 'users'))?.lastId).toBe(ids[9]); // the first batch, and only it
  // no batch after the failed one was repaired (their rows may have been compared, never written)
  const later = new Set(ids.slice(20));
  const repairedLater = env.calls
    .filter((c) => c.method === 'BeginUpdate')
    .flatMap((c) => (c.request as { createRecords?: Array<{ source?: { railsPrimaryKeyId?: Uint8Array } }> }).createRecords ?? [])
    .filter((c) => c.source?.railsPrimaryKeyId && later.has(String(decodeIntegerPrimaryKey(c.source.railsPrimaryKeyId))));
  expect(repairedLater).toEqual([]);
  await recoverLostTransactions(env.claims({ models: vModels, cellId: 1 }), { now: new Date(Date.now() + 6 * 60_000), fullScan: true });
  // the next run resumes after batch 1 and repairs the rest
  const next = await runVerification(env.claims({ models: vModels, cellId: 1 }), 'users', { now: aheadClock(), verify: { batchSize: 10 } });
  expect(next.status).toBe('done');
  expect(next.counts.rows).toBe(40);
  expect((await runVerification(env.claims({ models: vModels, cellId: 1 }), 'users', { now: aheadClock(), fromStart: true })).counts).toMatchObject({ created: 0, destroyed: 0 });
});

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

test('the schedule-within delay is uniform inside 23 h 59 min; models are staggered by 10 minutes', async () => {
  await reset();
  const window = DEFAULT_VERIFICATION_WINDOW_MS;
  const random = seeded(42);
  const bins = new Array<number>(24).fill(0);
  const samples = 24_000;
  for (let i = 0; i < samples; i++) {
    const d = randomDelayWithin(window, random);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThan(window);
    bins[Math.floor((d / window) * 24)]!++;
  }
  // each hour-wide bin within 10 % of its expected 1,000 (a skewed delay fails this)
  for (const n of bins) expect(Math.abs(n - samples / 24)).toBeLessThan(samples / 24 / 10);

  // the processors, through real Redis: cron job → delayed schedule job → staggered model jobs
  const claims = env.claims({ models: vModels, cellId: 1, queues });
  const processors = claimsProcessors(claims, { random: () => 0.5 });
  const run = (queue: string, data: unknown) => processors.find((p) => p.definition.queue === queue)!.process(data as never, { job: {} as never, logger: claims.logger, signal: new AbortController().signal });
  const within = (await run(verificationScheduleWithinJob.queue, {})) as { delayMs: number };
  expect(within.delayMs).toBe(Math.floor(window / 2));
  const [scheduled] = await queues.get(verificationScheduleJob).getDelayed();
  expect(scheduled!.opts.delay).toBe(Math.floor(window / 2));
  await run(verificationScheduleJob.queue, {});
  const jobs = await queues.get(verificationJob).getJobs(['delayed', 'waiting']);
  const byModel = Object.fromEntries(jobs.map((j) => [j.data.model as string, j.opts.delay ?? 0]));
  expect(byModel).toEqual({ users: 0, emails: 10 * 60_000 });
});
