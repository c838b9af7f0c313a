import type { Logger } from '@meridian/logger';
import { databaseName, type Sql } from './create-sql';
import { checksumOf, type MigrationSet } from './migration';

const TABLE = 'meridian_migrations';
// One lock id for every Meridian database: each database has its own lock space anyway.
const LOCK_ID = 727_274_001;

/** The applied history does not match the code: a migration was edited, or the code is older. */
export class MigrationHistoryError extends Error {
  override readonly name = 'MigrationHistoryError';
}

/** Apps refuse to start with this; the message names the command to run. */
export class NotMigratedError extends Error {
  override readonly name = 'NotMigratedError';
  constructor(
    readonly database: string,
    readonly pending: string[],
  ) {
    super(
      `database "${database}" has ${pending.length} pending migration(s) (${pending.slice(0, 3).join(', ')}` +
        `${pending.length > 3 ? ', …' : ''}); run \`meridian db migrate\` first`,
    );
  }
}

interface AppliedRow {
  name: string;
  checksum: string;
}

async function appliedMigrations(sql: Sql): Promise<AppliedRow[] | undefined> {
  const [exists] = await sql<{ present: boolean }[]>`select to_regclass(${TABLE}) is not null as present`;
  if (!exists?.present) return undefined;
  return sql<AppliedRow[]>`select name, checksum from meridian_migrations order by applied_at, name`;
}

function checkHistory(set: MigrationSet, applied: AppliedRow[], database: string): void {
  const known = new Map(set.migrations.map((m) => [m.name, checksumOf(m)]));
  for (const row of applied) {
    const checksum = known.get(row.name);
    if (checksum === undefined) {
      throw new MigrationHistoryError(
        `database "${database}" has migration "${row.name}" that this code does not know: ` +
          'the code is older than the database, or the history was edited',
      );
    }
    if (checksum !== row.checksum) {
      throw new MigrationHistoryError(
        `migration "${row.name}" in database "${database}" was applied with a different checksum: ` +
          'applied migrations must never be edited; add a new one instead',
      );
    }
  }
}

/** Names of migrations not applied yet; throws MigrationHistoryError on a tampered history. */
export async function pendingMigrations(sql: Sql, set: MigrationSet, label: string = set.database): Promise<string[]> {
  const applied = (await appliedMigrations(sql)) ?? [];
  checkHistory(set, applied, label);
  const done = new Set(applied.map((r) => r.name));
  return set.migrations.filter((m) => !done.has(m.name)).map((m) => m.name);
}

/** Start-up guard: throws NotMigratedError naming `meridian db migrate` when anything is pending. */
export async function assertMigrated(sql: Sql, set: MigrationSet, url?: string): Promise<void> {
  const label = url ? databaseName(url) : set.database;
  const pending = await pendingMigrations(sql, set, label);
  if (pending.length > 0) throw new NotMigratedError(label, pending);
}

/**
 * Applies pending migrations, each in its own transaction. Every transaction takes the same
 * advisory lock and re-reads the history under it, so any number of pods starting together apply
 * each migration exactly once and the losers simply find it done.
 */
export async function migrate(
  sql: Sql,
  set: MigrationSet,
  options: { logger?: Logger; label?: string } = {},
): Promise<{ applied: string[] }> {
  const label = options.label ?? set.database;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
    await tx.unsafe(`create table if not exists ${TABLE} (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default clock_timestamp()
    )`);
  });
  checkHistory(set, (await appliedMigrations(sql)) ?? [], label);

  const applied: string[] = [];
  for (const migration of set.migrations) {
    const checksum = checksumOf(migration);
    const didApply = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_ID})`;
      const [row] = await tx<AppliedRow[]>`select name, checksum from meridian_migrations where name = ${migration.name}`;
      if (row) {
        if (row.checksum !== checksum) {
          throw new MigrationHistoryError(`migration "${migration.name}" in "${label}" changed after it was applied`);
        }
        return false;
      }
      await tx.unsafe(migration.sql);
      await tx`insert into meridian_migrations (name, checksum) values (${migration.name}, ${checksum})`;
      return true;
    });
    if (didApply) {
      applied.push(migration.name);
      options.logger?.info({ database: label, migration: migration.name }, 'migration applied');
    }
  }
  return { applied };
}
