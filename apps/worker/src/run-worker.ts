import { startWorkerPool, type ProcessorRegistration } from '@meridian/queue';
import type { SiteResources } from '@meridian/runtime';

export interface RunningWorker {
  stop(): Promise<void>;
}

/**
 * Starts one worker per registered queue on the site's connection. Stopping lets running jobs
 * finish for SHUTDOWN_TIMEOUT_MS, then force-closes and releases the site's pools.
 */
export async function runWorker(options: {
  site: SiteResources;
  registrations: readonly ProcessorRegistration[];
}): Promise<RunningWorker> {
  const { site } = options;
  const pool = await startWorkerPool({
    registrations: options.registrations,
    connection: site.redis,
    queues: site.queues,
    logger: site.logger,
    concurrency: site.config.QUEUE_CONCURRENCY,
    globalConcurrency: site.config.QUEUE_GLOBAL_CONCURRENCY,
  });
  site.logger.info(
    { role: site.config.SITE_ROLE, queues: options.registrations.map((r) => r.definition.queue), heapGrowingPercent: site.config.WORKER_HEAP_GROWING_PERCENT },
    'worker started',
  );
  return {
    async stop() {
      const running = pool.running();
      site.logger.info({ running, timeoutMs: site.config.SHUTDOWN_TIMEOUT_MS }, 'worker stopping: waiting for running jobs');
      const { graceful } = await pool.close(site.config.SHUTDOWN_TIMEOUT_MS);
      if (!graceful) site.logger.warn('shutdown deadline passed: running jobs were abandoned and will be retried');
      await site.close();
    },
  };
}
