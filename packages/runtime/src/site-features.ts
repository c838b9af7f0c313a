import { cellModelMigrations } from '@meridian/cell-models';
import { migrationSet, type DatabaseKind, type MigrationSet } from '@meridian/db';
import { assertDistinct, geoMainMigrations, geoTrackingMigrations, type ReplicatorDefinition } from '@meridian/geo';
import { helmMetadataCacheReplicator } from '@meridian/replicator-helm-metadata-caches';
import { packageFileReplicator } from '@meridian/replicator-package-files';

// Adding a blob type: a package under packages/replicators/ and one line here.
const replicators: readonly ReplicatorDefinition[] = [packageFileReplicator, helmMetadataCacheReplicator];
assertDistinct(replicators);

export function siteReplicators(): readonly ReplicatorDefinition[] {
  return replicators;
}

/** Every database's migrations: core steps, the reference cell schema, then geo. */
export function siteMigrationSet(kind: DatabaseKind): MigrationSet {
  switch (kind) {
    case 'main':
      return migrationSet('main', [cellModelMigrations, geoMainMigrations(replicators)]);
    case 'geo_tracking':
      return migrationSet('geo_tracking', [geoTrackingMigrations(replicators)]);
    case 'topology':
      return migrationSet('topology');
  }
}
