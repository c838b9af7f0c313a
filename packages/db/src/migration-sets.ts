import { composeMigrations, type DatabaseKind, type Migration, type MigrationSet } from './migration';
import { geoTrackingMigrations } from './migrations/geo-tracking';
import { mainMigrations } from './migrations/main';

const core: Record<DatabaseKind, readonly Migration[]> = {
  main: mainMigrations,
  geo_tracking: geoTrackingMigrations,
  // the Topology Service's schema is contributed by @meridian/claims (topologyMigrations)
  topology: [],
};

/** The migration set of a database: core steps, then what packages contribute. */
export function migrationSet(
  database: DatabaseKind,
  contributions: ReadonlyArray<readonly Migration[]> = [],
): MigrationSet {
  return composeMigrations(database, core[database], ...contributions);
}
