import type { Logger } from '@meridian/logger';
import { syncSchedulers, type QueueSet, type ScheduleDefinition, type SchedulerSyncResult } from '@meridian/queue';

export interface SchedulerLoop {
  /** the result of the last successful sync */
  last(): SchedulerSyncResult | undefined;
  stop(): Promise<void>;
}

/**
 * Upserts every declared scheduler and removes stale ones, then repeats every `intervalMs` so a
 * flushed Redis gets its schedulers back without a restart. The first sync must succeed (start-up
 * fails loudly); later failures are logged and retried on the next tick.
 */
export async function startSchedulerLoop(options: {
  queues: QueueSet;
  schedules: readonly ScheduleDefinition[];
  intervalMs: number;
  logger: Logger;
}): Promise<SchedulerLoop> {
  const { queues, schedules, logger } = options;
  let last: SchedulerSyncResult | undefined;
  const sync = async (): Promise<void> => {
    const result = await syncSchedulers(schedules, (d) => queues.get(d), queues.all());
    if (result.removed.length > 0 || last === undefined) {
      logger.info({ upserted: result.upserted, removed: result.removed }, 'job schedulers synced');
    }
    last = result;
  };
  await sync();
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = sync().catch((error: unknown) => logger.error({ err: error }, 'scheduler sync failed; retrying next tick'));
  }, options.intervalMs);
  return {
    last: () => last,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
