import { replicationEnabled } from '../replication-enabled';
import { capacityOf, type SecondaryGeoContext } from '../geo-context';
import { registryStore } from '../registry/registry-store';
import type { ReplicatorDefinition } from '../replicator';
import { syncJob } from './catalog';
import { enqueueSyncs } from './enqueue-syncs';

/**
 * Fills one type's sync queue up to its free capacity: capacity − (sync jobs waiting or running),
 * each new job carrying up to `syncBatchSize` registries — pending first (by model id), then
 * failed ones whose retry is due, oldest first. Ids already in a waiting job are skipped, and job
 * ids are deterministic, so nothing is queued twice.
 */
export async function fillSyncQueue(context: SecondaryGeoContext, definition: ReplicatorDefinition): Promise<{ added: number; backlog: boolean }> {
  const tracking = context.trackingSql;
  const queue = context.queues.get(syncJob(definition));
  const capacity = capacityOf(context, definition);
  const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
  const queued = (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
  const freeJobs = capacity - queued;
  if (freeJobs <= 0) return { added: 0, backlog: true };
  // Only waiting jobs: a running job's registries are `started` and never selected, and an
  // "active" job of a crashed worker must not keep its registries from being retried.
  const queuedIds = new Set<string>();
  for (const job of await queue.getJobs(['waiting', 'prioritized'], 0, Math.max(0, queued))) {
    for (const id of (job.data as { modelIds?: string[] }).modelIds ?? []) queuedIds.add(id);
  }
  const wanted = freeJobs * Math.max(1, context.settings.syncBatchSize);
  const candidates = await registryStore(definition).needingSync(tracking, wanted + queuedIds.size);
  const fresh = candidates.filter((c) => !queuedIds.has(c.id.toString())).slice(0, wanted);
  await enqueueSyncs(context, definition, fresh);
  return { added: fresh.length, backlog: candidates.length >= wanted + queuedIds.size };
}

/** The scheduled job: refills every enabled type's queue until nothing is left or the budget ends. */
export async function runRegistrySync(context: SecondaryGeoContext): Promise<{ added: number }> {
  const deadline = Date.now() + context.settings.runBudgetMs;
  let added = 0;
  for (;;) {
    let backlog = false;
    for (const definition of context.replicators) {
      if (!(await replicationEnabled(context, definition))) continue;
      const result = await fillSyncQueue(context, definition);
      added += result.added;
      backlog ||= result.backlog;
    }
    if (!backlog || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, context.settings.registrySyncIntervalMs));
  }
  return { added };
}
