import { assertDistinct, type ReplicatorDefinition } from '@meridian/geo';
import { helmMetadataCacheReplicator } from '@meridian/replicator-helm-metadata-caches';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import type { FeatureModule } from './feature-module';
import { cellModelsModule } from './modules/cell-models-module';
import { claimsModule } from './modules/claims-module';
import { createGeoModule } from './modules/geo-module';
import { createOrgMoveModule } from './modules/org-move-module';
import { storageModule } from './modules/storage-sweep';

// The composition root: the features a site runs, in migration order. Adding a feature is a
// module file and one line here; adding a blob type is a replicator package and one line below.

const replicators: readonly ReplicatorDefinition[] = [packageFileReplicator, helmMetadataCacheReplicator];
assertDistinct(replicators);

export const geoModule = createGeoModule(replicators);

export const orgMoveModule = createOrgMoveModule(replicators);

export const siteModules: ReadonlyArray<FeatureModule<never>> = [cellModelsModule, storageModule, geoModule, claimsModule, orgMoveModule] as unknown as ReadonlyArray<FeatureModule<never>>;

export function siteReplicators(): readonly ReplicatorDefinition[] {
  return replicators;
}
