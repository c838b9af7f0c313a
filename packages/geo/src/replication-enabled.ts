import { isFlagEnabled } from '@meridian/db';
import type { GeoContext } from './geo-context';
import { replicationFlag, type ReplicatorDefinition } from './replicator';

// Per context: a flag is read at most once a second per type instead of once per blob.
const caches = new WeakMap<GeoContext, Map<string, { enabled: boolean; at: number }>>();

/** `geo_<type>_replication`, cached for `flagCacheMs` (default 1 s: a flip takes effect within it). */
export async function replicationEnabled(context: GeoContext, definition: ReplicatorDefinition): Promise<boolean> {
  let cache = caches.get(context);
  if (!cache) {
    cache = new Map();
    caches.set(context, cache);
  }
  const hit = cache.get(definition.name);
  if (hit && Date.now() - hit.at < context.settings.flagCacheMs) return hit.enabled;
  const enabled = await isFlagEnabled(context.mainSql, replicationFlag(definition));
  cache.set(definition.name, { enabled, at: Date.now() });
  return enabled;
}
