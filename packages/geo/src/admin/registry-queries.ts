import type { Db } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { AdminInputError, AdminNotFoundError } from './admin-errors';
import { decodePageToken, encodePageToken, queryDigest, type PagePosition } from './page-token';
import { filterSql, normalizeFilter, type RegistryFilter } from './registry-filter';

export const REGISTRY_SORTS = ['id', 'verified_at', 'last_synced_at'] as const;
export type RegistrySort = (typeof REGISTRY_SORTS)[number];
export type SortDirection = 'asc' | 'desc';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** One registry as the admin API shows it. */
export interface AdminRegistryRow {
  id: bigint;
  modelId: bigint;
  state: number;
  retryCount: number;
  retryAt: Date | null;
  lastSyncedAt: Date | null;
  lastSyncFailure: string | null;
  missingOnPrimary: boolean;
  verificationState: number;
  verificationRetryCount: number;
  verificationRetryAt: Date | null;
  verifiedAt: Date | null;
  verificationFailure: string | null;
  checksumMismatch: boolean;
  blobPath: string | null;
  createdAt: Date;
}

export interface ListRegistriesQuery {
  filter?: RegistryFilter | undefined;
  sort?: RegistrySort | undefined;
  direction?: SortDirection | undefined;
  /** 1..100; 0 or undefined = 20 */
  pageSize?: number | undefined;
  pageToken?: string | undefined;
}

export interface RegistryPage {
  registries: AdminRegistryRow[];
  /** undefined on the last page */
  nextPageToken: string | undefined;
}

interface RawRow {
  id: bigint;
  model_id: bigint;
  state: number;
  retry_count: number;
  retry_at: Date | null;
  last_synced_at: Date | null;
  last_sync_failure: string | null;
  missing_on_primary: boolean;
  verification_state: number;
  verification_retry_count: number;
  verification_retry_at: Date | null;
  verified_at: Date | null;
  verification_failure: string | null;
  checksum_mismatch: boolean;
  blob_path: string | null;
  created_at: Date;
  sort_key: string | null;
}

/** The replicator named `name` among the site's, or NOT_FOUND naming the known ones. */
export function findReplicator(replicators: readonly ReplicatorDefinition[], name: string): ReplicatorDefinition {
  if (!name) throw new AdminInputError('replicable: required (one of ' + replicators.map((r) => r.name).join(', ') + ')');
  const found = replicators.find((r) => r.name === name);
  if (!found) throw new AdminNotFoundError(`unknown replicable "${name}" (this site replicates ${replicators.map((r) => r.name).join(', ') || 'nothing'})`);
  return found;
}

export function registryColumns(db: Db, definition: ReplicatorDefinition) {
  const fk = derive(definition).modelIdColumn;
  return db`id, ${db(fk)} as model_id, state, retry_count, retry_at, last_synced_at, last_sync_failure, missing_on_primary,
    verification_state, verification_retry_count, verification_retry_at, verified_at, verification_failure, checksum_mismatch,
    blob_path, created_at`;
}

export function toAdminRow(r: Omit<RawRow, 'sort_key'>): AdminRegistryRow {
  return {
    id: BigInt(r.id),
    modelId: BigInt(r.model_id),
    state: r.state,
    retryCount: r.retry_count,
    retryAt: r.retry_at,
    lastSyncedAt: r.last_synced_at,
    lastSyncFailure: r.last_sync_failure,
    missingOnPrimary: r.missing_on_primary,
    verificationState: r.verification_state,
    verificationRetryCount: r.verification_retry_count,
    verificationRetryAt: r.verification_retry_at,
    verifiedAt: r.verified_at,
    verificationFailure: r.verification_failure,
    checksumMismatch: r.checksum_mismatch,
    blobPath: r.blob_path,
    createdAt: r.created_at,
  };
}

function pageSizeOf(value: number | undefined): number {
  if (value === undefined || value === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) throw new AdminInputError(`page_size: must be 1..${MAX_PAGE_SIZE} (0 = ${DEFAULT_PAGE_SIZE}), got ${value}`);
  return value;
}

/**
 * Keyset condition "after the last row" for `order by <column> <direction> nulls last, id <direction>`.
 * Rows with a NULL sort value come last in both directions, ordered by id.
 */
function afterSql(db: Db, sort: RegistrySort, direction: SortDirection, position: PagePosition | undefined) {
  if (!position) return db``;
  const id = position.id.toString();
  const after = direction === 'asc' ? db`id > ${id}` : db`id < ${id}`;
  if (sort === 'id') return db`and ${after}`;
  const column = db(sort);
  if (position.key === null || position.key === undefined) return db`and ${column} is null and ${after}`;
  // ::text first: a parameter PostgreSQL types as timestamptz is serialized by postgres.js through a
  // JS Date, which would cut the key to milliseconds and repeat or skip rows at page boundaries
  const key = db`${position.key}::text::timestamptz`;
  const beyond = direction === 'asc' ? db`${column} > ${key}` : db`${column} < ${key}`;
  return db`and (${beyond} or (${column} = ${key} and ${after}) or ${column} is null)`;
}

function orderSql(db: Db, sort: RegistrySort, direction: SortDirection) {
  const dir = direction === 'asc' ? db`asc` : db`desc`;
  if (sort === 'id') return db`order by id ${dir}`;
  return db`order by ${db(sort)} ${dir} nulls last, id ${dir}`;
}

/** One page of a type's registries, filtered and sorted, with a keyset token for the next page. */
export async function listRegistries(db: Db, definition: ReplicatorDefinition, query: ListRegistriesQuery): Promise<RegistryPage> {
  const sort = query.sort ?? 'id';
  if (!REGISTRY_SORTS.includes(sort)) throw new AdminInputError(`sort: must be one of ${REGISTRY_SORTS.join(', ')}`);
  const direction = query.direction ?? 'asc';
  if (direction !== 'asc' && direction !== 'desc') throw new AdminInputError('direction: must be asc or desc');
  const pageSize = pageSizeOf(query.pageSize);
  const filter = normalizeFilter(query.filter);
  // the page size is not part of the query: a client may change it between pages
  const digest = queryDigest({ replicable: definition.name, filter, sort, direction });
  const position = query.pageToken ? decodePageToken(query.pageToken, digest) : undefined;
  if (position && sort !== 'id' && position.key === undefined) throw new AdminInputError('page_token: not a token this service issued');
  const d = derive(definition);
  const sortKey = sort === 'id' ? db`null::text` : db`${db(sort)}::text`;
  const rows = await db<RawRow[]>`
    select ${registryColumns(db, definition)}, ${sortKey} as sort_key
    from ${db(d.registryTable)}
    where true ${filterSql(db, d.modelIdColumn, filter)} ${afterSql(db, sort, direction, position)}
    ${orderSql(db, sort, direction)}
    limit ${pageSize + 1}`;
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1];
  const nextPageToken =
    rows.length > pageSize && last ? encodePageToken(digest, sort === 'id' ? { id: BigInt(last.id) } : { id: BigInt(last.id), key: last.sort_key }) : undefined;
  return { registries: page.map(toAdminRow), nextPageToken };
}

/** One registry by id, or NOT_FOUND. */
export async function getRegistry(db: Db, definition: ReplicatorDefinition, id: bigint): Promise<AdminRegistryRow> {
  const [row] = await db<RawRow[]>`
    select ${registryColumns(db, definition)} from ${db(derive(definition).registryTable)} where id = ${id.toString()}`;
  if (!row) throw new AdminNotFoundError(`no ${definition.name} registry with id ${id}`);
  return toAdminRow(row);
}
