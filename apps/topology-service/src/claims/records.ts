import { AnySchema, create, fromBinary, type Timestamp, TimestampSchema } from './proto-runtime';
import { RecordSchema, type Record as ClaimRecord } from '@meridian/proto';
import { claimFromKey } from './claim-key';
import type { ClaimRow } from '../repository/claim-queries';

// Database rows → wire messages.

export function timestampFromMicros(us: bigint): Timestamp {
  const seconds = us >= 0n ? us / 1_000_000n : -((-us + 999_999n) / 1_000_000n);
  const nanos = Number(us - seconds * 1_000_000n) * 1000;
  return create(TimestampSchema, { seconds, nanos });
}

export function microsFromTimestamp(ts: Timestamp): bigint {
  return ts.seconds * 1_000_000n + BigInt(Math.floor(ts.nanos / 1000));
}

export function recordFromRow(row: ClaimRow): ClaimRecord {
  const key = { type: row.bucket_type, value: row.bucket_value };
  const claim = claimFromKey(key);
  return create(RecordSchema, {
    uuid: { value: row.uuid },
    cellId: row.cell_id,
    status: row.status,
    leaseUuid: row.lease_uuid ? { value: row.lease_uuid } : undefined,
    createdAt: timestampFromMicros(row.created_us),
    updatedAt: timestampFromMicros(row.updated_us),
    metadata: {
      bucket: { type: row.bucket_type, value: row.bucket_value },
      subject: { type: row.subject_type, id: row.subject_id },
      source: { type: row.source_type, railsPrimaryKeyId: new Uint8Array(row.source_id) },
      userData: row.user_data ? fromBinary(AnySchema, new Uint8Array(row.user_data)) : undefined,
      claim,
    },
  });
}
