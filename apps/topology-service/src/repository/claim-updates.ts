import { randomUUID } from 'node:crypto';
import { isRetryableSqlError, type Sql } from '@meridian/db';
import type { ClaimKey } from '@meridian/claims/rules';
import {
  ClaimConflictError,
  DestroyRejectedError,
  LeaseFinishedError,
  LeaseNotFoundError,
  LeaseOwnershipError,
} from '../claims/errors';
import type { ClaimInput, UpdateInput } from '../claims/validation';

// The two-phase claim protocol in SQL. Uniqueness is the database's job: UNIQUE (bucket_type,
// bucket_value) decides every race, the service only reports who lost.

const STATUS_ACTIVE = 1;
const STATUS_CREATING = 2;
const STATUS_DESTROYING = 3;
const MAX_ATTEMPTS = 5;
// raised by claims_begin_update (see the topology migration)
const CREATE_TAKEN = 'MR001';
const DESTROY_REFUSED = 'MR002';

const byKey = (a: ClaimInput, b: ClaimInput) =>
  a.key.type - b.key.type || (a.key.value < b.key.value ? -1 : a.key.value > b.key.value ? 1 : 0);

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

class RetryTransaction extends Error {}

export interface ClaimUpdates {
  begin(input: UpdateInput): Promise<string>;
  commit(cellId: bigint, leaseUuid: string): Promise<void>;
  rollback(cellId: bigint, leaseUuid: string): Promise<void>;
}

export function createClaimUpdates(sql: Sql): ClaimUpdates {
  async function withRetries<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        // serialization failure / deadlock: safe to run the whole transaction again
        const again = error instanceof RetryTransaction || isRetryableSqlError(error);
        if (!again || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * One autocommitted statement (the claims_begin_update function) opens the lease, inserts the
   * creates in key order (so two racing batches lock the unique index in the same order and cannot
   * deadlock each other) and marks the destroys: one round trip and one commit. When a create is
   * taken or a destroy refused, the function raises and nothing it did stays; then we find out why.
   */
  async function beginOnce(lease: string, input: UpdateInput): Promise<void> {
    const { cellId, creates, destroys } = input;
    const sorted = creates.length > 1 ? [...creates].sort(byKey) : creates;
    try {
      await sql`
        select claims_begin_update(${lease}::uuid, ${cellId.toString()}::int8,
          ${sorted.map((c) => c.key.type)}::int[], ${sorted.map((c) => c.key.value)}::text[],
          ${sorted.map((c) => c.subjectType)}::int[], ${sorted.map((c) => c.subjectId.toString())}::int8[],
          ${sorted.map((c) => c.sourceType)}::int[], ${sorted.map((c) => hex(c.sourceId))}::text[],
          ${sorted.map((c) => (c.userData ? hex(c.userData) : ''))}::text[],
          ${destroys.map((d) => d.type)}::int[], ${destroys.map((d) => d.value)}::text[])`;
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === CREATE_TAKEN) throw await conflictsOf(creates);
      if (code === DESTROY_REFUSED) throw await destroyProblemsOf(cellId, destroys);
      throw error;
    }
  }

  /** Who holds the values we could not create (our own attempt is already undone). */
  async function conflictsOf(creates: UpdateInput['creates']): Promise<Error> {
    const taken = await sql<{ bucket_type: number; bucket_value: string }[]>`
      select bucket_type, bucket_value from claims
      where (bucket_type, bucket_value) in (
        select * from unnest(${creates.map((c) => c.key.type)}::int[], ${creates.map((c) => c.key.value)}::text[]))
      order by bucket_type, bucket_value`;
    // the row that beat us was rolled back in between: nothing to report, just try again
    if (taken.length === 0) return new RetryTransaction();
    return new ClaimConflictError(taken.map((r) => ({ type: r.bucket_type, value: r.bucket_value })));
  }

  /** Why destroys were refused: missing, another cell's, or held by a lease. */
  async function destroyProblemsOf(cellId: bigint, destroys: ClaimKey[]): Promise<Error> {
    const rows = await sql<{ bucket_type: number; bucket_value: string; cell_id: bigint; lease_uuid: string | null }[]>`
      select bucket_type, bucket_value, cell_id, lease_uuid::text as lease_uuid from claims
      where (bucket_type, bucket_value) in (
        select * from unnest(${destroys.map((d) => d.type)}::int[], ${destroys.map((d) => d.value)}::text[]))`;
    const found = new Map(rows.map((r) => [`${r.bucket_type}\u0000${r.bucket_value}`, r]));
    const problems: DestroyRejectedError['problems'] = [];
    for (const key of destroys) {
      const row = found.get(`${key.type}\u0000${key.value}`);
      if (!row) problems.push({ key, reason: 'missing' });
      else if (row.cell_id !== cellId) problems.push({ key, reason: 'other_cell' });
      else if (row.lease_uuid !== null) problems.push({ key, reason: 'leased' });
    }
    // whatever stood in the way is gone now: try again
    if (problems.length === 0) return new RetryTransaction();
    return new DestroyRejectedError(problems);
  }

  /**
   * Ends a lease. The lease row is locked, its claims settled and its state set in one statement;
   * `before` is the state seen under the lock, which is what makes a retried call idempotent.
   */
  async function finish(cellId: bigint, leaseUuid: string, outcome: 'committed' | 'rolled_back'): Promise<void> {
    const commit = outcome === 'committed';
    const [row] = await sql<{ cell_id: bigint; before: string }[]>`
      with lease as (
        select uuid, cell_id, state from claim_leases where uuid = ${leaseUuid}::uuid for update
      ), done as (
        update claim_leases l set state = ${outcome}, finished_at = clock_timestamp(), updated_at = clock_timestamp()
        from lease where l.uuid = lease.uuid and lease.state = 'open' and lease.cell_id = ${cellId.toString()}::int8
        returning l.uuid
      ), dropped as (
        delete from claims where lease_uuid in (select uuid from done)
          and status = ${commit ? STATUS_DESTROYING : STATUS_CREATING}
        returning 1
      ), settled as (
        update claims set status = ${STATUS_ACTIVE}, lease_uuid = null, updated_at = clock_timestamp()
        where lease_uuid in (select uuid from done) and status = ${commit ? STATUS_CREATING : STATUS_DESTROYING}
        returning 1
      )
      select cell_id, state as before, (select count(*) from dropped) + (select count(*) from settled) as touched
      from lease`;
    if (!row) throw new LeaseNotFoundError(leaseUuid);
    if (row.cell_id !== cellId) throw new LeaseOwnershipError(leaseUuid, cellId);
    if (row.before === 'open' || row.before === outcome) return;
    throw new LeaseFinishedError(leaseUuid, row.before);
  }

  return {
    async begin(input) {
      return withRetries(async () => {
        const lease = randomUUID();
        await beginOnce(lease, input);
        return lease;
      });
    },
    commit: (cellId, leaseUuid) => withRetries(() => finish(cellId, leaseUuid, 'committed')),
    rollback: (cellId, leaseUuid) => withRetries(() => finish(cellId, leaseUuid, 'rolled_back')),
  };
}

export type { ClaimKey };
