import { setFlag, type Migration } from '@meridian/db';
import type { TopologyClient } from '@meridian/topology-client';
import { BucketType, claimsFlags, defineClaimable, encodePrimaryKey, SourceType, SubjectType, verificationFlagName, type Claimable, type ClaimMetadata } from '../../src';
import type { ClaimsTestEnv } from '../../src/conformance/claims-test-env';

// A schema of its own for the verification tests: a scope (`not hidden`), a condition (top-level
// routing paths only), a change timestamp, and emails whose subject is their user.
export const verificationSchema: Migration[] = [
  {
    name: 'claims-verification-test/0001_users_emails',
    sql: `
      create table users (
        id bigserial primary key, username text, routing_path text,
        hidden boolean not null default false, updated_at timestamptz not null default now());
      create table emails (
        id bigserial primary key, user_id bigint not null, email text not null,
        updated_at timestamptz not null default now());`,
  },
];

export const vUsers: Claimable = defineClaimable({
  table: 'users',
  attributes: {
    id: { bucket: BucketType.USER_IDS },
    username: { bucket: BucketType.USERNAMES },
    routing_path: { bucket: BucketType.ROUTES, if: (row) => !String(row.routing_path).includes('/') },
  },
  subject: { type: SubjectType.USER, key: 'id' },
  scope: 'not hidden',
  changedAt: 'updated_at',
});

export const vEmails: Claimable = defineClaimable({
  table: 'emails',
  attributes: { email: { bucket: BucketType.EMAILS } },
  subject: { type: SubjectType.USER, key: 'user_id' },
  changedAt: 'updated_at',
});

export const vModels = [vUsers, vEmails];

export function meta(type: number, value: string, subjectId: bigint, sourceId: bigint, sourceType: number = SourceType.RAILS_TABLE_USERS): ClaimMetadata {
  return { bucket: { type, value }, subject: { type: SubjectType.USER, id: subjectId }, source: { type: sourceType, railsPrimaryKeyId: encodePrimaryKey(sourceId) } };
}

/** Claims records in the service directly (the service's side of a seeded drift). */
export async function seedService(client: TopologyClient, records: ClaimMetadata[]): Promise<void> {
  const lease = await client.beginUpdate({ creates: records }, { mode: 'background' });
  await client.commitUpdate(lease, { mode: 'background' });
}

export async function enableVerification(env: ClaimsTestEnv, cellId: number, models: readonly Claimable[], enabled = true): Promise<void> {
  const sql = env.cells[cellId]!.sql;
  for (const model of models) await setFlag(sql, claimsFlags(models), verificationFlagName(model.verificationName), enabled);
}

/** Every claim the service holds for a cell, with subject and source, sorted. */
export async function serviceState(env: ClaimsTestEnv, cellId: number): Promise<string[]> {
  const rows = await env.topologySql<{ bucket_type: number; bucket_value: string; subject_id: bigint; source_type: number; source_id: Buffer; status: number }[]>`
    select bucket_type, bucket_value, subject_id, source_type, encode(source_id, 'hex') as source_id, status from claims where cell_id = ${cellId}
    order by bucket_type, bucket_value`;
  return rows.map((r) => `${r.bucket_type}=${r.bucket_value} subject=${r.subject_id} source=${r.source_type}:${String(r.source_id)} status=${r.status}`);
}

export function line(type: number, value: string, subjectId: bigint, sourceId: bigint, sourceType: number = SourceType.RAILS_TABLE_USERS): string {
  return `${type}=${value} subject=${subjectId} source=${sourceType}:${Buffer.from(encodePrimaryKey(sourceId)).toString('hex')} status=1`;
}

/** A clock two hours ahead of the databases' now(), so freshly seeded rows and claims are "old". */
export function aheadClock(offsetMs = 2 * 3_600_000): () => Date {
  return () => new Date(Date.now() + offsetMs);
}
