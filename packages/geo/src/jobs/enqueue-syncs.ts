import { capacityOf, type GeoContext } from '../geo-context';
import type { ReplicatorDefinition } from '../replicator';
import { syncJob, syncJobId } from './catalog';

/**
 * Adds sync jobs with deterministic ids: a registry already queued or running is not queued
 * twice. Event-driven and scheduled syncs share the queue, hence its global concurrency.
 */
export interface SyncTarget {
  id: bigint;
  retryCount: number;
}

/** Splits targets into jobs of at most `syncBatchSize` ids and adds them; returns the jobs added (needs only the queues: any role may enqueue). */
export async function enqueueSyncs(context: GeoContext, definition: ReplicatorDefinition, targets: ReadonlyArray<bigint | SyncTarget>): Promise<number> {
  if (targets.length === 0) return 0;
  const list = targets.map((t) => (typeof t === 'bigint' ? { id: t, retryCount: 0 } : t));
  const job = syncJob(definition);
  const queue = context.queues.get(job);
  // Never fewer jobs than the type's capacity when there is enough work: a few large blobs must
  // still download in parallel, while thousands of small ones travel in full batches.
  const size = Math.max(1, Math.min(context.settings.syncBatchSize, Math.ceil(list.length / capacityOf(context, definition))));
  const jobs = [];
  for (let i = 0; i < list.length; i += size) {
    const batch = list.slice(i, i + size);
    jobs.push({
      name: job.queue,
      data: { modelIds: batch.map((t) => t.id.toString()) },
      // the queue's own defaults (retention from the site's configuration) apply; the key holds
      // only while the job waits or runs, so a finished job kept for Bull Board blocks nothing
      opts: { deduplication: { id: syncJobId(definition, batch) } },
    });
  }
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  return jobs.length;
}
