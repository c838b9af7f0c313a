import { exactlyOne, transactionScope, withTransaction, type Db, type TransactionScope, type TransactionSql } from '@meridian/db';
import { AlreadyClaimedError, TopologyError } from '@meridian/topology-client';
import { bulkClaimsJob } from './bulk-claims-job';
import { keyString, type ClaimKey } from './claim-key';
import type { Claimable, ClaimMetadata, Row } from './claimable';
import type { Claims, ClaimsState } from './claims-context';
import { ClaimsUnavailableError, ClaimTakenError, type TakenValue } from './errors';
import { BULK_CLAIMS_BATCH_SIZE } from './limits';

// Claims inside the cell's transaction. Every claimable row a transaction touches through the
// writer adds its creates and destroys to one collector per transaction; before COMMIT they go
// out as ONE BeginUpdate and the lease is recorded in the same transaction; after COMMIT the
// lease is committed (or left for recovery); after a rollback it is rolled back.

interface Owner {
  model: string;
  attribute: string;
}

interface Collector {
  ready: Promise<ClaimsState | undefined>;
  creates: Map<string, ClaimMetadata>;
  destroys: Map<string, ClaimMetadata>;
  owners: Map<string, Owner>;
  lease: string | undefined;
  bulk: Array<{ model: string; createIds?: string[]; destroys?: ClaimKey[] }>;
}

export interface ClaimsWriter {
  readonly tx: TransactionSql;
  /** inserts one row (column → value) and claims its values */
  insert(model: Claimable, values: Row): Promise<Row>;
  /** updates one row by primary key: old values destroyed, new ones created, in the same BeginUpdate */
  update(model: Claimable, id: unknown, values: Row): Promise<Row>;
  /** deletes one row by primary key (and releases its associations' claims) */
  delete(model: Claimable, id: unknown): Promise<Row | undefined>;
  /** bulk insert: no per-row BeginUpdate; bulk-claims jobs (500 rows each) claim them after COMMIT */
  insertMany(model: Claimable, rows: readonly Row[]): Promise<Row[]>;
  /** bulk delete by primary keys: claims captured now, released by bulk-claims jobs after COMMIT */
  deleteMany(model: Claimable, ids: readonly unknown[]): Promise<number>;
}

const param = (value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);
const params = (values: Row): Record<string, unknown> => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, param(v)]));

function collectorFor(claims: Claims, scope: TransactionScope): Collector {
  return scope.state(claims, () => {
    const collector: Collector = {
      ready: claims.state(),
      creates: new Map(),
      destroys: new Map(),
      owners: new Map(),
      lease: undefined,
      bulk: [],
    };
    scope.addHooks({
      beforeCommit: (tx) => beginUpdate(claims, collector, tx),
      afterCommit: () => afterCommit(claims, collector),
      afterRollback: () => afterRollback(claims, collector),
    });
    return collector;
  });
}

function add(collector: Collector, kind: 'create' | 'destroy', model: Claimable, claim: ClaimMetadata): void {
  const key = keyString(claim.bucket);
  const attribute = model.attributeFor(claim.bucket.type) ?? String(claim.bucket.type);
  collector.owners.set(key, { model: model.name, attribute });
  // a value created and destroyed in the same transaction never reaches the service
  const [mine, other] = kind === 'create' ? [collector.creates, collector.destroys] : [collector.destroys, collector.creates];
  if (other.delete(key)) return;
  mine.set(key, claim);
}

async function beginUpdate(claims: Claims, collector: Collector, tx: TransactionSql): Promise<void> {
  const state = await collector.ready;
  if (!state || !claims.client || (collector.creates.size === 0 && collector.destroys.size === 0)) return;
  const creates = [...collector.creates.values()];
  const destroys = [...collector.destroys.values()];
  let lease: string;
  try {
    lease = await claims.client.beginUpdate({ creates, destroys }, { mode: 'transaction' });
  } catch (error) {
    if (error instanceof AlreadyClaimedError) {
      const conflicts = error.conflicts.length > 0 ? error.conflicts : creates.map((c) => c.bucket);
      const errors: TakenValue[] = conflicts.flatMap((key) => {
        const owner = collector.owners.get(keyString(key));
        return owner ? [{ ...owner, value: key.value, message: `${owner.attribute} has already been taken` }] : [];
      });
      throw new ClaimTakenError(errors, conflicts, { cause: error });
    }
    if (error instanceof TopologyError) {
      throw new ClaimsUnavailableError(`claims could not be taken, the write was rolled back: ${error.message}`, { cause: error });
    }
    throw error;
  }
  collector.lease = lease;
  await tx`insert into cells_outstanding_leases (uuid) values (${lease}::uuid)`;
}

async function afterCommit(claims: Claims, collector: Collector): Promise<void> {
  const lease = collector.lease;
  if (lease && claims.client) {
    try {
      await claims.client.commitUpdate(lease, { mode: 'transaction' });
      await claims.sql`delete from cells_outstanding_leases where uuid = ${lease}::uuid`;
    } catch (error) {
      // the write stands; recovery commits the lease once it is stale
      claims.logger.warn({ err: error, lease }, 'claims commit failed; the lease is left for recovery');
    }
  }
  if (collector.bulk.length > 0) {
    if (!(await collector.ready)) return;
    const queues = claims.queues;
    if (!queues) throw new Error('bulk claims need a queue set (createClaims({ queues }))');
    for (const job of collector.bulk) await queues.add(bulkClaimsJob, job as never);
  }
}

