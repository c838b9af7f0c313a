import type { Record as ServiceRecord } from '@meridian/proto';
import type { ClaimMetadata, Claimable, Row } from '../claimable';
import { decodeIntegerPrimaryKey } from '../primary-key';
import { emptyCounts, type DriftKind, type VerificationCounts } from './verification-counts';

// The comparison of one batch: the scoped local rows of a primary-key range against the service's
// records for the same source-id range. Keys are the primary key's bytes in hex. A source id whose
// row changed in the last hour, or whose service records changed in the last hour or are under a
// lease, is left alone on both sides (neither created nor destroyed).

export interface Drift {
  kind: DriftKind;
  recordId: string;
  bucketType: number;
}

export interface BatchDiff {
  creates: ClaimMetadata[];
  destroys: Array<{ bucket: { type: number; value: string } }>;
  drifts: Drift[];
  counts: VerificationCounts;
}

export interface LocalRow {
  row: Row;
  recent: boolean;
}

export interface UnscopedRow {
  id: string;
  recent: boolean;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

export function sourceKey(bytes: Uint8Array): string {
  return hex(bytes);
}

function millis(ts: ServiceRecord['updatedAt']): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;
}

export function diffBatch(input: {
  model: Claimable;
  /** scoped rows of the range, by source key */
  local: Map<string, LocalRow>;
  /** rows of the range the scope excludes, by source key */
  unscoped: Map<string, UnscopedRow>;
  remote: readonly ServiceRecord[];
  enabled: (attribute: string) => boolean;
  recentSince: number;
}): BatchDiff {
  const { model, local, unscoped, remote, enabled, recentSince } = input;
  const counts = emptyCounts();
  counts.rows = local.size;
  const creates: ClaimMetadata[] = [];
  const destroys: BatchDiff['destroys'] = [];
  const drifts: Drift[] = [];
  const byRecord = new Map<string, ServiceRecord[]>();
  for (const record of remote) {
    const bytes = record.metadata?.source?.railsPrimaryKeyId;
    if (!bytes) continue;
    const key = sourceKey(bytes);
    const list = byRecord.get(key);
    if (list) list.push(record);
    else byRecord.set(key, [record]);
  }
  const remoteBusy = (records: readonly ServiceRecord[] | undefined) =>
    records?.some((r) => r.leaseUuid !== undefined || millis(r.updatedAt) >= recentSince) ?? false;
  const drift = (kind: DriftKind, recordId: string, bucketType: number) => {
    drifts.push({ kind, recordId, bucketType });
    counts.drift[kind]++;
  };
  const destroy = (record: ServiceRecord) => {
    const bucket = record.metadata!.bucket!;
    destroys.push({ bucket: { type: bucket.type, value: bucket.value } });
    counts.destroyed++;
  };

  for (const [key, { row, recent }] of local) {
    const records = byRecord.get(key) ?? [];
    const recordId = String(row[model.primaryKey]);
    if (recent || remoteBusy(records)) {
      counts.skippedRecent++;
      continue;
    }
    const expected = model.claimsOf(row, (column) => enabled(column));
    const expectedTypes = new Set(expected.map((c) => c.bucket.type));
    for (const claim of expected) {
      const held = records.filter((r) => r.metadata?.bucket?.type === claim.bucket.type);
      const same = held.find((r) => r.metadata!.bucket!.value === claim.bucket.value && r.metadata?.subject?.type === claim.subject?.type && r.metadata?.subject?.id === claim.subject?.id);
      if (same) {
        for (const extra of held) {
          if (extra === same) continue;
          drift('changed_value', recordId, claim.bucket.type);
          destroy(extra);
        }
        continue;
      }
      if (held.length === 0) drift('missing_in_service', recordId, claim.bucket.type);
      else {
        const kind = held.some((r) => r.metadata!.bucket!.value === claim.bucket.value) ? 'changed_subject' : 'changed_value';
        drift(kind, recordId, claim.bucket.type);
        for (const old of held) destroy(old);
        counts.replaced++;
      }
      creates.push(claim);
      counts.created++;
    }
    for (const record of records) {
      const type = record.metadata?.bucket?.type ?? 0;
      if (!expectedTypes.has(type) && enabledType(model, type, enabled)) {
        drift('blank_or_condition', recordId, type);
        destroy(record);
      }
    }
  }

  for (const [key, records] of byRecord) {
    if (local.has(key)) continue;
    const outside = unscoped.get(key);
    if (outside?.recent || remoteBusy(records)) {
      counts.skippedRecent++;
      continue;
    }
    const bytes = records[0]!.metadata!.source!.railsPrimaryKeyId;
    const recordId = outside?.id ?? (bytes.length === 8 ? decodeIntegerPrimaryKey(bytes).toString() : key);
    for (const record of records) {
      drift(outside ? 'out_of_scope' : 'orphaned_in_service', recordId, record.metadata?.bucket?.type ?? 0);
      destroy(record);
    }
  }
  return { creates, destroys, drifts, counts };
}

function enabledType(model: Claimable, type: number, enabled: (attribute: string) => boolean): boolean {
  const attribute = model.attributeFor(type);
  return attribute !== undefined && enabled(attribute);
}
