import { getNextMillis, type Queue } from 'bullmq';
import type { JobDefinition, PayloadOf } from './catalog';

/**
 * A recurring job declared by a package. Only the scheduler app turns these into BullMQ job
 * schedulers; ids are stable so every deploy upserts the same ones.
 */
export interface ScheduleDefinition<D extends JobDefinition = JobDefinition> {
  id: string;
  job: D;
  data: PayloadOf<D>;
  /** either a fixed interval in ms or a cron pattern (evaluated in UTC) */
  every?: number;
  pattern?: string;
}

export function defineSchedule<D extends JobDefinition>(schedule: ScheduleDefinition<D>): ScheduleDefinition {
  if ((schedule.every === undefined) === (schedule.pattern === undefined)) {
    throw new Error(`schedule "${schedule.id}" needs exactly one of every or pattern`);
  }
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(schedule.id)) throw new Error(`schedule id "${schedule.id}" is not a stable slug`);
  return schedule as unknown as ScheduleDefinition;
}

/** When a cron pattern (UTC, as the scheduler evaluates it) next fires after `from`. */
export function nextCronTime(pattern: string, from: Date): Date {
  const next = getNextMillis(from.getTime(), { pattern, tz: 'UTC' });
  if (next === undefined) throw new Error(`cron pattern "${pattern}" never fires`);
  return new Date(next);
}

export interface SchedulerSyncResult {
  upserted: string[];
  removed: string[];
}

/**
 * Makes Redis hold exactly the declared schedulers: upserts each (idempotent by id) and removes
 * any other scheduler found on the scanned queues. `queues` must include every queue that may
 * hold a scheduler, so a scheduler dropped from the code is found and removed.
 */
export async function syncSchedulers(
  schedules: readonly ScheduleDefinition[],
  queueFor: (definition: JobDefinition) => Queue,
  queues: readonly Queue[],
): Promise<SchedulerSyncResult> {
  const wanted = new Map<string, Set<string>>();
  const upserted: string[] = [];
  for (const schedule of schedules) {
    const queue = queueFor(schedule.job);
    const parsed = schedule.job.payload.parse(schedule.data);
    const repeat = schedule.every !== undefined ? { every: schedule.every } : { pattern: schedule.pattern, tz: 'UTC' };
    await queue.upsertJobScheduler(schedule.id, repeat, {
      name: schedule.job.queue,
      data: parsed,
      opts: {
        attempts: schedule.job.options.attempts,
        backoff: schedule.job.options.backoff,
        removeOnComplete: schedule.job.options.removeOnComplete,
        removeOnFail: schedule.job.options.removeOnFail,
      },
    });
    upserted.push(schedule.id);
    const ids = wanted.get(queue.name) ?? new Set<string>();
    ids.add(schedule.id);
    wanted.set(queue.name, ids);
  }
  const removed: string[] = [];
  for (const queue of queues) {
    const existing = await queue.getJobSchedulers(0, -1, true);
    for (const scheduler of existing) {
      const id = scheduler.key;
      if (!wanted.get(queue.name)?.has(id)) {
        await queue.removeJobScheduler(id);
        removed.push(id);
      }
    }
  }
  return { upserted, removed };
}
