import { z } from 'zod';
import { defineFeatureModule, type SiteBase } from '../feature-module';
import type { Config } from '@meridian/config';
import { defineJob, defineSchedule, registerProcessor, type ProcessorRegistration, type ScheduleDefinition } from '@meridian/queue';
import { Counter, type Registry } from 'prom-client';

/**
 * Removes the `.tmp-*` files a killed process left in the site's storage (an interrupted download
 * on a secondary, an interrupted write on a primary). Only files untouched for
 * STORAGE_TEMP_FILE_MAX_AGE_MS go: a live download writes to its file continuously and gives up
 * after the transfer's 60 s inactivity timeout, so the default of 15 min never hits one.
 */
export const storageSweepJob = defineJob({
  queue: 'storage.sweep_temporary_files',
  description: 'removes stale temporary files left in this site’s storage by killed processes',
  payload: z.object({}).strict(),
  roles: ['primary', 'secondary'],
  options: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } },
  globalConcurrency: 1,
});

export function storageSchedules(config: Config): ScheduleDefinition[] {
  return [defineSchedule({ id: 'storage-sweep-temporary-files', job: storageSweepJob, data: {}, every: config.STORAGE_TEMP_SWEEP_INTERVAL_MS })];
}

/** Redis key of the site's running total (any worker may sweep; the site API reports the sum). */
export function sweptCounterKey(prefix: string): string {
  return `${prefix}:storage:temporary_files_swept`;
}

export function storageProcessors(site: SiteBase): ProcessorRegistration[] {
  return [
    registerProcessor(storageSweepJob, async (_payload, { logger }) => {
      const olderThanMs = site.config.STORAGE_TEMP_FILE_MAX_AGE_MS;
      const removed = await site.storage.sweepTemporaryFiles(olderThanMs);
      if (removed > 0) {
        logger.warn({ removed, olderThanMs, root: site.storage.root }, 'stale temporary files removed from storage');
        await site.redis.incrby(sweptCounterKey(site.queues.prefix), removed);
      }
      return { removed };
    }),
  ];
}

/**
 * `storage_temporary_files_swept_total`: stale temporary files the sweeper removed on this site
 * (read from Redis at scrape time; a Redis flush resets it, which Prometheus treats as a counter
 * reset).
 */
export function registerStorageMetrics(registry: Registry, site: SiteBase): void {
  const key = sweptCounterKey(site.queues.prefix);
  new Counter({
    name: 'storage_temporary_files_swept_total',
    help: 'stale temporary files removed from this site’s storage by the sweeper',
    registers: [registry],
    async collect() {
      const total = Number((await site.redis.get(key).catch(() => null)) ?? 0);
      this.reset();
      if (total > 0) this.inc(total);
    },
  });
}

/** The sweeper as a feature module: both roles, no context of its own. */
export const storageModule = defineFeatureModule<undefined>({
  name: 'storage',
  catalog: () => [storageSweepJob],
  schedules: storageSchedules,
  processors: (_context, base) => storageProcessors(base),
  metrics: (registry, _context, base) => registerStorageMetrics(registry, base),
});
