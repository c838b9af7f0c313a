import type { GeoContext } from '../geo-context';
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

export async function enqueueSyncs(context: GeoContext, definition: ReplicatorDefinition, targets: ReadonlyArray<bigint | SyncTarget>): Promise<void> {
  if (targets.length === 0) return;
  const list = targets.map((t) => (typeof t === 'bigint' ? { id: t, retryCount: 0 } : t));
  const job = syncJob(definition);
  const queue = context.queues.get(job);
  for (let i = 0; i < list.length; i += 1_000) {
    await queue.addBulk(
      list.slice(i, i + 1_000).map(({ id, retryCount }) => ({
        name: job.queue,
        data: { modelId: id.toString() },
        opts: { ...job.options, jobId: syncJobId(definition, id, retryCount) },
      })),
    );
  }
}
