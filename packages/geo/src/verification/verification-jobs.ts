import { z } from 'zod';
import { defineJob, defineSchedule, registerProcessor, type JobDefinition, type ProcessorRegistration, type ScheduleDefinition } from '@meridian/queue';
import { verificationCapacityOf, type PrimaryGeoContext } from '../geo-context';
import { topUpWaitingJobs } from '../jobs/top-up';
import { derive, type ReplicatorDefinition } from '../replicator';
import { runVerification } from './run-verification';

/** One primary verification job per type; its state is in `<model>_states`, so a lost job only delays work. */
export function verificationJob(definition: ReplicatorDefinition): JobDefinition {
  return defineJob({
    queue: derive(definition).verificationQueue,
    description: `checksums ${definition.titles.plural} on the primary; reverifies, backfills and times out their states`,
    payload: z.object({}).strict(),
    roles: ['primary'],
    options: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } },
    // up to the type's verification capacity at once: runs overlap safely (claims skip each other's rows)
    concurrency: derive(definition).verificationCapacity,
    globalConcurrency: derive(definition).verificationCapacity,
  }) as unknown as JobDefinition;
}

/** upstream: every minute */
export const DEFAULT_VERIFICATION_INTERVAL_MS = 60_000;

export function verificationSchedules(replicators: readonly ReplicatorDefinition[], everyMs: number = DEFAULT_VERIFICATION_INTERVAL_MS): ScheduleDefinition[] {
  return replicators.map((r) => defineSchedule({ id: `geo-verification-${r.name.replace(/_/g, '-')}`, job: verificationJob(r), data: {}, every: everyMs }));
}

export function verificationProcessors(context: PrimaryGeoContext): ProcessorRegistration[] {
  return context.replicators.map((definition) => {
    const job = verificationJob(definition);
    // a backlog: fill every verification slot of the type (its global concurrency), not just this one
    const onBacklog = () => topUpWaitingJobs(context.queues.get(job), verificationCapacityOf(context, definition));
    return registerProcessor(job, async () => {
      const result = await runVerification(context, definition, { onBacklog });
      return { ...result };
    });
  });
}
