import { loadConfig } from '@meridian/config';
import { z } from 'zod';
import { createLogger } from '@meridian/logger';
import { createQueueSet, createRedisConnection, defineJob, defineSchedule } from '@meridian/queue';
import { createTestPrefix, testRedisUrl, waitFor } from '@meridian/testing';
import { siteSchedules } from '@meridian/runtime';
import { startSchedulerLoop } from '../src';

const tick = defineJob({ queue: 'test.tick', description: 'test', roles: ['primary'], payload: z.object({}) });

describe('scheduler loop', () => {
  it('restores its schedulers after Redis is flushed', async () => {
    const { prefix, cleanup } = createTestPrefix();
    const redis = await createRedisConnection(testRedisUrl(), 'producer');
    const queues = createQueueSet([tick], redis, prefix);
    const loop = await startSchedulerLoop({
      queues,
      schedules: [defineSchedule({ id: 'tick-hourly', job: tick, data: {}, pattern: '0 * * * *' })],
      intervalMs: 100,
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    try {
      expect(loop.last()?.upserted).toEqual(['tick-hourly']);
      expect(await queues.get(tick).getJobSchedulersCount()).toBe(1);
      await cleanup(); // every key under the prefix is gone, as after FLUSHALL
      expect(await queues.get(tick).getJobSchedulersCount()).toBe(0);
      await waitFor(async () => (await queues.get(tick).getJobSchedulersCount()) === 1, { message: 'scheduler restored' });
      expect((await queues.get(tick).getJobScheduler('tick-hourly'))?.pattern).toBe('0 * * * *');
    } finally {
      await loop.stop();
      await queues.close();
      await cleanup();
      redis.disconnect();
    }
  });

  it('declares each role’s schedules', () => {
    const primary = siteSchedules(loadConfig({ SITE_ROLE: 'primary' })).map((s) => s.id);
    const secondary = siteSchedules(loadConfig({ SITE_ROLE: 'secondary' })).map((s) => s.id);
    expect(primary).toEqual(expect.arrayContaining(['site-heartbeat', 'geo-event-prune']));
    expect(primary).not.toContain('geo-event-cursor');
    expect(secondary).toEqual(expect.arrayContaining(['site-heartbeat', 'geo-event-cursor', 'geo-registry-sync', 'geo-registry-consistency', 'geo-sync-timeout']));
  });
});
