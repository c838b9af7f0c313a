import { createHash } from 'node:crypto';

export type DatabaseKind = 'main' | 'geo_tracking' | 'topology';

/** One numbered SQL step. Names sort in apply order within their source (`0001_…`, `0002_…`). */
export interface Migration {
  name: string;
  sql: string;
}

/**
 * The full, ordered migration list of one database. Packages contribute their own steps under a
 * namespace (`geo/0001_events`), so adding a replicator or a claimable model never edits this package.
 */
export interface MigrationSet {
  database: DatabaseKind;
  migrations: readonly Migration[];
}

export function checksumOf(migration: Migration): string {
  return createHash('sha256').update(migration.sql).digest('hex');
}

/** Core steps first, then each contribution in the order given; names must be unique. */
export function composeMigrations(
  database: DatabaseKind,
  ...sources: ReadonlyArray<readonly Migration[]>
): MigrationSet {
  const migrations = sources.flat();
  const seen = new Set<string>();
  for (const m of migrations) {
    if (!/^([a-z0-9_-]+\/)*\d{4}_[a-z0-9_]+$/.test(m.name)) {
      throw new Error(`migration name "${m.name}" must look like 0001_name or package/0001_name (nested namespaces allowed)`);
    }
    if (seen.has(m.name)) throw new Error(`duplicate migration "${m.name}" for ${database}`);
    seen.add(m.name);
  }
  return { database, migrations };
}
