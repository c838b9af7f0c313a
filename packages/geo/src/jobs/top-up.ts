import type { QueueSet } from '@meridian/queue';

type Queue = ReturnType<QueueSet['get']>;

/**
 * Adds jobs (empty payload) until `wanted` are waiting: how a verification run with a backlog
 * fills its type's other slots (the queue's global concurrency decides how many run). Two callers
 * racing may add a job or two more; a job that finds no work ends at once.
 */
export async function topUpWaitingJobs(queue: Queue, wanted: number): Promise<number> {
  const counts = await queue.getJobCounts('waiting', 'prioritized');
  const missing = wanted - ((counts.waiting ?? 0) + (counts.prioritized ?? 0));
  if (missing <= 0) return 0;
  await queue.addBulk(Array.from({ length: missing }, () => ({ name: queue.name, data: {} })));
  return missing;
}
