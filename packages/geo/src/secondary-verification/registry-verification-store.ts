import type { Db } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { MAX_RETRY_WAIT_SECONDS } from '../schema/retry-delay';

// Secondary verification over one replicator's registry table (tracking database). Only synced
// registries (state 2) are verified. Each transition is one statement whose WHERE holds the guard;
// `now` is a parameter so tests can move the clock. Verification states are upstream's:
// pending 0, started 1, succeeded 2, failed 3, disabled 4.

export interface ClaimedRegistry {
  modelId: bigint;
  blobPath: string | null;
  /** when the sync that wrote the local file started (upstream's `last_synced_at`) */
  lastSyncedAt: Date | null;
  retryCount: number;
  /** the checksum of the last verification (hex): the primary's when it succeeded */
  previousChecksum: string | null;
  startedAt: Date;
}

export interface RegistryVerificationRow {
  model_id: bigint;
  state: number;
  retry_count: number;
  retry_at: Date | null;
  last_synced_at: Date | null;
  last_sync_failure: string | null;
  verification_state: number;
  verification_started_at: Date | null;
  verification_retry_at: Date | null;
  verified_at: Date | null;
  verification_retry_count: number;
  verification_checksum: string | null;
  verification_checksum_mismatched: string | null;
  checksum_mismatch: boolean;
  verification_failure: string | null;
}

const FAILURE_MAX = 255;

/** The guard of every outcome: still synced, still started by this claim. */
const CLAIMED = `r.state = 2 and r.verification_state = 1 and r.verification_started_at = v.started_at`;

