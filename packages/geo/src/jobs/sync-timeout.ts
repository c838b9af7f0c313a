import type { SecondaryGeoContext } from '../geo-context';
import { registryStore } from '../registry/registry-store';
import { derive } from '../replicator';

/** Fails `started` registries whose heartbeat is older than their type's sync timeout. */
export async function runSyncTimeout(context: SecondaryGeoContext): Promise<Record<string, number>> {
  const tracking = context.trackingSql;
  const failed: Record<string, number> = {};
  for (const definition of context.replicators) {
    const n = await registryStore(definition).failTimedOut(tracking, context.settings.syncTimeoutMs ?? derive(definition).syncTimeoutMs);
    if (n > 0) {
      failed[definition.name] = n;
      context.logger.warn({ replicable: definition.name, registries: n }, 'syncs timed out and will be retried');
    }
  }
  return failed;
}
