import { composeMigrations, type DatabaseKind, type Migration, type MigrationSet } from './migration';
import { geoTrackingMigrations } from './migrations/geo-tracking';
import { mainMigrations } from './migrations/main';

const core: Record<DatabaseKind, readonly Migration[]> = {
  main: mainMigrations,
  geo_tracking: geoTrackingMigrations,
  // the Topology Service's schema is contributed by @meridian/claims (topologyMigrations)
  topology: [],
};

/**
 * The migration set of a database: core steps, then what packages contribute. A set with no step
 * is refused: `assertMigrated` would pass on an empty database (the topology database's steps
 * all come from @meridian/claims).
 */
export function migrationSet(
  database: DatabaseKind,
  contributions: ReadonlyArray<readonly Migration[]> = [],
): MigrationSet {
  const set = composeMigrations(database, core[database], ...contributions);
  if (set.migrations.length === 0) {
    throw new Error(`the ${database} database has no migrations here: its steps are contributed by a package (topology: topologyMigrationSet() from @meridian/claims)`);
  }
  return set;
}
