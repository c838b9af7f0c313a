import { z } from 'zod';
import { defineJob, defineSchedule, registerProcessor, type JobDefinition, type ProcessorRegistration, type ScheduleDefinition } from '@meridian/queue';
import { verificationCapacityOf, type SecondaryGeoContext } from '../geo-context';
import { verificationEnabled } from '../replication-enabled';
import { derive, type ReplicatorDefinition } from '../replicator';
import { topUpWaitingJobs } from '../jobs/top-up';
import { runSecondaryVerification } from './run-secondary-verification';

/**
 * One secondary verification queue per type, apart from its sync queue: its own global
 * concurrency (the type's verification capacity, QUEUE_GLOBAL_CONCURRENCY overrides) and its own
 * per-pod workers, so verification jobs never occupy a sync slot. State is in the registry, so a
 * lost or duplicated job only delays work.
 */
export function secondaryVerificationJob(definition: ReplicatorDefinition): JobDefinition {
  const d = derive(definition);
  return defineJob({
    queue: d.secondaryVerificationQueue,
    description: `compares synced ${definition.titles.plural} with the primary's checksums; reverifies from disk, times out, resyncs mismatches`,
    payload: z.object({}).strict(),
    roles: ['secondary'],
    options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
    concurrency: d.verificationCapacity,
    globalConcurrency: d.verificationCapacity,
  }) as unknown as JobDefinition;
}

/** Every `everyMs` per type (the same GEO_VERIFICATION_INTERVAL_MS as the primary's job). */
export function secondaryVerificationSchedules(replicators: readonly ReplicatorDefinition[], everyMs: number): ScheduleDefinition[] {
  return replicators.map((r) =>
    defineSchedule({ id: `geo-secondary-verification-${r.name.replace(/_/g, '-')}`, job: secondaryVerificationJob(r), data: {}, every: everyMs }),
  );
}

/**
 * Asks for verification work without waiting for the schedule: tops the type's queue up to
 * `jobs` waiting jobs (the capacity when a run found a backlog; one after a sync or a
 * `checksum_succeeded` event). Waiting jobs beyond what the global limit runs just wait; a job
 * that finds nothing ends at once.
 */
export async function requestSecondaryVerification(context: SecondaryGeoContext, definition: ReplicatorDefinition, jobs = 1): Promise<number> {
  if (!(await verificationEnabled(context, definition))) return 0;
  return topUpWaitingJobs(context.queues.get(secondaryVerificationJob(definition)), Math.min(jobs, verificationCapacityOf(context, definition)));
}

export function secondaryVerificationProcessors(context: SecondaryGeoContext): ProcessorRegistration[] {
  return context.replicators.map((definition) =>
    registerProcessor(secondaryVerificationJob(definition), async (_payload, { logger, signal }) => {
      // a backlog: fill every verification slot of the type, not just this one
      const onBacklog = () => requestSecondaryVerification(context, definition, verificationCapacityOf(context, definition));
      const result = await runSecondaryVerification(context, definition, { logger, signal, onBacklog });
      if (result.more) await onBacklog();
      return { ...result };
    }),
  );
}
