import { MetricsTime, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@meridian/logger';
import type { ProcessorRegistration } from './processor';
import type { QueueSet } from './queues';
import { applyGlobalConcurrency } from './global-concurrency';
import { createOutageReporter, isConnectionError } from './outage-reporter';

export interface WorkerPoolOptions {
  registrations: readonly ProcessorRegistration[];
  connection: Redis;
  queues: QueueSet;
  logger: Logger;
  /** per-queue overrides of the definition's concurrency (QUEUE_CONCURRENCY) */
  concurrency?: Record<string, number>;
  /** per-queue overrides of the definition's global cap (QUEUE_GLOBAL_CONCURRENCY) */
  globalConcurrency?: Record<string, number>;
}

export interface WorkerPool {
  readonly workers: readonly Worker[];
  /** jobs running in this process right now */
  running(): number;
  /**
   * Stops fetching, lets running jobs finish for up to `timeoutMs`, then force-closes (their jobs
   * are retried elsewhere after the stall interval). Resolves with whether the close was graceful.
   */
  close(timeoutMs: number): Promise<{ graceful: boolean }>;
}

export async function startWorkerPool(options: WorkerPoolOptions): Promise<WorkerPool> {
  const abort = new AbortController();
  let running = 0;
  const workers: Worker[] = [];
  // Every worker's blocking connection fails at once in a Redis outage: one report for the pool,
  // recovered when the shared connection is ready again.
  const outage = createOutageReporter(options.logger, 'workers');
  const onReady = () => outage.recovered();
  options.connection.on('ready', onReady);
  for (const { definition, process } of options.registrations) {
    const globalLimit = options.globalConcurrency?.[definition.queue] ?? definition.globalConcurrency;
    await applyGlobalConcurrency(options.queues.get(definition), globalLimit);
    const logger = options.logger.child({ queue: definition.queue });
    const handler = async (job: Job): Promise<unknown> => {
      const jobLogger = logger.child({ jobId: job.id, attempt: job.attemptsMade + 1 });
      const parsed = definition.payload.safeParse(job.data);
      if (!parsed.success) {
        // A malformed payload will never succeed: fail it for good instead of retrying.
        jobLogger.error({ issues: parsed.error.issues }, 'job payload rejected');
        throw new UnrecoverableError(`invalid payload: ${parsed.error.message}`);
      }
      running += 1;
      const started = Date.now();
      try {
        const result = await process(parsed.data, { job, logger: jobLogger, signal: abort.signal });
        jobLogger.debug({ ms: Date.now() - started }, 'job completed');
        return result;
      } catch (error) {
        jobLogger.warn({ err: error, ms: Date.now() - started }, 'job failed');
        throw error;
      } finally {
        running -= 1;
      }
    };
    const worker = new Worker(definition.queue, handler, {
      connection: options.connection,
      prefix: options.queues.prefix,
      concurrency: options.concurrency?.[definition.queue] ?? definition.concurrency,
      maxStalledCount: definition.maxStalledCount,
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
    });
    worker.on('error', (error) => {
      if (isConnectionError(error)) outage.error(error);
      else logger.error({ err: error }, 'worker error');
    });
    worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled'));
    workers.push(worker);
  }

  return {
    workers,
    running: () => running,
    async close(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([Promise.all(workers.map((w) => w.close())).then(() => 'closed' as const), deadline]);
      clearTimeout(timer);
      options.connection.off('ready', onReady);
      if (outcome === 'timeout') {
        // Tell processors to give up, and do not wait for them: BullMQ's close(true) can still
        // await a processor that ignores the signal. The process exits next; its unfinished jobs
        // lose their locks and are retried by another worker after the stall interval.
        abort.abort();
        await Promise.race([Promise.all(workers.map((w) => w.close(true))), sleep(1_000)]);
        return { graceful: false };
      }
      return { graceful: true };
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
