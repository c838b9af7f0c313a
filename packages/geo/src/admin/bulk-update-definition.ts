import { z } from 'zod';
import { defineJob, defineSchedule, type ScheduleDefinition } from '@meridian/queue';

// The bulk update job's catalog entry and schedule, apart from its processor so the job catalog
// can list it without importing the processor's dependencies.

export const registryBulkUpdateJob = defineJob({
  queue: 'geo.registry_bulk_update',
  description: 'executes bulk registry resyncs and reverifies recorded by the admin API, in id batches',
  payload: z.object({}).strict(),
  roles: ['secondary'],
  options: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } },
  globalConcurrency: 1,
});

/** upstream has no such job; often enough that a lost continuation costs seconds */
export const DEFAULT_BULK_UPDATE_INTERVAL_MS = 10_000;

export function registryBulkUpdateSchedule(everyMs: number = DEFAULT_BULK_UPDATE_INTERVAL_MS): ScheduleDefinition {
  return defineSchedule({ id: 'geo-registry-bulk-update', job: registryBulkUpdateJob, data: {}, every: everyMs });
}

