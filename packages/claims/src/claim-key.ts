import { ScalarType } from '@bufbuild/protobuf';
import { Bucket_TypeSchema, ClaimSchema, Source_TypeSchema, Subject_TypeSchema } from '@meridian/proto';

export { Bucket_Type as BucketType, Subject_Type as SubjectType, Source_Type as SourceType } from '@meridian/proto';

// A claim's identity is (type number, value text), shared by the cells and the Topology Service.
// Bucket.Type N, ClaimType N and the Claim oneof field numbered N are one type, so everything
// below is read from the generated descriptors: adding a type to the proto is enough.

export interface ClaimKey {
  /** Bucket.Type number, e.g. 4 for USERNAMES */
  type: number;
  value: string;
}

const bucketTypeNames = new Map(Bucket_TypeSchema.values.map((v) => [v.number, v.name]));
const sourceTypeByName = new Map(Source_TypeSchema.values.map((v) => [v.name, v.number]));
const subjectTypes = new Set(Subject_TypeSchema.values.map((v) => v.number).filter((n) => n !== 0));
const sourceTypes = new Set(Source_TypeSchema.values.map((v) => v.number).filter((n) => n !== 0));
const claimFieldByNumber = new Map(ClaimSchema.oneofs[0]!.fields.map((f) => [f.number, f]));

/** Bucket.Type numbers that may be claimed (everything in the enum except UNSPECIFIED). */
export function isKnownBucketType(type: number): boolean {
  return type !== 0 && bucketTypeNames.has(type);
}

export function isKnownSubjectType(type: number): boolean {
  return subjectTypes.has(type);
}

export function isKnownSourceType(type: number): boolean {
  return sourceTypes.has(type);
}

/** "USERNAMES" for 4; the number itself for types this build does not know. */
export function bucketTypeName(type: number): string {
  return bucketTypeNames.get(type) ?? String(type);
}

/** Integer-valued claim types (project, namespace, user, organization, snippet ids). */
export function isIntegerBucketType(type: number): boolean {
  const field = claimFieldByNumber.get(type);
  return field !== undefined && field.fieldKind === 'scalar' && field.scalar !== ScalarType.STRING;
}

/** `RAILS_TABLE_<TABLE>` for a table name (`users` → RAILS_TABLE_USERS), or undefined. */
export function sourceTypeForTable(table: string): number | undefined {
  return sourceTypeByName.get(`RAILS_TABLE_${table.toUpperCase()}`);
}

/** A map/set key for a claim. */
export function keyString(key: ClaimKey): string {
  return `${key.type}\u0000${key.value}`;
}

/** `{USERNAMES=alice}`, the conflict notation the service and Rails clients use. */
export function describeKey(key: ClaimKey): string {
  return `{${bucketTypeName(key.type)}=${key.value}}`;
}
