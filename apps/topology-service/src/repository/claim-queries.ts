import type { Sql } from '@meridian/db';
import type { ClaimKey } from '@meridian/claims/rules';

// Read side: records, leases and owners. Timestamps come back as microseconds since the epoch
// (exact, unlike a JS Date) and lease cursors carry PostgreSQL's own text form of created_at, so
// paging compares exactly what is stored and never skips or repeats a row. (The cursor goes in as
// `text`: a parameter typed timestamptz would pass through a JS Date and lose its microseconds.)

export interface ClaimRow {
  uuid: string;
  bucket_type: number;
  bucket_value: string;
  subject_type: number;
  subject_id: bigint;
  source_type: number;
  source_id: Buffer;
  cell_id: bigint;
  status: number;
  lease_uuid: string | null;
  user_data: Buffer | null;
  created_us: bigint;
  updated_us: bigint;
}

export interface LeaseRow {
  uuid: string;
  created_us: bigint;
  updated_us: bigint;
  /** created_at::text, the exact cursor position */
  created_text: string;
}

export interface LeaseCursor {
  createdText: string;
  uuid: string;
}

export interface RecordRange {
  cellId: bigint;
  sourceType: number;
  bucketTypes: number[];
  sourceIdGt: Uint8Array;
  sourceIdLte: Uint8Array | undefined;
  pageSize: number;
}

const toBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const RECORD_COLUMNS = `uuid::text as uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id,
  cell_id, status, lease_uuid::text as lease_uuid, user_data,
  (extract(epoch from created_at) * 1000000)::int8 as created_us,
  (extract(epoch from updated_at) * 1000000)::int8 as updated_us`;

export interface ClaimQueries {
  getRecord(key: ClaimKey): Promise<ClaimRow | undefined>;
  listRecords(range: RecordRange): Promise<{ rows: ClaimRow[]; truncated: boolean }>;
  listLeases(options: {
    cellId: bigint;
    createdAfterUs: bigint | undefined;
    cursor: LeaseCursor | undefined;
    limit: number;
  }): Promise<{ rows: LeaseRow[]; more: boolean }>;
  /** owners of the given keys among settled or being-destroyed claims (still owned until commit) */
  owners(keys: ClaimKey[]): Promise<{ bucket_type: number; bucket_value: string; cell_id: bigint }[]>;
  ping(): Promise<void>;
}

export function createClaimQueries(sql: Sql): ClaimQueries {
  return {
    async getRecord(key) {
      const [row] = await sql<ClaimRow[]>`
        select ${sql.unsafe(RECORD_COLUMNS)} from claims where bucket_type = ${key.type} and bucket_value = ${key.value}`;
      return row;
    },

    /**
     * One page in (source_id, uuid) order. A page never ends in the middle of one source id:
     * callers resume with source_id_gt = the last source id they saw, so splitting a source's
     * claims across pages would lose the rest of them.
     */
    async listRecords(range) {
      const lte = range.sourceIdLte && range.sourceIdLte.length > 0 ? toBuffer(range.sourceIdLte) : null;
      const select = (limit: number | null, onlySource?: Buffer) => sql<ClaimRow[]>`
        select ${sql.unsafe(RECORD_COLUMNS)} from claims
        where cell_id = ${range.cellId.toString()}::int8 and source_type = ${range.sourceType}
          and source_id > ${toBuffer(range.sourceIdGt)}::bytea
          and (${lte}::bytea is null or source_id <= ${lte}::bytea)
          and (cardinality(${range.bucketTypes}::int[]) = 0 or bucket_type = any(${range.bucketTypes}::int[]))
          and (${onlySource ?? null}::bytea is null or source_id = ${onlySource ?? null}::bytea)
        order by source_id, uuid
        limit ${limit}`;
      const rows = await select(range.pageSize + 1);
      if (rows.length <= range.pageSize) return { rows, truncated: false };
      const boundary = rows[range.pageSize]!.source_id;
      const page = rows.slice(0, range.pageSize).filter((r) => !r.source_id.equals(boundary));
      if (page.length > 0) return { rows: page, truncated: true };
      // a single source id has more claims than a page: return all of them as one page
      return { rows: await select(null, boundary), truncated: true };
    },

    async listLeases({ cellId, createdAfterUs, cursor, limit }) {
      const rows = await sql<LeaseRow[]>`
        select uuid::text as uuid, created_at::text as created_text,
          (extract(epoch from created_at) * 1000000)::int8 as created_us,
          (extract(epoch from updated_at) * 1000000)::int8 as updated_us
        from claim_leases
        where cell_id = ${cellId.toString()}::int8 and state = 'open'
          and (${createdAfterUs?.toString() ?? null}::int8 is null
               or created_at > timestamptz 'epoch' + ${createdAfterUs?.toString() ?? null}::int8 * interval '1 microsecond')
          and (${cursor?.createdText ?? null}::text is null
               or (created_at, uuid) > (${cursor?.createdText ?? null}::text::timestamptz, ${cursor?.uuid ?? null}::uuid))
        order by created_at, uuid
        limit ${limit + 1}`;
      return { rows: rows.slice(0, limit), more: rows.length > limit };
    },

    async owners(keys) {
      if (keys.length === 0) return [];
      return sql<{ bucket_type: number; bucket_value: string; cell_id: bigint }[]>`
        select bucket_type, bucket_value, cell_id from claims
        where (bucket_type, bucket_value) in (
          select * from unnest(${keys.map((k) => k.type)}::int[], ${keys.map((k) => k.value)}::text[]))
          and status in (1, 3)`;
    },

    async ping() {
      await sql`select 1`;
    },
  };
}
