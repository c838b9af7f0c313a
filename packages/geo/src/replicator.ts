import type { FlagDefinition } from '@meridian/db';

/**
 * What an engineer writes to make a blob type replicable. Everything else (tables, queues, jobs,
 * status fields, metrics, flags) is derived from it; there is no other per-type code.
 */
export interface ReplicatorDefinition {
  /** singular snake_case replicable name: events, queues, URLs, flags (`package_file`) */
  readonly name: string;
  /** plural snake_case: status fields and metrics (`package_files`) */
  readonly plural: string;
  readonly titles: { readonly singular: string; readonly plural: string };
  /** the model table in the main database, with a bigint primary key `id` */
  readonly table: string;
  /** column holding the blob's path relative to the storage root */
  readonly blobPathColumn: string;
  /** column holding the SHA-256 (hex) the primary recorded when it wrote the blob, if any */
  readonly checksumColumn?: string;
  /** mutable blobs are rewritten in place: an update re-syncs them */
  readonly mutable: boolean;
  /**
   * Selective sync: SQL expression giving the organization id of a row of `table` aliased as
   * `alias` (e.g. a scalar subquery through projects). Undefined = not organization-scoped.
   */
  organizationIdSql?(alias: string): string;
  /** sync jobs running at once across every worker pod (BullMQ global concurrency); default 10 */
  readonly capacity?: number;
  /** a sync without a heartbeat for this long is failed and retried; default 15 min */
  readonly syncTimeoutMs?: number;
  /** secondary verification jobs running at once across every worker pod; default 2 */
  readonly verificationCapacity?: number;
}

const SNAKE = /^[a-z][a-z0-9_]{0,40}$/;

export function defineReplicator(definition: ReplicatorDefinition): ReplicatorDefinition {
  for (const [key, value] of [['name', definition.name], ['plural', definition.plural], ['table', definition.table], ['blobPathColumn', definition.blobPathColumn]] as const) {
    if (!SNAKE.test(value)) throw new Error(`replicator ${definition.name}: ${key} "${value}" must be snake_case`);
  }
  if (definition.checksumColumn !== undefined && !SNAKE.test(definition.checksumColumn)) {
    throw new Error(`replicator ${definition.name}: checksumColumn must be snake_case`);
  }
  for (const [key, value] of [['capacity', definition.capacity], ['verificationCapacity', definition.verificationCapacity]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new Error(`replicator ${definition.name}: ${key} must be a positive integer`);
  }
  return definition;
}

/** Names Meridian derives from a definition; one place so SQL, queues and metrics agree. */
export interface DerivedNames {
  registryTable: string;
  /** the registry's column holding the model id */
  modelIdColumn: string;
  statesTable: string;
  syncQueue: string;
  replicationFlag: string;
  /** primary: the checksum batch job's queue and its flag */
  verificationQueue: string;
  verificationFlag: string;
  /** secondary: the verification batch job's queue (compares local files with the primary's checksums) */
  secondaryVerificationQueue: string;
  capacity: number;
  verificationCapacity: number;
  syncTimeoutMs: number;
}

export const DEFAULT_CAPACITY = 10;
export const DEFAULT_SYNC_TIMEOUT_MS = 15 * 60_000;
/** upstream 18.0: verification_max_capacity 10 shared by every class; two per type here, raise per queue */
export const DEFAULT_VERIFICATION_CAPACITY = 2;

export function derive(definition: ReplicatorDefinition): DerivedNames {
  return {
    registryTable: `${definition.name}_registry`,
    modelIdColumn: `${definition.name}_id`,
    statesTable: `${definition.name}_states`,
    syncQueue: `geo.sync.${definition.name}`,
    replicationFlag: `geo_${definition.name}_replication`,
    verificationQueue: `geo.verification.${definition.name}`,
    verificationFlag: `geo_${definition.name}_verification`,
    secondaryVerificationQueue: `geo.secondary_verification.${definition.name}`,
    capacity: definition.capacity ?? DEFAULT_CAPACITY,
    verificationCapacity: definition.verificationCapacity ?? DEFAULT_VERIFICATION_CAPACITY,
    syncTimeoutMs: definition.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS,
  };
}

export function replicationFlag(definition: ReplicatorDefinition): FlagDefinition {
  return {
    name: derive(definition).replicationFlag,
    description: `replicate ${definition.titles.plural} to secondary sites`,
    defaultEnabled: true,
  };
}

export function verificationFlag(definition: ReplicatorDefinition): FlagDefinition {
  return {
    name: derive(definition).verificationFlag,
    description: `verify ${definition.titles.plural} by checksum on the primary and on secondaries (batches, reverification, timeouts)`,
    defaultEnabled: true,
  };
}

/** Rejects two replicators with one name, plural or table. */
export function assertDistinct(replicators: readonly ReplicatorDefinition[]): void {
  for (const key of ['name', 'plural', 'table'] as const) {
    const seen = new Set<string>();
    for (const r of replicators) {
      if (seen.has(r[key])) throw new Error(`two replicators share ${key} "${r[key]}"`);
      seen.add(r[key]);
    }
  }
}
