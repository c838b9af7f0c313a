import { create, ScalarType } from '@bufbuild/protobuf';
import {
  Bucket_TypeSchema,
  ClaimSchema,
  type Bucket,
  type Claim,
} from '@meridian/proto';

// A claim's identity is (type number, value text). Bucket.Type N, ClaimType N and the Claim oneof
// field numbered N are the same type, so the mapping below is read from the generated
// descriptors: adding a type to the proto and regenerating is enough for the service to accept it.

export interface ClaimKey {
  type: number;
  value: string;
}

const bucketTypeNames = new Map(Bucket_TypeSchema.values.map((v) => [v.number, v.name]));
const claimFieldByNumber = new Map(ClaimSchema.oneofs[0]!.fields.map((f) => [f.number, f]));
const claimFieldByName = new Map(ClaimSchema.oneofs[0]!.fields.map((f) => [f.localName, f]));

/** Bucket.Type numbers the service accepts (everything in the enum except UNSPECIFIED). */
export function isKnownBucketType(type: number): boolean {
  return type !== 0 && bucketTypeNames.has(type);
}

/**
 * Types whose values are integer ids (PROJECT_IDS, NAMESPACE_IDS, USER_IDS, ORGANIZATION_IDS,
 * SNIPPET_IDS): the Claim oneof field with the same number is an int64.
 */
export function isIntegerType(type: number): boolean {
  const field = claimFieldByNumber.get(type);
  return field !== undefined && field.fieldKind === 'scalar' && field.scalar !== ScalarType.STRING;
}

const INT64_MAX = 9223372036854775807n;
/** Canonical decimal text of a positive int64: no sign, no leading zeros, no spaces. */
export function isCanonicalId(value: string): boolean {
  return /^[1-9]\d{0,18}$/.test(value) && BigInt(value) <= INT64_MAX;
}

/** "USERNAMES" for 4; the number itself for types this build does not know. */
export function bucketTypeName(type: number): string {
  return bucketTypeNames.get(type) ?? String(type);
}

export function keyString(key: ClaimKey): string {
  return `${key.type}\u0000${key.value}`;
}

/** `{USERNAMES=alice}`, the conflict notation Rails clients already parse. */
export function describeKey(key: ClaimKey): string {
  return `{${bucketTypeName(key.type)}=${key.value}}`;
}

/** The key of a types.v1.Claim, or undefined when no field of the oneof is set. */
export function keyFromClaim(claim: Claim): ClaimKey | undefined {
  if (claim.claim.case === undefined) return undefined;
  const field = claimFieldByName.get(claim.claim.case);
  if (!field) return undefined;
  return { type: field.number, value: String(claim.claim.value) };
}

export function keyFromBucket(bucket: Bucket): ClaimKey {
  return { type: bucket.type, value: bucket.value };
}

/**
 * The Claim oneof for a key, when this build has a field with that number. Integer claims
 * (project_id, …) only convert when the stored text is a decimal integer.
 */
export function claimFromKey(key: ClaimKey): Claim | undefined {
  const field = claimFieldByNumber.get(key.type);
  if (!field || field.fieldKind !== 'scalar') return undefined;
  if (field.scalar !== ScalarType.STRING) {
    if (!isCanonicalId(key.value)) return undefined;
    return create(ClaimSchema, { claim: { case: field.localName, value: BigInt(key.value) } as Claim['claim'] });
  }
  return create(ClaimSchema, { claim: { case: field.localName, value: key.value } as Claim['claim'] });
}
