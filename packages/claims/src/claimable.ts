import type { MessageInitShape } from '@bufbuild/protobuf';
import type { MetadataSchema } from '@meridian/proto';
import { bucketTypeName, isKnownBucketType, isKnownSourceType, isKnownSubjectType, sourceTypeForTable } from './claim-key';
import { canonicalValue } from './canonical-value';
import { encodePrimaryKey } from './primary-key';

export type Row = Record<string, unknown>;
export type ClaimMetadata = MessageInitShape<typeof MetadataSchema> & {
  bucket: { type: number; value: string };
};

export interface ClaimedAttribute {
  /** Bucket.Type number (`BucketType.USERNAMES`) */
  bucket: number;
  /** only rows for which this holds are claimed (routes: top-level paths only) */
  if?: (row: Row) => boolean;
  /** temporary rollout flag (`cells_claims_users`); the attribute is claimed only while it is on */
  flag?: string;
}

export interface ClaimableInput {
  /** stable name (job payloads, logs): usually the table */
  name?: string;
  table: string;
  /** default `id` */
  primaryKey?: string;
  /** claimed columns */
  attributes: Record<string, ClaimedAttribute>;
  /** who owns the claims: Subject.Type and the column (or a function of the row) holding its id */
  subject: { type: number; key: string | ((row: Row) => bigint | number | string) };
  /** Source.Type; inferred from the table (`users` → RAILS_TABLE_USERS) unless given */
  sourceType?: number;
  /** the rows verification scans: a SQL condition on the table (`strpos(path, '/') = 0`) */
  scope?: string;
  /** column holding when a row last changed: verification leaves rows changed in the last hour alone */
  changedAt?: string;
  /** upstream model name in the verification flag `cells_claims_verification_worker_<name>` (default: the table without its trailing s) */
  verificationName?: string;
  /** models whose rows belong to this one and go with it (a user's emails), by foreign key */
  associations?: ReadonlyArray<{ model: () => Claimable; foreignKey: string }>;
}

/** A claimable model: a declaration plus what is derived from it. */
export interface Claimable {
  readonly name: string;
  readonly table: string;
  readonly primaryKey: string;
  readonly attributes: Readonly<Record<string, ClaimedAttribute>>;
  readonly subject: ClaimableInput['subject'];
  readonly sourceType: number;
  readonly scope: string | undefined;
  readonly changedAt: string | undefined;
  readonly verificationName: string;
  readonly associations: NonNullable<ClaimableInput['associations']>;
  /** the claim of one attribute of a row, or undefined when blank or outside the condition */
  claimOf(row: Row, attribute: string): ClaimMetadata | undefined;
  /** every claim of a row whose attribute passes `enabled` */
  claimsOf(row: Row, enabled?: (attribute: string, config: ClaimedAttribute) => boolean): ClaimMetadata[];
  /** the attribute a bucket type belongs to (for "<attribute> has already been taken") */
  attributeFor(bucketType: number): string | undefined;
}

export class ClaimableDefinitionError extends Error {
  override readonly name = 'ClaimableDefinitionError';
}

export class MissingPrimaryKeyError extends Error {
  override readonly name = 'MissingPrimaryKeyError';
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function subjectIdOf(subject: ClaimableInput['subject'], row: Row): bigint {
  const raw = typeof subject.key === 'function' ? subject.key(row) : row[subject.key];
  if (raw === null || raw === undefined) throw new MissingPrimaryKeyError(`subject id (${String(subject.key)}) is missing`);
  return BigInt(raw as bigint | number | string);
}

export function defineClaimable(input: ClaimableInput): Claimable {
  const table = input.table;
  if (!IDENT.test(table)) throw new ClaimableDefinitionError(`table "${table}" is not a plain lower-case identifier`);
  const primaryKey = input.primaryKey ?? 'id';
  const sourceType = input.sourceType ?? sourceTypeForTable(table);
  if (sourceType === undefined || !isKnownSourceType(sourceType)) {
    throw new ClaimableDefinitionError(`no Source.Type RAILS_TABLE_${table.toUpperCase()} for table "${table}": give sourceType`);
  }
  if (!isKnownSubjectType(input.subject.type)) throw new ClaimableDefinitionError(`${table}: subject type ${input.subject.type} is unknown`);
  if (input.changedAt !== undefined && !IDENT.test(input.changedAt)) throw new ClaimableDefinitionError(`${table}: changedAt "${input.changedAt}" is not a plain identifier`);
  if (input.verificationName !== undefined && !IDENT.test(input.verificationName)) throw new ClaimableDefinitionError(`${table}: verificationName "${input.verificationName}" is not a plain identifier`);
  const entries = Object.entries(input.attributes);
  if (entries.length === 0) throw new ClaimableDefinitionError(`${table}: declare at least one claimed attribute`);
  const byBucket = new Map<number, string>();
  for (const [column, attribute] of entries) {
    if (!IDENT.test(column)) throw new ClaimableDefinitionError(`${table}: column "${column}" is not a plain identifier`);
    if (!isKnownBucketType(attribute.bucket)) throw new ClaimableDefinitionError(`${table}.${column}: bucket type ${attribute.bucket} is unknown`);
    if (byBucket.has(attribute.bucket)) {
      throw new ClaimableDefinitionError(`${table}: ${column} and ${byBucket.get(attribute.bucket)} both claim ${bucketTypeName(attribute.bucket)}`);
    }
    byBucket.set(attribute.bucket, column);
  }

  const model: Claimable = {
    name: input.name ?? table,
    table,
    primaryKey,
    attributes: input.attributes,
    subject: input.subject,
    sourceType,
    scope: input.scope,
    changedAt: input.changedAt,
    verificationName: input.verificationName ?? table.replace(/s$/, ''),
    associations: input.associations ?? [],
    claimOf(row, column) {
      const attribute = input.attributes[column];
      if (!attribute) throw new ClaimableDefinitionError(`${table}.${column} is not claimed`);
      const value = canonicalValue(attribute.bucket, row[column]);
      if (value === undefined) return undefined;
      if (attribute.if && !attribute.if(row)) return undefined;
      const pk = row[primaryKey];
      if (pk === null || pk === undefined) throw new MissingPrimaryKeyError(`${table} row has no ${primaryKey}`);
      return {
        bucket: { type: attribute.bucket, value },
        subject: { type: input.subject.type, id: subjectIdOf(input.subject, row) },
        source: { type: sourceType, railsPrimaryKeyId: encodePrimaryKey(pk as bigint | number | string) },
      };
    },
    claimsOf(row, enabled = () => true) {
      const claims: ClaimMetadata[] = [];
      for (const [column, attribute] of entries) {
        if (!enabled(column, attribute)) continue;
        const claim = model.claimOf(row, column);
        if (claim) claims.push(claim);
      }
      return claims;
    },
    attributeFor: (bucketType) => byBucket.get(bucketType),
  };
  return model;
}
