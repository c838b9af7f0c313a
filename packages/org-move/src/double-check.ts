import { exactlyOne, type Sql } from '@meridian/db';
import { derive, lastCompletedLaps, modelStore, registryStore, selectiveSyncOrganizations, type ReplicatorDefinition } from '@meridian/geo';
import { recordDoubleCheck } from './double-check-store';
import { NoCompletedLapError, OrganizationScopeError } from './errors';

export interface DoubleCheckOptions {
  /** the source's main database (on the target: the read-only view of it) */
  main: Sql;
  /** the target's tracking database (registries) */
  tracking: Sql;
  /** the types to check */
  replicators: readonly ReplicatorDefinition[];
  /** the window; omitted = since the start of each type's last completed consistency lap */
  sinceHours?: number | undefined;
  /** only rows of this organization (every type must be organization-scoped) */
  organizationId?: bigint | undefined;
  /** report only: no registry is created */
  dryRun: boolean;
  /** rows read per batch (default 5,000) */
  batchSize?: number;
  now?: Date;
  /** after each batch of each type */
  onProgress?(progress: DoubleCheckProgress): void;
}

export interface DoubleCheckProgress {
  type: string;
  /** rows of the window read so far, and how many the window holds */
  checked: number;
  total: number;
  missing: number;
}

export interface TypeDoubleCheck {
  /** the recorded result's id (org_move_double_checks) */
  id: bigint;
  type: string;
  organizationId: bigint | undefined;
  since: Date;
  until: Date;
  windowSource: 'since_hours' | 'last_lap';
  dryRun: boolean;
  /** source rows created in the window (within the organization and this site's selective sync) */
  checked: number;
  /** those without a registry on the target (registries created for them unless dry run) */
  missingIds: bigint[];
  /** registries created in the window whose source row is gone (dropped deletes): reported, never removed */
  orphanedIds: bigint[];
}

const DEFAULT_BATCH = 5_000;
const HOUR_MS = 3_600_000;

interface Window {
  since: Date;
  source: 'since_hours' | 'last_lap';
}

async function windows(options: DoubleCheckOptions, until: Date): Promise<Map<string, Window>> {
  const out = new Map<string, Window>();
  if (options.sinceHours !== undefined) {
    const since = new Date(until.getTime() - options.sinceHours * HOUR_MS);
    for (const r of options.replicators) out.set(r.name, { since, source: 'since_hours' });
    return out;
  }
  // events dropped before the last completed lap began were repaired by that lap: only rows
  // created since then can still lack a registry
  const laps = await lastCompletedLaps(options.tracking);
  const without = options.replicators.filter((r) => !laps.has(r.name)).map((r) => r.name);
  if (without.length > 0) throw new NoCompletedLapError(without);
  for (const r of options.replicators) out.set(r.name, { since: laps.get(r.name)!.startedAt, source: 'last_lap' });
  return out;
}

/** The organizations rows must belong to: the one asked for, inside this site's selective sync. */
async function scopeOf(options: DoubleCheckOptions): Promise<bigint[]> {
  const selective = await selectiveSyncOrganizations(options.tracking);
  if (options.organizationId === undefined) return selective;
  const unscoped = options.replicators.filter((r) => !r.organizationIdSql).map((r) => r.name);
  if (unscoped.length > 0) throw new OrganizationScopeError(`these types are not organization-scoped, so --organization cannot narrow them: ${unscoped.join(', ')}`);
  if (selective.length > 0 && !selective.includes(options.organizationId)) {
    throw new OrganizationScopeError(`organization ${options.organizationId} is outside this site's selective sync (${selective.join(', ')})`);
  }
  return [options.organizationId];
}

function scopeClause(sql: Sql, definition: ReplicatorDefinition, organizations: readonly bigint[]) {
  if (organizations.length === 0 || !definition.organizationIdSql) return sql``;
  return sql`and ${sql.unsafe(definition.organizationIdSql('m'))} = any(${organizations.map(String)}::bigint[])`;
}

