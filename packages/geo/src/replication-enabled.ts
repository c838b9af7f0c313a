import { isFlagEnabled, type FlagDefinition } from '@meridian/db';
import type { GeoContext } from './geo-context';
import { replicationFlag, verificationFlag, type ReplicatorDefinition } from './replicator';

// Per context: a flag is read at most once a second per flag instead of once per blob.
const caches = new WeakMap<GeoContext, Map<string, { enabled: boolean; at: number }>>();

async function cachedFlag(context: GeoContext, flag: FlagDefinition): Promise<boolean> {
  let cache = caches.get(context);
  if (!cache) {
    cache = new Map();
    caches.set(context, cache);
  }
  const hit = cache.get(flag.name);
  if (hit && Date.now() - hit.at < context.settings.flagCacheMs) return hit.enabled;
  // on a secondary, mainSql is the primary's database: one flag governs both sites
  const enabled = await isFlagEnabled(context.mainSql, flag);
  cache.set(flag.name, { enabled, at: Date.now() });
  return enabled;
}

/** `geo_<type>_replication`, cached for `flagCacheMs` (default 1 s: a flip takes effect within it). */
export async function replicationEnabled(context: GeoContext, definition: ReplicatorDefinition): Promise<boolean> {
  return cachedFlag(context, replicationFlag(definition));
}

/** `geo_<type>_verification`, cached like the replication flag. */
export async function verificationEnabled(context: GeoContext, definition: ReplicatorDefinition): Promise<boolean> {
  return cachedFlag(context, verificationFlag(definition));
}
