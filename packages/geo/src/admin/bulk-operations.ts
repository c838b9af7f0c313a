import type { Db, Sql, TransactionSql } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { AdminInputError, AdminNotFoundError } from './admin-errors';
import { actionNeededSql, actionSetSql, type RegistryAction } from './registry-actions';
import { filterSql, normalizeFilter, type RegistryFilter } from './registry-filter';

export const BULK_ACTIONS = ['resync_all', 'reverify_all'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
export type BulkOperationStateName = 'running' | 'succeeded' | 'failed';

/** registry ids walked per batch (one transaction each, cursor included) */
export const DEFAULT_BULK_BATCH_SIZE = 1_000;

export interface BulkOperation {
  id: bigint;
  replicable: string;
  action: BulkAction;
  filter: RegistryFilter;
  state: BulkOperationStateName;
  minId: bigint;
  maxId: bigint;
  cursor: bigint;
  examined: bigint;
  updated: bigint;
  /** share of the id range walked, 0..100 */
  progressPercent: number;
  failure: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

interface StoredFilter {
  ids?: string[];
  replicationState?: RegistryFilter['replicationState'];
  verificationState?: RegistryFilter['verificationState'];
  keyword?: string;
}

interface RawOperation {
  id: bigint;
  replicable_name: string;
  action: BulkAction;
  filter: StoredFilter;
  state: BulkOperationStateName;
  min_id: bigint;
  max_id: bigint;
  cursor_id: bigint;
  examined: bigint;
  updated: bigint;
  failure: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const singleAction = (action: BulkAction): RegistryAction => (action === 'resync_all' ? 'resync' : 'reverify');

export function parseBulkAction(value: string): BulkAction {
  if (!(BULK_ACTIONS as readonly string[]).includes(value)) throw new AdminInputError(`action: must be one of ${BULK_ACTIONS.join(', ')}`);
  return value as BulkAction;
}

function storedFilter(filter: RegistryFilter): StoredFilter {
  return {
    ...(filter.ids ? { ids: filter.ids.map(String) } : {}),
    ...(filter.replicationState !== undefined ? { replicationState: filter.replicationState } : {}),
    ...(filter.verificationState !== undefined ? { verificationState: filter.verificationState } : {}),
    ...(filter.keyword !== undefined ? { keyword: filter.keyword } : {}),
  };
}

function toOperation(r: RawOperation): BulkOperation {
  const minId = BigInt(r.min_id);
  const maxId = BigInt(r.max_id);
  const cursor = BigInt(r.cursor_id);
  const span = maxId - minId + 1n;
  const walked = cursor - minId + 1n;
  const progressPercent = r.state !== 'running' || span <= 0n ? 100 : Math.min(100, Math.max(0, Number((walked * 10_000n) / span) / 100));
  return {
    id: BigInt(r.id),
    replicable: r.replicable_name,
    action: r.action,
    filter: normalizeFilter({ ...r.filter, ids: r.filter.ids?.map((id) => BigInt(id)) }),
    state: r.state,
    minId,
    maxId,
    cursor,
    examined: BigInt(r.examined),
    updated: BigInt(r.updated),
    progressPercent,
    failure: r.failure,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

/**
 * Records a bulk action over the type's registries that exist now (ids up to today's highest;
 * rows created later start pending anyway). An empty range is finished at once.
 */
export async function createBulkOperation(db: Db, definition: ReplicatorDefinition, action: BulkAction, filter: RegistryFilter = {}): Promise<BulkOperation> {
  const normalized = normalizeFilter(filter);
  const table = derive(definition).registryTable;
  // min/max over the primary key only (an index lookup each), whatever the table's size
  const idsOnly = normalized.ids ? db`where id = any(${normalized.ids.map(String)}::bigint[])` : db``;
  const [row] = await db<RawOperation[]>`
    with bounds as (select min(id) as lo, max(id) as hi from ${db(table)} ${idsOnly})
    insert into geo_registry_bulk_operations (replicable_name, action, filter, state, min_id, max_id, cursor_id, finished_at)
    select ${definition.name}, ${action}, ${db.json(storedFilter(normalized) as never)},
           case when hi is null then 'succeeded' else 'running' end,
           coalesce(lo, 0), coalesce(hi, 0), coalesce(lo - 1, 0),
           case when hi is null then now() end
    from bounds
    returning *`;
  if (!row) throw new Error('bulk operation insert returned no row');
  return toOperation(row);
}

export async function getBulkOperation(db: Db, id: bigint): Promise<BulkOperation> {
  if (id <= 0n) throw new AdminInputError(`id: ${id} is not a positive bulk operation id`);
  const [row] = await db<RawOperation[]>`select * from geo_registry_bulk_operations where id = ${id.toString()}`;
  if (!row) throw new AdminNotFoundError(`no bulk operation with id ${id}`);
  return toOperation(row);
}

/** The oldest operation still running, if any. */
export async function nextRunningOperation(db: Db): Promise<BulkOperation | undefined> {
  const [row] = await db<RawOperation[]>`select * from geo_registry_bulk_operations where state = 'running' order by id limit 1`;
  return row ? toOperation(row) : undefined;
}

export async function failBulkOperation(db: Db, id: bigint, message: string): Promise<void> {
  await db`
    update geo_registry_bulk_operations set state = 'failed', failure = ${message.slice(0, 255)}, updated_at = now(), finished_at = now()
    where id = ${id.toString()} and state = 'running'`;
}

/**
 * One batch of an operation in one transaction: lock the operation row (concurrent runners
 * queue here and then see the advanced cursor), take the next `batchSize` registry ids after the
 * cursor, apply the action to those matching the filter, advance the cursor. Returns the
 * operation as committed. Safe to repeat at any point: a batch either committed with its cursor
 * or not at all.
 */
export async function runBulkBatch(sql: Sql, definition: ReplicatorDefinition, operationId: bigint, batchSize: number = DEFAULT_BULK_BATCH_SIZE): Promise<BulkOperation> {
  const d = derive(definition);
  return sql.begin(async (tx: TransactionSql) => {
    const [locked] = await tx<RawOperation[]>`select * from geo_registry_bulk_operations where id = ${operationId.toString()} for update`;
    if (!locked) throw new AdminNotFoundError(`no bulk operation with id ${operationId}`);
    const operation = toOperation(locked);
    if (operation.state !== 'running') return operation;
    const action = singleAction(operation.action);
    const cursor = operation.cursor.toString();
    const max = operation.maxId.toString();
    const [result] = await tx<{ hi: bigint | null; n: bigint; changed: bigint }[]>`
      with win as (
        select id from ${tx(d.registryTable)} where id > ${cursor} and id <= ${max} order by id limit ${batchSize}
      ), bounds as (
        select max(id) as hi, count(*) as n from win
      ), changed as (
        update ${tx(d.registryTable)} set ${actionSetSql(tx, action)}
        where id > ${cursor} and id <= (select hi from bounds)
          ${filterSql(tx, d.modelIdColumn, operation.filter)} ${actionNeededSql(tx, action)}
        returning 1
      )
      select (select hi from bounds) as hi, (select n from bounds) as n, (select count(*) from changed) as changed`;
    const hi = result?.hi === null || result?.hi === undefined ? operation.maxId : BigInt(result.hi);
    const examined = BigInt(result?.n ?? 0);
    const finished = examined < BigInt(batchSize) || hi >= operation.maxId;
    const [row] = await tx<RawOperation[]>`
      update geo_registry_bulk_operations
      set cursor_id = ${hi.toString()}, examined = examined + ${examined.toString()}, updated = updated + ${String(result?.changed ?? 0)},
          updated_at = now(), state = ${finished ? 'succeeded' : 'running'}, finished_at = ${finished ? tx`now()` : tx`null`}
      where id = ${operationId.toString()}
      returning *`;
    if (!row) throw new Error('bulk operation row vanished under its lock');
    return toOperation(row);
  });
}
