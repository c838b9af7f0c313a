import { defineReplicator } from '@meridian/geo';

/** Package files: immutable blobs, owned by a package, scoped to the package's organization. */
export const packageFileReplicator = defineReplicator({
  name: 'package_file',
  plural: 'package_files',
  titles: { singular: 'Package File', plural: 'Package Files' },
  table: 'packages_package_files',
  blobPathColumn: 'file_path',
  checksumColumn: 'file_sha256',
  mutable: false,
  organizationIdSql: (alias) =>
    `(select p.organization_id from packages_packages pk join projects p on p.id = pk.project_id where pk.id = ${alias}.package_id)`,
});
