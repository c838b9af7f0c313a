import type { Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import type { QueueSet } from '@meridian/queue';
import type { BlobStorage } from '@meridian/storage';
import { derive, type ReplicatorDefinition } from './replicator';

/** Tunables with production defaults; tests and benches shrink them. */
export interface GeoSettings {
  /** events read per cursor batch */
  eventBatchSize: number;
  /** a gap not filled after this long is dropped (upstream: 1 h) */
  gapTimeoutMs: number;
  /** model ids per consistency batch and type (upstream: 10,000) */
  consistencyBatchSize: number;
  /** how long one run of a looping job (cursor, registry sync, consistency) may work */
  runBudgetMs: number;
  /** registry sync: pause between refills while work remains */
  registrySyncIntervalMs: number;
  /** secondaries silent for longer block event pruning (upstream: 10 min) */
  secondaryStaleMs: number;
  /** events deleted per prune run (upstream: 50,000) */
  pruneLimit: number;
  /** model ids per sync job: registry updates and job overhead are paid once per batch */
  syncBatchSize: number;
  /** how long a replication flag read is reused (the flag is checked for every blob) */
  flagCacheMs: number;
  /** primary verification: rows claimed per batch (upstream: 10) */
  verificationBatchSize: number;
  /** a succeeded checksum is recomputed after this long (upstream: 7 days; 90 for new sites from 18.0) */
  reverificationIntervalMs: number;
  /** succeeded rows sent back to pending per run (upstream: 1,000) */
  reverificationBatchSize: number;
  /** state rows created per run for model rows without one (upstream: 1,000) */
  verificationBackfillBatchSize: number;
  /** a row `started` for longer is failed and retried (upstream: 8 h) */
  verificationTimeoutMs: number;
  /**
   * secondary: a synced registry whose primary checksum is not there yet is looked at again after
   * this long (a `checksum_succeeded` event brings it back at once)
   */
  primaryChecksumWaitMs: number;
  /** overrides every type's sync timeout when set */
  syncTimeoutMs?: number | undefined;
}

export const DEFAULT_GEO_SETTINGS: GeoSettings = {
  eventBatchSize: 1_000,
  gapTimeoutMs: 60 * 60_000,
  consistencyBatchSize: 10_000,
  runBudgetMs: 20_000,
  registrySyncIntervalMs: 100,
  secondaryStaleMs: 10 * 60_000,
  pruneLimit: 50_000,
  flagCacheMs: 1_000,
  syncBatchSize: 50,
  verificationBatchSize: 10,
  reverificationIntervalMs: 7 * 86_400_000,
  reverificationBatchSize: 1_000,
  verificationBackfillBatchSize: 1_000,
  verificationTimeoutMs: 8 * 3_600_000,
  primaryChecksumWaitMs: 10 * 60_000,
};

/** What geo jobs of either role need at run time. */
interface GeoContextBase {
  siteName: string;
  replicators: readonly ReplicatorDefinition[];
  /** primary: the main database; secondary: a read-only view of the primary's */
  mainSql: Sql;
  storage: BlobStorage;
  queues: QueueSet;
  logger: Logger;
  /** HS256 key of transfer tokens (GEO_SHARED_SECRET) */
  secret: string | undefined;
  primaryUrl: string;
  settings: GeoSettings;
  /** per-queue global concurrency from configuration (QUEUE_GLOBAL_CONCURRENCY) */
  capacityOverrides?: Record<string, number> | undefined;
}

/** A primary site: no tracking database (the field exists only so role-neutral readers can test it). */
export interface PrimaryGeoContext extends GeoContextBase {
  role: 'primary';
  trackingSql?: undefined;
}

/** A secondary site: its registries, cursor and laps live in the tracking database. */
export interface SecondaryGeoContext extends GeoContextBase {
  role: 'secondary';
  trackingSql: Sql;
}

/** Either role, discriminated by `role`; jobs of one role take that role's type. */
export type GeoContext = PrimaryGeoContext | SecondaryGeoContext;

export class GeoConfigurationError extends Error {
  override readonly name = 'GeoConfigurationError';
}

/** Narrows a site's context at a composition boundary (tests, benches, tools); jobs take the narrowed type. */
export function primaryContext(context: GeoContext): PrimaryGeoContext {
  if (context.role !== 'primary') throw new GeoConfigurationError('this runs on a primary site');
  return context;
}

/** Narrows a site's context at a composition boundary (tests, benches, tools); jobs take the narrowed type. */
export function secondaryContext(context: GeoContext): SecondaryGeoContext {
  if (context.role !== 'secondary') throw new GeoConfigurationError('this runs on a secondary site with a tracking database');
  return context;
}

export function requireSecret(context: GeoContext): string {
  if (!context.secret) throw new GeoConfigurationError('GEO_SHARED_SECRET is not set');
  return context.secret;
}

export function replicatorNamed(context: GeoContext, name: string): ReplicatorDefinition | undefined {
  return context.replicators.find((r) => r.name === name);
}

/** A type's sync capacity: the configured global concurrency of its queue, else its definition's. */
export function capacityOf(context: GeoContext, definition: ReplicatorDefinition): number {
  const d = derive(definition);
  return context.capacityOverrides?.[d.syncQueue] ?? d.capacity;
}

/**
 * A type's verification capacity on this site: verification jobs of the type running at once
 * across every pod — the configured global concurrency of this role's verification queue
 * (`geo.verification.<type>` on a primary, `geo.secondary_verification.<type>` on a secondary),
 * else the definition's. Queues apart from the sync queue, so verification never takes a sync slot.
 */
export function verificationCapacityOf(context: GeoContext, definition: ReplicatorDefinition): number {
  const d = derive(definition);
  const queue = context.role === 'primary' ? d.verificationQueue : d.secondaryVerificationQueue;
  return context.capacityOverrides?.[queue] ?? d.verificationCapacity;
}