async function checkType(options: DoubleCheckOptions, definition: ReplicatorDefinition, window: Window, until: Date, organizations: readonly bigint[]): Promise<Omit<TypeDoubleCheck, 'id'>> {
  const { main, tracking } = options;
  const batch = options.batchSize ?? DEFAULT_BATCH;
  const registry = registryStore(definition);
  const { registryTable, modelIdColumn } = derive(definition);
  const table = definition.table;
  const scope = scopeClause(main, definition, organizations);
  // the window's size (for progress), the creates and the deletes are independent reads: at once
  const total = main<{ total: bigint }[]>`
    select count(*)::bigint as total from ${main(table)} m where m.created_at >= ${window.since} and m.created_at <= ${until} ${scope}`.then((rows) => Number(exactlyOne(rows, 'window row count').total));

  // creates: one query over the window through the (created_at, id) index, read with a cursor a
  // batch at a time (one plan, one consistent snapshot, no keyset to carry between batches)
  const creates = async () => {
    const missingIds: bigint[] = [];
    let checked = 0;
    const window$ = main<{ id: bigint }[]>`
      select m.id from ${main(table)} m
      where m.created_at >= ${window.since} and m.created_at <= ${until} ${scope}
      order by m.created_at, m.id`;
    for await (const rows of window$.cursor(batch)) {
      const ids = rows.map((r) => r.id);
      const present = new Set(
        (await tracking<{ id: bigint }[]>`
          select ${tracking(modelIdColumn)} as id from ${tracking(registryTable)} where ${tracking(modelIdColumn)} = any(${ids.map(String)}::bigint[])`).map((r) => r.id),
      );
      const missing = ids.filter((id) => !present.has(id));
      // pending registries sync through the normal path; one the event cursor creates meanwhile is kept
      if (missing.length > 0 && !options.dryRun) await registry.insertPending(tracking, missing);
      missingIds.push(...missing);
      checked += rows.length;
      if (options.onProgress) options.onProgress({ type: definition.name, checked, total: Math.max(await total, checked), missing: missingIds.length });
    }
    return { missingIds, checked };
  };

  // deletes: registries created in the window whose row is gone. A deleted row's organization is
  // unknown, so these are not narrowed by organization; registries older than the window are not
  // looked at (their lap covers them)
  const deletes = async () => {
    const models = modelStore(definition);
    const orphanedIds: bigint[] = [];
    const registered = tracking<{ id: bigint }[]>`
      select ${tracking(modelIdColumn)} as id from ${tracking(registryTable)}
      where created_at >= ${window.since} and created_at <= ${until}
      order by created_at, ${tracking(modelIdColumn)}`;
    for await (const rows of registered.cursor(batch)) {
      const existing = await models.inScope(main, rows.map((r) => r.id), []);
      orphanedIds.push(...rows.map((r) => r.id).filter((id) => !existing.has(id)));
    }
    return orphanedIds;
  };

  const [{ missingIds, checked }, orphanedIds] = await Promise.all([creates(), deletes(), total]);
  return {
    type: definition.name,
    organizationId: options.organizationId,
    since: window.since,
    until,
    windowSource: window.source,
    dryRun: options.dryRun,
    checked,
    missingIds,
    orphanedIds,
  };
}

/**
 * For each type: rows the source created in the window that have no registry on this (target)
 * site get one, pending, so they sync and verify through the normal path; registries created in
 * the window whose source row is gone are reported. Reads only the window, through indexes. Each
 * type's result is recorded (org_move_double_checks) for the readiness report.
 */
export async function runDoubleCheck(options: DoubleCheckOptions): Promise<TypeDoubleCheck[]> {
  const until = options.now ?? new Date();
  const [byType, organizations] = await Promise.all([windows(options, until), scopeOf(options)]);
  const out: TypeDoubleCheck[] = [];
  for (const definition of options.replicators) {
    const startedAt = new Date();
    const result = await checkType(options, definition, byType.get(definition.name)!, until, organizations);
    out.push({ ...result, id: await recordDoubleCheck(options.tracking, result, startedAt) });
  }
  return out;
}
