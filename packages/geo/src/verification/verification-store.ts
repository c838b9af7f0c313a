import type { Db } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { retryAtSql } from '../schema/retry-delay';

export const VerificationState = { pending: 0, started: 1, succeeded: 2, failed: 3, disabled: 4 } as const;

export interface ClaimedRow {
  modelId: bigint;
  blobPath: string | null;
  startedAt: Date;
}

export interface VerificationRow {
  model_id: bigint;
  verification_state: number;
  verification_started_at: Date | null;
  verification_retry_at: Date | null;
  verified_at: Date | null;
  verification_retry_count: number;
  verification_checksum: string | null;
  verification_failure: string | null;
}

const FAILURE_MAX = 255;

/**
 * SQL over one replicator's `<model>_states` table (primary). Each transition is one statement
 * whose WHERE holds the guard; `now` is a parameter so tests can move the clock.
 */
export function verificationStore(definition: ReplicatorDefinition) {
  const d = derive(definition);
  const s = d.statesTable;
  const id = d.modelIdColumn;
  const path = definition.blobPathColumn;
  const t = definition.table;
  return {
    /**
     * pending rows (never verified first), then failed rows whose retry is due, up to `limit`, →
     * started. Rows locked by a concurrent claim are skipped, so two batches never share a row.
     */
    async claim(db: Db, limit: number, now: Date): Promise<ClaimedRow[]> {
      const take = async (where: string, order: string, n: number) =>
        db.unsafe<{ model_id: bigint; blob_path: string | null; started_at: Date }[]>(
          `update ${s} st set verification_state = 1, verification_started_at = $1
           from ${t} m
           where m.id = st.${id} and st.${id} in (
             select ${id} from ${s} where ${where} order by ${order} limit $2 for update skip locked)
           returning st.${id} as model_id, m.${path} as blob_path, st.verification_started_at as started_at`,
          [now, n] as never[],
        );
      const pending = await take('verification_state = 0', 'verified_at nulls first', limit);
      const failed =
        pending.length < limit
          ? await take('verification_state = 3 and (verification_retry_at is null or verification_retry_at <= $1)', 'verification_retry_at nulls first', limit - pending.length)
          : [];
      return [...pending, ...failed].map((r) => ({ modelId: BigInt(r.model_id), blobPath: r.blob_path, startedAt: r.started_at }));
    },

    /**
     * started → succeeded for a batch in one statement, skipping rows re-claimed or reset since
     * they were claimed (the started_at guard). Returns the rows recorded, with their checksums.
     */
    async succeededMany(db: Db, results: ReadonlyArray<{ row: ClaimedRow; checksumHex: string }>, now: Date): Promise<Array<{ modelId: bigint; checksum: string }>> {
      if (results.length === 0) return [];
      const rows = await db.unsafe<{ model_id: bigint; checksum: string }[]>(
        `update ${s} st set verification_state = 2, verification_checksum = decode(v.checksum, 'hex'), verified_at = $1,
           verification_failure = null, verification_retry_count = 0, verification_retry_at = null
         from (select unnest($2::bigint[]) as id, unnest($3::timestamptz[]) as started_at, unnest($4::text[]) as checksum) v
         where st.${id} = v.id and st.verification_state = 1 and st.verification_started_at = v.started_at
         returning st.${id} as model_id, v.checksum`,
        [now, results.map((r) => r.row.modelId.toString()), results.map((r) => r.row.startedAt.toISOString()), results.map((r) => r.checksumHex)] as never[],
      );
      return rows.map((r) => ({ modelId: BigInt(r.model_id), checksum: r.checksum }));
    },

    /** one row's success (see succeededMany); true when it was recorded */
    async succeeded(db: Db, row: ClaimedRow, checksumHex: string, now: Date): Promise<boolean> {
      return (await this.succeededMany(db, [{ row, checksumHex }], now)).length === 1;
    },

    /** started → failed with the shared backoff (retry_count + 1); same guard as `succeeded` */
    async failed(db: Db, row: ClaimedRow, message: string, now: Date): Promise<boolean> {
      const result = await db.unsafe(
        `update ${s} set verification_state = 3, verification_checksum = null, verified_at = $1,
           verification_failure = left($2, ${FAILURE_MAX}), verification_retry_count = verification_retry_count + 1,
           verification_retry_at = ${retryAtSql('$1::timestamptz', 'verification_retry_count + 1')}
         where ${id} = $3 and verification_state = 1 and verification_started_at = $4`,
        [now, message, row.modelId.toString(), row.startedAt] as never[],
      );
      return result.count === 1;
    },

    /** started for longer than `timeoutMs` (a worker died mid-checksum) → failed, with backoff */
    async failTimedOut(db: Db, timeoutMs: number, now: Date): Promise<number> {
      const result = await db.unsafe(
        `update ${s} set verification_state = 3, verification_checksum = null, verified_at = $1,
           verification_failure = $2, verification_retry_count = verification_retry_count + 1,
           verification_retry_at = ${retryAtSql('$1::timestamptz', 'verification_retry_count + 1')}
         where verification_state = 1 and verification_started_at < $1::timestamptz - make_interval(secs => $3)`,
        [now, `Verification timed out after ${Math.round(timeoutMs / 1000)} s`, timeoutMs / 1000] as never[],
      );
      return result.count;
    },

    /** succeeded rows verified longer ago than `intervalMs` → pending (oldest first, up to `limit`) */
    async reverify(db: Db, intervalMs: number, limit: number, now: Date): Promise<number> {
      const result = await db.unsafe(
        `update ${s} set verification_state = 0
         where ${id} in (
           select ${id} from ${s} where verification_state = 2 and verified_at < $1::timestamptz - make_interval(secs => $2)
           order by verified_at limit $3 for update skip locked)`,
        [now, intervalMs / 1000, limit] as never[],
      );
      return result.count;
    },

    /** model rows without a state row (e.g. from before the states table) get a pending one */
    async backfill(db: Db, limit: number): Promise<number> {
      const result = await db.unsafe(
        `insert into ${s} (${id})
         select m.id from ${t} m where not exists (select 1 from ${s} st where st.${id} = m.id) order by m.id limit $1
         on conflict do nothing`,
        [limit] as never[],
      );
      return result.count;
    },

    async get(db: Db, modelId: bigint): Promise<VerificationRow | undefined> {
      const [row] = await db<VerificationRow[]>`
        select ${db(id)} as model_id, verification_state, verification_started_at, verification_retry_at, verified_at,
          verification_retry_count, encode(verification_checksum, 'hex') as verification_checksum, verification_failure
        from ${db(s)} where ${db(id)} = ${modelId.toString()}`;
      return row;
    },
  };
}
