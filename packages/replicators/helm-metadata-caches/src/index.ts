import { defineReplicator } from '@meridian/geo';

/** Helm metadata caches: one index per project channel, rewritten in place (mutable). */
export const helmMetadataCacheReplicator = defineReplicator({
  name: 'packages_helm_metadata_cache',
  plural: 'packages_helm_metadata_caches',
  titles: { singular: 'Helm Metadata Cache', plural: 'Helm Metadata Caches' },
  table: 'packages_helm_metadata_caches',
  blobPathColumn: 'file_path',
  checksumColumn: 'file_sha256',
  mutable: true,
  organizationIdSql: (alias) => `(select p.organization_id from projects p where p.id = ${alias}.project_id)`,
});
