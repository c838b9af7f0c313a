import { cellModelMigrations, createOrganization, createProject } from '@meridian/cell-models';
import { describeReplicatorConformance } from '@meridian/geo/conformance';
import { helmMetadataCacheReplicator } from '../src';

describeReplicatorConformance(helmMetadataCacheReplicator, {
  modelMigrations: cellModelMigrations,
  async insertRow(sql) {
    const organizationId = await createOrganization(sql, `org-${Date.now()}`);
    const projectId = await createProject(sql, organizationId, 'p');
    const [row] = await sql<{ id: bigint }[]>`
      insert into packages_helm_metadata_caches (project_id, channel, file_path, size, file_sha256)
      values (${projectId.toString()}, 'stable', 'helm/x/stable/index.yaml', 1, 'aa') returning id`;
    return { id: row!.id, organizationId };
  },
  async updateRow(sql, id) {
    await sql`update packages_helm_metadata_caches set file_sha256 = 'bb', updated_at = now() where id = ${id.toString()}`;
  },
});
