import { toBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import type { BeginUpdateRequest, Metadata } from '@meridian/proto';
import {
  claimValueProblem,
  isKnownSourceType,
  isKnownSubjectType,
  keyString,
  MAX_RECORDS_PER_UPDATE,
  MAX_SOURCE_ID_BYTES,
  MAX_UPDATE_BYTES,
  RECORD_OVERHEAD_BYTES,
  type ClaimKey,
} from '@meridian/claims/rules';
import { keyFromBucket, keyFromClaim } from './claim-key';
import { ValidationError } from './errors';

// Every request is checked here before it reaches SQL, so bad input is INVALID_ARGUMENT with a
// message, never a database error surfacing as INTERNAL. Limits and value rules are the ones the
// cells apply (@meridian/claims); the update-size estimate is the upstream client's: value bytes
// plus RECORD_OVERHEAD_BYTES of metadata per record.

const utf8 = new TextEncoder();
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ClaimInput {
  key: ClaimKey;
  subjectType: number;
  subjectId: bigint;
  sourceType: number;
  sourceId: Uint8Array;
  userData: Uint8Array | undefined;
}

export interface UpdateInput {
  cellId: bigint;
  creates: ClaimInput[];
  destroys: ClaimKey[];
}

export function requireCellId(cellId: bigint, field = 'cell_id'): bigint {
  if (cellId <= 0n) throw new ValidationError(`${field} must be a positive cell id`);
  return cellId;
}

export function requireLeaseUuid(uuid: { value: string } | undefined, field = 'lease_uuid'): string {
  if (!uuid || !UUID_RE.test(uuid.value)) throw new ValidationError(`${field} must be a UUID`);
  return uuid.value.toLowerCase();
}

export function requireSourceType(type: number, field: string): number {
  if (!isKnownSourceType(type)) throw new ValidationError(`${field} must be a known Source.Type other than UNSPECIFIED`);
  return type;
}

/** The claimed (type, value) of a metadata entry, from `bucket`, `claim`, or both when they agree. */
export function claimKeyOf(bucketOrNone: Metadata['bucket'], claim: Metadata['claim'], where: string): ClaimKey {
  const fromClaim = claim ? keyFromClaim(claim) : undefined;
  const fromBucket = bucketOrNone && (bucketOrNone.type !== 0 || bucketOrNone.value !== '') ? keyFromBucket(bucketOrNone) : undefined;
  const key = fromBucket ?? fromClaim;
  if (!key) throw new ValidationError(`${where}: bucket (or claim) is required`);
  if (fromBucket && fromClaim && keyString(fromBucket) !== keyString(fromClaim)) {
    throw new ValidationError(`${where}: bucket and claim name different values`);
  }
  checkKey(key, where);
  return key;
}

export function checkKey(key: ClaimKey, where: string): void {
  const problem = claimValueProblem(key);
  if (problem) throw new ValidationError(`${where}: ${problem}`);
}

function createInput(m: Metadata, where: string): ClaimInput {
  const key = claimKeyOf(m.bucket, m.claim, where);
  if (!m.subject || !isKnownSubjectType(m.subject.type)) {
    throw new ValidationError(`${where}: subject.type must be a known Subject.Type other than UNSPECIFIED`);
  }
  if (!m.source) throw new ValidationError(`${where}: source is required`);
  const sourceType = requireSourceType(m.source.type, `${where}: source.type`);
  const sourceId = m.source.railsPrimaryKeyId;
  if (sourceId.length === 0) throw new ValidationError(`${where}: source.rails_primary_key_id (primary key bytes) is required`);
  if (sourceId.length > MAX_SOURCE_ID_BYTES) {
    throw new ValidationError(`${where}: source.rails_primary_key_id is longer than ${MAX_SOURCE_ID_BYTES} bytes`);
  }
  return {
    key,
    subjectType: m.subject.type,
    subjectId: m.subject.id,
    sourceType,
    sourceId,
    userData: m.userData ? toBinary(AnySchema, m.userData) : undefined,
  };
}

/** BeginUpdate: limits, per-record checks, duplicates, and no claim both created and destroyed. */
export function validateBeginUpdate(req: BeginUpdateRequest): UpdateInput {
  const cellId = requireCellId(req.cellId);
  const total = req.createRecords.length + req.destroyRecords.length;
  if (total === 0) throw new ValidationError('create_records and destroy_records are both empty');
  if (total > MAX_RECORDS_PER_UPDATE) {
    throw new ValidationError(`${total} records in one update; at most ${MAX_RECORDS_PER_UPDATE} are allowed`);
  }
  const creates = req.createRecords.map((m, i) => createInput(m, `create_records[${i}]`));
  const destroys = req.destroyRecords.map((m, i) => claimKeyOf(m.bucket, m.claim, `destroy_records[${i}]`));

  let bytes = 0;
  for (const c of creates) bytes += utf8.encode(c.key.value).length + RECORD_OVERHEAD_BYTES + (c.userData?.length ?? 0);
  for (const d of destroys) bytes += utf8.encode(d.value).length + RECORD_OVERHEAD_BYTES;
  if (bytes > MAX_UPDATE_BYTES) {
    throw new ValidationError(`update is about ${bytes} bytes; at most ${MAX_UPDATE_BYTES} are allowed per BeginUpdate`);
  }

  const created = new Set<string>();
  creates.forEach((c, i) => {
    const k = keyString(c.key);
    if (created.has(k)) throw new ValidationError(`create_records[${i}]: the same claim is created twice`);
    created.add(k);
  });
  const destroyed = new Set<string>();
  destroys.forEach((d, i) => {
    const k = keyString(d);
    if (destroyed.has(k)) throw new ValidationError(`destroy_records[${i}]: the same claim is destroyed twice`);
    if (created.has(k)) {
      throw new ValidationError(`destroy_records[${i}]: the same claim is created and destroyed in one update (invalid batch)`);
    }
    destroyed.add(k);
  });
  return { cellId, creates, destroys };
}