async function afterRollback(claims: Claims, collector: Collector): Promise<void> {
  const lease = collector.lease;
  if (!lease || !claims.client) return;
  try {
    await claims.client.rollbackUpdate(lease, { mode: 'transaction' });
  } catch (error) {
    // the service-only lease turns stale and recovery rolls it back
    claims.logger.warn({ err: error, lease }, 'claims rollback failed; the lease is left for recovery');
  }
}

function makeWriter(claims: Claims, tx: TransactionSql, scope: TransactionScope): ClaimsWriter {
  const collector = collectorFor(claims, scope);
  const claimed = async (model: Claimable, row: Row): Promise<ClaimMetadata[]> => {
    const state = await collector.ready;
    return state ? model.claimsOf(row, (_column, attribute) => state.attributeEnabled(attribute)) : [];
  };

  async function releaseAssociations(model: Claimable, row: Row): Promise<void> {
    for (const association of model.associations) {
      const child = association.model();
      const rows = await tx<Row[]>`
        select * from ${tx(child.table)} where ${tx(association.foreignKey)} = ${param(row[model.primaryKey]) as string} for update`;
      for (const r of rows) {
        await releaseAssociations(child, r);
        for (const claim of await claimed(child, r)) add(collector, 'destroy', child, claim);
      }
    }
  }

  return {
    tx,
    async insert(model, values) {
      const row = exactlyOne(await tx<Row[]>`insert into ${tx(model.table)} ${tx(params(values))} returning *`, model.table);
      for (const claim of await claimed(model, row)) add(collector, 'create', model, claim);
      return row;
    },
    async update(model, id, values) {
      const before = exactlyOne(
        await tx<Row[]>`select * from ${tx(model.table)} where ${tx(model.primaryKey)} = ${param(id) as string} for update`,
        model.table,
      );
      const after = exactlyOne(
        await tx<Row[]>`update ${tx(model.table)} set ${tx(params(values))} where ${tx(model.primaryKey)} = ${param(id) as string} returning *`,
        model.table,
      );
      const old = new Map((await claimed(model, before)).map((c) => [keyString(c.bucket), c]));
      const now = new Map((await claimed(model, after)).map((c) => [keyString(c.bucket), c]));
      for (const [key, claim] of old) if (!now.has(key)) add(collector, 'destroy', model, claim);
      for (const [key, claim] of now) if (!old.has(key)) add(collector, 'create', model, claim);
      return after;
    },
    async delete(model, id) {
      const rows = await tx<Row[]>`select * from ${tx(model.table)} where ${tx(model.primaryKey)} = ${param(id) as string} for update`;
      const row = rows[0];
      if (!row) return undefined;
      await releaseAssociations(model, row);
      for (const claim of await claimed(model, row)) add(collector, 'destroy', model, claim);
      await tx`delete from ${tx(model.table)} where ${tx(model.primaryKey)} = ${param(id) as string}`;
      return row;
    },
    async insertMany(model, rows) {
      if (rows.length === 0) return [];
      const inserted = await tx<Row[]>`insert into ${tx(model.table)} ${tx(rows.map(params))} returning *`;
      if (await collector.ready) {
        const ids = inserted.map((r) => String(r[model.primaryKey]));
        for (let i = 0; i < ids.length; i += BULK_CLAIMS_BATCH_SIZE) {
          collector.bulk.push({ model: model.name, createIds: ids.slice(i, i + BULK_CLAIMS_BATCH_SIZE) });
        }
      }
      return inserted;
    },
    async deleteMany(model, ids) {
      if (ids.length === 0) return 0;
      const deleted = await tx<Row[]>`delete from ${tx(model.table)} where ${tx(model.primaryKey)} in ${tx(ids.map((id) => param(id) as string))} returning *`;
      if (await collector.ready) {
        for (let i = 0; i < deleted.length; i += BULK_CLAIMS_BATCH_SIZE) {
          const destroys: ClaimKey[] = [];
          for (const row of deleted.slice(i, i + BULK_CLAIMS_BATCH_SIZE)) for (const c of await claimed(model, row)) destroys.push(c.bucket);
          if (destroys.length > 0) collector.bulk.push({ model: model.name, destroys });
        }
      }
      return deleted.length;
    },
  };
}

/**
 * Runs `fn` in a transaction (or joins one `withTransaction` opened) with a writer whose writes
 * claim their values. With claims off (flag `cells_unique_claims`, or no Topology Service
 * credential) the writer only writes: no call is made.
 */
export async function withClaims<T>(claims: Claims, db: Db, fn: (writer: ClaimsWriter) => Promise<T>): Promise<T> {
  const existing = transactionScope(db);
  if (existing) return fn(makeWriter(claims, existing.tx, existing));
  return withTransaction(db, (tx, scope) => fn(makeWriter(claims, tx, scope)));
}
