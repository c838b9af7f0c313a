import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createLogger } from '@meridian/logger';
import { createTestPrefix, testRedisUrl, waitFor } from '@meridian/testing';
import {
  applyGlobalConcurrency,
  createQueueSet,
  createRedisConnection,
  defineJob,
  defineSchedule,
  InvalidPayloadError,
  randomDelayWithin,
  registerProcessor,
  scheduleWithin,
  startWorkerPool,
  syncSchedulers,
} from '../src';

const ping = defineJob({ queue: 'test.ping', description: 'test', roles: ['primary'], payload: z.object({ n: z.number().int() }) });
const pong = defineJob({ queue: 'test.pong', description: 'test', roles: ['secondary'], payload: z.object({}) });
const logger = createLogger({ name: 'test', level: 'silent' });

describe('queue package against real Redis', () => {
  // a fresh key prefix per test so no test sees another's jobs or schedulers
  let prefix: string;
  let cleanup: () => Promise<void>;
  let redis: Redis;
  let workerRedis: Redis;
  beforeAll(async () => {
    redis = await createRedisConnection(testRedisUrl(), 'producer');
    workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
  });
  beforeEach(() => {
    ({ prefix, cleanup } = createTestPrefix());
  });
  afterEach(async () => {
    await cleanup();
  });
  afterAll(async () => {
    redis.disconnect();
    workerRedis.disconnect();
  });

  it('upserts schedulers idempotently and removes stale ones', async () => {
    const queues = createQueueSet([ping, pong], redis, prefix);
    try {
      const schedules = [
        defineSchedule({ id: 'ping-every-minute', job: ping, data: { n: 1 }, every: 60_000 }),
        defineSchedule({ id: 'pong-saturday', job: pong, data: {}, pattern: '0 0 * * 6' }),
      ];
      const first = await syncSchedulers(schedules, (d) => queues.get(d), queues.all());
      expect(first.upserted.sort()).toEqual(['ping-every-minute', 'pong-saturday']);
      expect(first.removed).toEqual([]);
      // a second run changes nothing: still exactly one scheduler per id, one delayed job each
      const second = await syncSchedulers(schedules, (d) => queues.get(d), queues.all());
      expect(second.removed).toEqual([]);
      expect(await queues.get(ping).getJobSchedulersCount()).toBe(1);
      expect(await queues.get(pong).getJobSchedulersCount()).toBe(1);
      // a new scheduler fires at once; either way exactly one pending job per scheduler
      const pending = async (q: Queue) => (await q.getDelayedCount()) + (await q.getWaitingCount());
      expect(await pending(queues.get(ping))).toBe(1);
      expect(await pending(queues.get(pong))).toBe(1);
      const saturday = await queues.get(pong).getJobScheduler('pong-saturday');
      expect(saturday?.pattern).toBe('0 0 * * 6');
      expect(saturday?.tz).toBe('UTC');

      // a scheduler left over from an older deploy is removed, declared ones stay
      await queues.get(ping).upsertJobScheduler('old-one', { every: 5_000 }, { name: 'test.ping', data: { n: 2 } });
      const third = await syncSchedulers(schedules.slice(0, 1), (d) => queues.get(d), queues.all());
      expect(third.removed.sort()).toEqual(['old-one', 'pong-saturday']);
      expect((await queues.get(ping).getJobSchedulers()).map((s) => s.key)).toEqual(['ping-every-minute']);
      expect(await queues.get(pong).getJobSchedulersCount()).toBe(0);
    } finally {
      await queues.close();
    }
  });

  it('validates payloads when adding and when processing', async () => {
    const queues = createQueueSet([ping], redis, prefix);
    const seen: number[] = [];
    const pool = await startWorkerPool({
      registrations: [registerProcessor(ping, async ({ n }) => seen.push(n))],
      connection: workerRedis,
      queues,
      logger,
    });
    try {
      await expect(queues.add(ping, { n: 1.5 } as never)).rejects.toThrow(InvalidPayloadError);
      // a producer that bypasses the catalog gets an unrecoverable failure, not endless retries
      const raw = new Queue('test.ping', { connection: redis, prefix });
      const bad = await raw.add('test.ping', { n: 'x' }, { attempts: 5 });
      await queues.add(ping, { n: 7 });
      await waitFor(async () => (await raw.getJobState(bad.id!)) === 'failed');
      const failed = await raw.getJob(bad.id!);
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toMatch(/invalid payload/);
      await waitFor(() => seen.includes(7));
      await raw.close();
    } finally {
      await pool.close(5_000);
      await queues.close();
    }
  });

  it('sets global concurrency from configuration and removes it when unset', async () => {
    const queue = new Queue('test.global', { connection: redis, prefix });
    try {
      await applyGlobalConcurrency(queue, 3);
      expect(await queue.getGlobalConcurrency()).toBe(3);
      await applyGlobalConcurrency(queue, undefined);
      expect(await queue.getGlobalConcurrency()).toBeNull();
    } finally {
      await queue.close();
    }
  });

  it('scheduleWithin delays a job by a random amount inside the window', async () => {
    const queues = createQueueSet([pong], redis, prefix);
    try {
      const day = 24 * 3_600_000 - 60_000;
      const { jobId, delayMs } = await scheduleWithin(queues, pong, {}, day, { random: () => 0.5, jobId: 'verify-week-1' });
      expect(delayMs).toBe(Math.floor(day / 2));
      const job = await queues.get(pong).getJob(jobId);
      expect(job?.opts.delay).toBe(delayMs);
      expect(await queues.get(pong).getJobState(jobId)).toBe('delayed');
      // same id again: no second job
      await scheduleWithin(queues, pong, {}, day, { random: () => 0.1, jobId: 'verify-week-1' });
      expect(await queues.get(pong).getDelayedCount()).toBe(1);
    } finally {
      await queues.close();
    }
  });

  it('randomDelayWithin stays inside [0, window) and rejects empty windows', () => {
    expect(randomDelayWithin(1_000, () => 0)).toBe(0);
    expect(randomDelayWithin(1_000, () => 0.999999999)).toBe(999);
    expect(randomDelayWithin(1_000, () => 1)).toBe(999);
    expect(() => randomDelayWithin(0)).toThrow(RangeError);
  });
});
