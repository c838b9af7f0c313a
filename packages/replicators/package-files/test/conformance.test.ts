import { cellModelMigrations, createOrganization, createPackage, createProject } from '@meridian/cell-models';
import { describeReplicatorConformance } from '@meridian/geo/conformance';
import { packageFileReplicator } from '../src';

describeReplicatorConformance(packageFileReplicator, {
  modelMigrations: cellModelMigrations,
  async insertRow(sql) {
    const organizationId = await createOrganization(sql, `org-${Date.now()}`);
    const packageId = await createPackage(sql, await createProject(sql, organizationId, 'p'), 'pkg');
    const [row] = await sql<{ id: bigint }[]>`
      insert into packages_package_files (package_id, file_name, file_path, size) values (${packageId.toString()}, 'a.tgz', 'packages/x/a.tgz', 1) returning id`;
    return { id: row!.id, organizationId };
  },
});
