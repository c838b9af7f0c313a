import { isFlagEnabled } from '@meridian/db';
import { capacityOf, requireTracking, type GeoContext } from '../geo-context';
import { registryStore } from '../registry/registry-store';
import { replicationFlag, type ReplicatorDefinition } from '../replicator';
import { syncJob, syncJobId } from './catalog';
import { enqueueSyncs } from './enqueue-syncs';

/**
 * Fills one type's sync queue up to its free capacity (capacity − jobs waiting or running):
 * pending registries first, then failed ones whose retry is due, oldest first. Job ids are
 * deterministic, and ids already waiting are skipped, so nothing is queued twice.
 */
export async function fillSyncQueue(context: GeoContext, definition: ReplicatorDefinition): Promise<{ added: number; backlog: boolean }> {
  const tracking = requireTracking(context);
  const queue = context.queues.get(syncJob(definition));
  const capacity = capacityOf(context, definition);
  const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
  const queued = (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
  const free = capacity - queued;
  if (free <= 0) return { added: 0, backlog: true };
  const waiting = new Set((await queue.getWaiting(0, Math.max(0, counts.waiting ?? 0))).map((job) => job.id));
  const candidates = await registryStore(definition).needingSync(tracking, free + waiting.size);
  const fresh = candidates.filter((c) => !waiting.has(syncJobId(definition, c.id, c.retryCount))).slice(0, free);
  await enqueueSyncs(context, definition, fresh);
  return { added: fresh.length, backlog: candidates.length >= free + waiting.size };
}

/** The scheduled job: refills every enabled type's queue until nothing is left or the budget ends. */
export async function runRegistrySync(context: GeoContext): Promise<{ added: number }> {
  const deadline = Date.now() + context.settings.runBudgetMs;
  let added = 0;
  for (;;) {
    let backlog = false;
    for (const definition of context.replicators) {
      if (!(await isFlagEnabled(context.mainSql, replicationFlag(definition)))) continue;
      const result = await fillSyncQueue(context, definition);
      added += result.added;
      backlog ||= result.backlog;
    }
    if (!backlog || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, context.settings.registrySyncIntervalMs));
  }
  return { added };
}