export function registryVerificationStore(definition: ReplicatorDefinition) {
  const d = derive(definition);
  const reg = d.registryTable;
  const fk = d.modelIdColumn;
  /** `(id, started_at)` pairs of claimed rows as a FROM item named v */
  const claimedRows = (first: number) => `(select unnest($${first}::bigint[]) as id, unnest($${first + 1}::timestamptz[]) as started_at) v`;
  const claimParams = (rows: readonly ClaimedRegistry[]) => [rows.map((r) => r.modelId.toString()), rows.map((r) => r.startedAt.toISOString())];
  return {
    /**
     * Synced registries in verification pending, then failed ones whose retry is due, up to
     * `limit`, → started. Rows locked by a concurrent claim are skipped (FOR UPDATE SKIP LOCKED),
     * so two batches never share a row; a pending row deferred until `verification_retry_at`
     * (primary not verified yet) waits for it.
     */
    async claim(db: Db, limit: number, now: Date): Promise<ClaimedRegistry[]> {
      const take = async (verificationState: number, n: number) =>
        db.unsafe<{ model_id: bigint; blob_path: string | null; last_synced_at: Date | null; retry_count: number; previous_checksum: string | null; started_at: Date }[]>(
          `update ${reg} r set verification_state = 1, verification_started_at = $1
           where r.id in (
             select id from ${reg}
             where state = 2 and verification_state = $3 and (verification_retry_at is null or verification_retry_at <= $1)
             order by verification_retry_at nulls first limit $2 for update skip locked)
           returning r.${fk} as model_id, r.blob_path, r.last_synced_at, r.retry_count,
             encode(r.verification_checksum, 'hex') as previous_checksum, r.verification_started_at as started_at`,
          [now, n, verificationState] as never[],
        );
      const pending = await take(0, limit);
      const failed = pending.length < limit ? await take(3, limit - pending.length) : [];
      return [...pending, ...failed].map((r) => ({
        modelId: BigInt(r.model_id),
        blobPath: r.blob_path,
        lastSyncedAt: r.last_synced_at,
        retryCount: r.retry_count,
        previousChecksum: r.previous_checksum,
        startedAt: r.started_at,
      }));
    },

    /** The local file matches the primary: succeeded with its checksum; failure and mismatch fields cleared. */
    async succeededMany(db: Db, results: ReadonlyArray<{ row: ClaimedRegistry; checksumHex: string }>, now: Date): Promise<number> {
      if (results.length === 0) return 0;
      const result = await db.unsafe(
        `update ${reg} r set verification_state = 2, verification_checksum = decode(c.checksum, 'hex'), verified_at = $1,
           verification_failure = null, verification_retry_count = 0, verification_retry_at = null,
           checksum_mismatch = false, verification_checksum_mismatched = null
         from ${claimedRows(2)} join (select unnest($2::bigint[]) as id, unnest($4::text[]) as checksum) c on c.id = v.id
         where r.${fk} = v.id and ${CLAIMED}`,
        [now, ...claimParams(results.map((r) => r.row)), results.map((r) => r.checksumHex)] as never[],
      );
      return result.count;
    },

    /**
     * The primary has no checksum yet (never verified, or being re-verified): back to pending, not
     * before `until`. No failure is counted; a `checksum_succeeded` event brings the row back at once.
     */
    async waitForPrimary(db: Db, rows: readonly ClaimedRegistry[], until: Date): Promise<number> {
      if (rows.length === 0) return 0;
      const result = await db.unsafe(
        `update ${reg} r set verification_state = 0, verification_retry_at = $1
         from ${claimedRows(2)} where r.${fk} = v.id and ${CLAIMED}`,
        [until, ...claimParams(rows)] as never[],
      );
      return result.count;
    },

    /**
     * A mismatch while the primary's checksum is newer than this site's last sync: the blob
     * changed on the primary after we fetched it. Resync quietly — registry pending, verification
     * pending, no failure recorded, neither retry count bumped. Returns the rows to enqueue.
     */
    async resyncQuietly(db: Db, rows: readonly ClaimedRegistry[]): Promise<Array<{ id: bigint; retryCount: number }>> {
      if (rows.length === 0) return [];
      const updated = await db.unsafe<{ id: bigint; retry_count: number }[]>(
        `update ${reg} r set state = 0, retry_at = null, last_synced_at = null, verification_state = 0, verification_retry_at = null
         from ${claimedRows(1)} where r.${fk} = v.id and ${CLAIMED}
         returning r.${fk} as id, r.retry_count`,
        claimParams(rows) as never[],
      );
      return updated.map((r) => ({ id: BigInt(r.id), retryCount: r.retry_count }));
    },

    /**
     * Verification failed (a real mismatch, or the local file is missing or unreadable): record it
     * with both checksums, bump `verification_retry_count`, and send the registry back to sync as
     * failed. Both retries wait `delay(verification_retry_count)` (the shared backoff): the sync's
     * own retry count is reset by every successful sync, so it alone would never grow (upstream
     * defect I#607991); the verification count is reset only by a verification that succeeds.
     */
    async failed(
      db: Db,
      row: ClaimedRegistry,
      failure: { message: string; localChecksumHex: string | null; primaryChecksumHex: string | null; mismatch: boolean },
      now: Date,
    ): Promise<{ verificationRetryCount: number; retryAt: Date } | undefined> {
      const [updated] = await db.unsafe<{ verification_retry_count: number; retry_at: Date }[]>(
        `update ${reg} r set verification_state = 3, verified_at = $1,
           verification_checksum = decode($2, 'hex'), verification_checksum_mismatched = decode($3, 'hex'), checksum_mismatch = $4,
           verification_failure = left($5, ${FAILURE_MAX}),
           verification_retry_count = r.verification_retry_count + 1, verification_retry_at = b.at,
           state = 3, retry_count = r.verification_retry_count + 1, retry_at = b.at,
           last_sync_failure = left('Verification failed with: ' || $5, ${FAILURE_MAX}), sync_heartbeat_at = null, sync_job_id = null
         from (select $6::bigint as id, $7::timestamptz as started_at) v,
              -- one draw of the backoff for both retry times (a self-join: SET cannot share a value)
              (select id, $1::timestamptz + make_interval(secs => geo_retry_delay_seconds(verification_retry_count + 1, ${MAX_RETRY_WAIT_SECONDS})) as at
               from ${reg} where ${fk} = $6::bigint) b
         where r.${fk} = v.id and r.id = b.id and ${CLAIMED}
         returning r.verification_retry_count, r.retry_at`,
        [now, failure.localChecksumHex, failure.primaryChecksumHex, failure.mismatch, failure.message, row.modelId.toString(), row.startedAt] as never[],
      );
      return updated ? { verificationRetryCount: updated.verification_retry_count, retryAt: updated.retry_at } : undefined;
    },

    /** An exception mid-batch: rows this claim still holds go back to pending at once (not after the timeout). */
    async release(db: Db, rows: readonly ClaimedRegistry[]): Promise<number> {
      if (rows.length === 0) return 0;
      const result = await db.unsafe(
        `update ${reg} r set verification_state = 0 from ${claimedRows(1)} where r.${fk} = v.id and ${CLAIMED}`,
        claimParams(rows) as never[],
      );
      return result.count;
    },

    /**
     * `started` for longer than `timeoutMs` (a worker died mid-checksum) → failed with backoff. The
     * file is not suspect, so the registry stays synced; the failed row is claimed again when due.
     */
    async failTimedOut(db: Db, timeoutMs: number, now: Date): Promise<number> {
      const result = await db.unsafe(
        `update ${reg} set verification_state = 3, verified_at = $1, verification_failure = $2,
           verification_retry_count = verification_retry_count + 1,
           verification_retry_at = $1::timestamptz + make_interval(secs => geo_retry_delay_seconds(verification_retry_count + 1, ${MAX_RETRY_WAIT_SECONDS}))
         where verification_state = 1 and verification_started_at < $1::timestamptz - make_interval(secs => $3)`,
        [now, `Verification timed out after ${Math.round(timeoutMs / 1000)} s`, timeoutMs / 1000] as never[],
      );
      return result.count;
    },

    /** Synced rows verified longer ago than `intervalMs` → pending: the next batches re-read their files from disk. */
    async reverify(db: Db, intervalMs: number, limit: number, now: Date): Promise<number> {
      const result = await db.unsafe(
        `update ${reg} set verification_state = 0, verification_retry_at = null
         where id in (
           select id from ${reg} where state = 2 and verification_state = 2 and verified_at < $1::timestamptz - make_interval(secs => $2)
           order by verified_at limit $3 for update skip locked)`,
        [now, intervalMs / 1000, limit] as never[],
      );
      return result.count;
    },

    /**
     * `geo_<type>_verification` is off: synced rows waiting for verification (pending or failed)
     * become disabled, up to `limit` per call, so nothing reads their files and the status shows them
     * outside the verification total.
     */
    async disable(db: Db, limit: number): Promise<number> {
      const result = await db.unsafe(
        `update ${reg} set verification_state = 4, verification_retry_at = null
         where id in (select id from ${reg} where state = 2 and verification_state in (0, 3) limit $1 for update skip locked)`,
        [limit] as never[],
      );
      return result.count;
    },

    /** The flag is on again: disabled synced rows → pending, up to `limit` per call. */
    async enable(db: Db, limit: number): Promise<number> {
      const result = await db.unsafe(
        `update ${reg} set verification_state = 0, verification_retry_at = null
         where id in (select id from ${reg} where state = 2 and verification_state = 4 limit $1 for update skip locked)`,
        [limit] as never[],
      );
      return result.count;
    },

    /**
     * `checksum_succeeded` on the primary: synced registries of these models verify again, at once
     * (whatever their verification state; a verification in flight loses its guard and is redone).
     * Registries not synced yet are verified after their sync anyway. Returns how many were marked.
     */
    async primaryVerified(db: Db, modelIds: readonly bigint[]): Promise<number> {
      if (modelIds.length === 0) return 0;
      const result = await db.unsafe(
        `update ${reg} set verification_state = 0, verification_retry_at = null
         where ${fk} = any($1::bigint[]) and state = 2 and (verification_state <> 0 or verification_retry_at is not null)`,
        [modelIds.map(String)] as never[],
      );
      return result.count;
    },

    async get(db: Db, modelId: bigint): Promise<RegistryVerificationRow | undefined> {
      const [row] = await db.unsafe<RegistryVerificationRow[]>(
        `select ${fk} as model_id, state, retry_count, retry_at, last_synced_at, last_sync_failure, verification_state,
           verification_started_at, verification_retry_at, verified_at, verification_retry_count,
           encode(verification_checksum, 'hex') as verification_checksum,
           encode(verification_checksum_mismatched, 'hex') as verification_checksum_mismatched, checksum_mismatch, verification_failure
         from ${reg} where ${fk} = $1`,
        [modelId.toString()] as never[],
      );
      return row;
    },
  };
}

export type RegistryVerificationStore = ReturnType<typeof registryVerificationStore>;
