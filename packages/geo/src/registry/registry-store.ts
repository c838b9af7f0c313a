import { isUniqueViolation, type Sql, type TransactionSql } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';

export const RegistryState = { pending: 0, started: 1, synced: 2, failed: 3 } as const;
export type RegistryStateName = keyof typeof RegistryState;

import { MAX_RETRY_WAIT_SECONDS, MISSING_ON_PRIMARY_MAX_RETRY_WAIT_SECONDS } from '../schema/retry-delay';

export { MAX_RETRY_WAIT_SECONDS, MISSING_ON_PRIMARY_MAX_RETRY_WAIT_SECONDS };

type Db = Sql | TransactionSql;

const ids = (values: readonly bigint[]) => values.map(String);

/**
 * SQL over one replicator's registry table. Every transition is one statement so concurrent
 * workers never interleave a read-modify-write.
 */
export function registryStore(definition: ReplicatorDefinition) {
  const d = derive(definition);
  const table = d.registryTable;
  const fk = d.modelIdColumn;
  return {
    names: d,

    /** created events and consistency: new rows start pending; existing rows are left alone */
    async insertPending(db: Db, modelIds: readonly bigint[]): Promise<bigint[]> {
      if (modelIds.length === 0) return [];
      const rows = await db<{ id: bigint }[]>`
        insert into ${db(table)} (${db(fk)})
        select unnest(${ids(modelIds)}::bigint[])
        on conflict (${db(fk)}) do nothing
        returning ${db(fk)} as id`;
      return rows.map((r) => r.id);
    },

    /**
     * Bulk backfill (consistency): the same effect as insertPending, returning only the count.
     * A plain INSERT is tried first inside a savepoint (no per-row conflict check, no RETURNING:
     * the fast path for large backfills); only if a concurrent writer (the event cursor) inserted
     * one of the ids meanwhile does it fall back to ON CONFLICT DO NOTHING.
     */
    async insertPendingCount(tx: TransactionSql, modelIds: readonly bigint[]): Promise<number> {
      if (modelIds.length === 0) return 0;
      const values = ids(modelIds);
      try {
        const result = await tx.savepoint((sp) => sp`insert into ${sp(table)} (${sp(fk)}) select unnest(${values}::bigint[])`);
        return result.count;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const result = await tx`
          insert into ${tx(table)} (${tx(fk)}) select unnest(${values}::bigint[]) on conflict (${tx(fk)}) do nothing`;
        return result.count;
      }
    },

    /**
     * A mutable blob changed on the primary: (re)mark it pending whatever its state, resetting
     * retries; a sync running right now will then fail its `synced` update and leave it pending.
     */
    async markPending(db: Db, modelIds: readonly bigint[]): Promise<bigint[]> {
      if (modelIds.length === 0) return [];
      const rows = await db<{ id: bigint }[]>`
        insert into ${db(table)} (${db(fk)})
        select unnest(${ids(modelIds)}::bigint[])
        on conflict (${db(fk)}) do update
          set state = 0, retry_count = 0, retry_at = null, last_synced_at = null, sync_heartbeat_at = null, sync_job_id = null,
              missing_on_primary = false, verification_state = 0
        returning ${db(fk)} as id`;
      return rows.map((r) => r.id);
    },

    /** Removes registries and records their blobs for deletion, in the caller's transaction. */
    async remove(db: Db, modelIds: readonly bigint[], blobPaths: ReadonlyMap<bigint, string | null> = new Map()): Promise<number> {
      if (modelIds.length === 0) return 0;
      const removed = await db<{ id: bigint; blob_path: string | null }[]>`
        delete from ${db(table)} where ${db(fk)} = any(${ids(modelIds)}::bigint[])
        returning ${db(fk)} as id, blob_path`;
      const known = new Map(removed.map((r) => [r.id, r.blob_path]));
      // A delete event can arrive for a blob this site never registered (or whose registry is
      // already gone): its path still comes with the event, so the file is removed anyway.
      const deletions = modelIds.map((id) => ({
        replicable_name: definition.name,
        model_id: id.toString(),
        blob_path: blobPaths.get(id) ?? known.get(id) ?? null,
      }));
      await db`insert into geo_pending_deletions ${db(deletions, 'replicable_name', 'model_id', 'blob_path')}`;
      return removed.length;
    },

    /**
     * pending or failed → started, for a batch in one statement, recording the sync job that holds
     * them. Rows already `started` by the same job id are taken back too: that is the same job,
     * re-delivered by BullMQ after its worker died (no other job has that id while it exists).
     * Returns the ids this caller now holds with their retry counts; ids that are gone, already
     * synced (a duplicate job) or held by another sync are left out, and the caller does nothing
     * for them.
     */
    async startMany(db: Db, modelIds: readonly bigint[], jobId?: string): Promise<Map<bigint, number>> {
      if (modelIds.length === 0) return new Map();
      const job = jobId ?? null;
      const rows = await db<{ id: bigint; retry_count: number }[]>`
        update ${db(table)} set state = 1, last_synced_at = now(), sync_heartbeat_at = now(), sync_job_id = ${job}
        where ${db(fk)} = any(${ids(modelIds)}::bigint[])
          and (state in (0, 3) or (state = 1 and ${job}::text is not null and sync_job_id = ${job}::text))
        returning ${db(fk)} as id, retry_count`;
      return new Map(rows.map((r) => [r.id, r.retry_count]));
    },

    async start(db: Db, modelId: bigint): Promise<{ retryCount: number } | undefined> {
      const retryCount = (await this.startMany(db, [modelId])).get(modelId);
      return retryCount === undefined ? undefined : { retryCount };
    },

    async synced(db: Db, modelId: bigint, blobPath: string): Promise<boolean> {
      return (await this.syncedMany(db, [{ id: modelId, blobPath }])).has(modelId);
    },

    async heartbeat(db: Db, modelIds: bigint | readonly bigint[]): Promise<void> {
      const list = typeof modelIds === 'bigint' ? [modelIds] : modelIds;
      if (list.length === 0) return;
      await db`update ${db(table)} set sync_heartbeat_at = now() where ${db(fk)} = any(${ids(list)}::bigint[]) and state = 1`;
    },

    /**
     * started → synced for a batch in one statement, only where nothing marked the row pending
     * meanwhile (the race guard). Returns the ids that became synced. A fresh file is verified
     * again: verification pending, due at once; `verification_retry_count` is kept, so repeated
     * mismatches keep growing their backoff (only a successful verification resets it).
     */
    async syncedMany(db: Db, done: ReadonlyArray<{ id: bigint; blobPath: string }>): Promise<Set<bigint>> {
      if (done.length === 0) return new Set();
      const rows = await db<{ id: bigint }[]>`
        update ${db(table)} r
        set state = 2, retry_count = 0, retry_at = null, last_sync_failure = null, missing_on_primary = false,
            sync_heartbeat_at = null, sync_job_id = null, blob_path = d.blob_path,
            verification_state = 0, verification_retry_at = null
        from (select unnest(${done.map((d) => d.id.toString())}::bigint[]) as id, unnest(${done.map((d) => d.blobPath)}::text[]) as blob_path) d
        where r.${db(fk)} = d.id and r.state = 1
        returning r.${db(fk)} as id`;
      return new Set(rows.map((r) => r.id));
    },

    /** started → failed with the upstream backoff (longer cap when the primary lacks the file). */
    async failed(db: Db, modelId: bigint, message: string, options: { missingOnPrimary?: boolean } = {}): Promise<boolean> {
      const cap = options.missingOnPrimary ? MISSING_ON_PRIMARY_MAX_RETRY_WAIT_SECONDS : MAX_RETRY_WAIT_SECONDS;
      const rows = await db`
        update ${db(table)}
        set state = 3, retry_count = retry_count + 1,
            retry_at = now() + make_interval(secs => geo_retry_delay_seconds(retry_count + 1, ${cap})),
            last_sync_failure = ${message.slice(0, 255)}, missing_on_primary = ${options.missingOnPrimary ?? false},
            sync_heartbeat_at = null, sync_job_id = null
        where ${db(fk)} = ${modelId.toString()} and state = 1`;
      return rows.count === 1;
    },

    /** Work for the registry sync: pending first (by model id), then failed rows whose retry is due. */
    async needingSync(db: Db, limit: number): Promise<Array<{ id: bigint; retryCount: number }>> {
      if (limit <= 0) return [];
      const pending = await db<{ id: bigint; retry_count: number }[]>`
        select ${db(fk)} as id, retry_count from ${db(table)} where state = 0 order by ${db(fk)} limit ${limit}`;
      const out = pending.map((r) => ({ id: r.id, retryCount: r.retry_count }));
      if (out.length < limit) {
        const due = await db<{ id: bigint; retry_count: number }[]>`
          select ${db(fk)} as id, retry_count from ${db(table)}
          where state = 3 and (retry_at is null or retry_at <= now())
          order by retry_at nulls first limit ${limit - out.length}`;
        out.push(...due.map((r) => ({ id: r.id, retryCount: r.retry_count })));
      }
      return out;
    },

    /** started rows whose heartbeat is older than the timeout → failed, retried with backoff. */
    async failTimedOut(db: Db, timeoutMs: number): Promise<number> {
      const rows = await db`
        update ${db(table)}
        set state = 3, retry_count = retry_count + 1,
            retry_at = now() + make_interval(secs => geo_retry_delay_seconds(retry_count + 1, ${MAX_RETRY_WAIT_SECONDS})),
            last_sync_failure = ${`sync timed out: no progress for ${Math.round(timeoutMs / 1000)} s (worker killed or stuck)`},
            sync_heartbeat_at = null, sync_job_id = null
        where state = 1 and coalesce(sync_heartbeat_at, last_synced_at, created_at) < now() - make_interval(secs => ${timeoutMs / 1000})`;
      return rows.count;
    },

    async get(db: Db, modelId: bigint) {
      const [row] = await db<RegistryRow[]>`
        select ${db(fk)} as model_id, state, retry_count, retry_at, last_synced_at, last_sync_failure, missing_on_primary, blob_path
        from ${db(table)} where ${db(fk)} = ${modelId.toString()}`;
      return row;
    },
  };
}

export interface RegistryRow {
  model_id: bigint;
  state: number;
  retry_count: number;
  retry_at: Date | null;
  last_synced_at: Date | null;
  last_sync_failure: string | null;
  missing_on_primary: boolean;
  blob_path: string | null;
}

export type RegistryStore = ReturnType<typeof registryStore>;
