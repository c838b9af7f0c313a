import type { Queue } from 'bullmq';

/**
 * BullMQ persists a queue's global concurrency in Redis, so unsetting the configuration must
 * remove it explicitly or the old cap would live on.
 */
export async function applyGlobalConcurrency(queue: Queue, limit: number | undefined): Promise<void> {
  if (limit === undefined) await queue.removeGlobalConcurrency();
  else await queue.setGlobalConcurrency(limit);
}
