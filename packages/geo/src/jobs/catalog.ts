import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineJob, defineSchedule, type JobDefinition, type ScheduleDefinition } from '@meridian/queue';
import { derive, type ReplicatorDefinition } from '../replicator';
import { verificationJob } from '../verification/verification-jobs';
import { registryBulkUpdateJob, registryBulkUpdateSchedule } from '../admin/bulk-update-definition';
import { secondaryVerificationJob } from '../secondary-verification/secondary-verification-jobs';

const once = { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } };
const empty = z.object({}).strict();

// Looping jobs run one at a time per site (global concurrency 1); their state is in PostgreSQL,
// so a lost or duplicated job only delays work.
export const eventCursorJob = defineJob({
  queue: 'geo.event_cursor',
  description: "applies the primary's geo events to this secondary's registries",
  payload: empty,
  roles: ['secondary'],
  options: once,
  globalConcurrency: 1,
});

export const registrySyncJob = defineJob({
  queue: 'geo.registry_sync',
  description: 'enqueues syncs for pending and retry-due registries, within each type’s free capacity',
  payload: empty,
  roles: ['secondary'],
  options: once,
  globalConcurrency: 1,
});

export const registryConsistencyJob = defineJob({
  queue: 'geo.registry_consistency',
  description: 'walks each type’s id space: backfills missing registries, removes orphans, records laps',
  payload: empty,
  roles: ['secondary'],
  options: once,
  globalConcurrency: 1,
});

export const syncTimeoutJob = defineJob({
  queue: 'geo.sync_timeout',
  description: 'fails syncs whose heartbeat stopped so they are retried',
  payload: empty,
  roles: ['secondary'],
  options: once,
  globalConcurrency: 1,
});

export const statusReportJob = defineJob({
  queue: 'geo.status_report',
  description: 'tells the primary how far this secondary’s event cursor got (for pruning)',
  payload: empty,
  roles: ['secondary'],
  options: once,
  globalConcurrency: 1,
});

export const eventPruneJob = defineJob({
  queue: 'geo.event_prune',
  description: 'deletes geo events every secondary has processed',
  payload: empty,
  roles: ['primary'],
  options: once,
  globalConcurrency: 1,
});

const modelId = z.string().regex(/^[1-9]\d{0,18}$/, 'a positive integer id');
/** A sync job carries up to 1,000 model ids of one type, downloaded one after another. */
export const syncPayload = z.object({ modelIds: z.array(modelId).min(1).max(1_000) }).strict();

/** How many finished and failed sync jobs each sync queue keeps (for Bull Board), and for how long. */
export interface SyncJobRetention {
  completed: { count: number; ageSeconds: number };
  failed: { count: number; ageSeconds: number };
}

export const DEFAULT_SYNC_JOB_RETENTION: SyncJobRetention = {
  completed: { count: 1_000, ageSeconds: 24 * 3_600 },
  failed: { count: 5_000, ageSeconds: 7 * 24 * 3_600 },
};

/** re-deliveries of a sync job whose worker died, before it is left to the sync timeout */
export const SYNC_MAX_STALLED_COUNT = 10;

/** One sync queue per replicator; its capacity is a global concurrency shared by every pod. */
export function syncJob(definition: ReplicatorDefinition, retention: SyncJobRetention = DEFAULT_SYNC_JOB_RETENTION): JobDefinition<typeof syncPayload> {
  const d = derive(definition);
  return defineJob({
    queue: d.syncQueue,
    description: `downloads one ${definition.titles.singular} from the primary`,
    payload: syncPayload,
    roles: ['secondary'],
    // Retries are the registry's business (backoff in PostgreSQL). A bounded window of finished
    // and failed jobs stays for operators; enqueueSyncs deduplicates by key (not job id), so a
    // kept job never blocks a later resync of the same rows.
    options: {
      attempts: 1,
      removeOnComplete: { count: retention.completed.count, age: retention.completed.ageSeconds },
      removeOnFail: { count: retention.failed.count, age: retention.failed.ageSeconds },
    },
    concurrency: d.capacity,
    globalConcurrency: d.capacity,
    // A job whose worker was killed is re-delivered after BullMQ's stall interval and resumes the
    // registries it had started (they carry its job id). Several kills in a row are survived; a
    // batch that keeps killing its workers is failed by BullMQ after this many, and its rows
    // then wait for the sync-timeout sweep and the registry's backoff.
    maxStalledCount: SYNC_MAX_STALLED_COUNT,
  });
}

/**
 * Deterministic per batch and attempt generation: the same registries at the same retry counts
 * are never queued twice, while a retry (retry_count went up) is not blocked by a job that a
 * crashed worker still "holds" until BullMQ's stall check. Overlapping batches are harmless:
 * starting a registry is atomic, so the second job finds it started and skips it.
 */
export function syncJobId(definition: ReplicatorDefinition, targets: ReadonlyArray<{ id: bigint; retryCount: number }>): string {
  const key = targets.map((t) => `${t.id}:${t.retryCount}`).join(',');
  return `${definition.name}-${createHash('sha1').update(key).digest('hex').slice(0, 20)}`;
}

export function geoCatalog(replicators: readonly ReplicatorDefinition[], retention: SyncJobRetention = DEFAULT_SYNC_JOB_RETENTION): JobDefinition[] {
  return [
    eventCursorJob,
    registrySyncJob,
    registryConsistencyJob,
    syncTimeoutJob,
    statusReportJob,
    eventPruneJob,
    registryBulkUpdateJob,
    ...replicators.map((r) => syncJob(r, retention)),
    ...replicators.map(verificationJob),
    ...replicators.map(secondaryVerificationJob),
  ];
}

export interface GeoCadence {
  eventCursorMs: number;
  registrySyncMs: number;
  consistencyMs: number;
  syncTimeoutCheckMs: number;
  statusReportMs: number;
}

export const DEFAULT_GEO_CADENCE: GeoCadence = {
  eventCursorMs: 1_000,
  registrySyncMs: 5_000,
  consistencyMs: 60_000,
  syncTimeoutCheckMs: 60_000,
  statusReportMs: 30_000,
};

export function geoSchedules(cadence: GeoCadence = DEFAULT_GEO_CADENCE): ScheduleDefinition[] {
  return [
    defineSchedule({ id: 'geo-event-cursor', job: eventCursorJob, data: {}, every: cadence.eventCursorMs }),
    defineSchedule({ id: 'geo-registry-sync', job: registrySyncJob, data: {}, every: cadence.registrySyncMs }),
    defineSchedule({ id: 'geo-registry-consistency', job: registryConsistencyJob, data: {}, every: cadence.consistencyMs }),
    defineSchedule({ id: 'geo-sync-timeout', job: syncTimeoutJob, data: {}, every: cadence.syncTimeoutCheckMs }),
    defineSchedule({ id: 'geo-status-report', job: statusReportJob, data: {}, every: cadence.statusReportMs }),
    defineSchedule({ id: 'geo-event-prune', job: eventPruneJob, data: {}, pattern: '*/5 * * * *' }),
    registryBulkUpdateSchedule(),
  ];
}
