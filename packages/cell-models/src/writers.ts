import { randomUUID } from 'node:crypto';
import { exactlyOne, withTransaction, type Db } from '@meridian/db';
import type { BlobStorage } from '@meridian/storage';

// Application-side writers for the reference schema. A blob is written (atomically) before the
// row that points to it commits, so a committed row never points to a missing file; a crash in
// between leaves an unreferenced file, never a dangling row.

export async function createOrganization(sql: Db, path: string): Promise<bigint> {
  return exactlyOne(await sql<{ id: bigint }[]>`insert into organizations (name, path) values (${path}, ${path}) returning id`, 'organization').id;
}

/** An organization's top namespace and one project in it. */
export async function createProject(sql: Db, organizationId: bigint, path: string): Promise<bigint> {
  return withTransaction(sql, async (tx) => {
    const ns = exactlyOne(
      await tx<{ id: bigint }[]>`
        insert into namespaces (organization_id, name, path) values (${organizationId.toString()}, ${path}, ${path}) returning id`,
      'namespace',
    );
    const project = exactlyOne(
      await tx<{ id: bigint }[]>`
        insert into projects (organization_id, namespace_id, name, path)
        values (${organizationId.toString()}, ${ns.id.toString()}, ${path}, ${path}) returning id`,
      'project',
    );
    return project.id;
  });
}

export async function createPackage(sql: Db, projectId: bigint, name: string, version = '1.0.0'): Promise<bigint> {
  const rows = await sql<{ id: bigint }[]>`
    insert into packages_packages (project_id, name, version) values (${projectId.toString()}, ${name}, ${version}) returning id`;
  return exactlyOne(rows, 'package').id;
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 100) || 'file';
}

export async function createPackageFile(
  sql: Db,
  storage: BlobStorage,
  packageId: bigint,
  fileName: string,
  content: Uint8Array | string,
): Promise<bigint> {
  const filePath = `packages/${packageId}/files/${randomUUID()}/${safeFileName(fileName)}`;
  const { size, sha256 } = await storage.write(filePath, content);
  const rows = await sql<{ id: bigint }[]>`
    insert into packages_package_files (package_id, file_name, file_path, size, file_sha256)
    values (${packageId.toString()}, ${fileName}, ${filePath}, ${size}, ${sha256}) returning id`;
  return exactlyOne(rows, 'package file').id;
}

/**
 * Helm index for a project channel. Mutable: the cache is rewritten in place (same path, new
 * bytes), which the update trigger turns into an `updated` event.
 */
export async function upsertHelmMetadataCache(
  sql: Db,
  storage: BlobStorage,
  projectId: bigint,
  channel: string,
  content: Uint8Array | string,
): Promise<bigint> {
  const filePath = `helm/${projectId}/${safeFileName(channel)}/index.yaml`;
  const { size, sha256 } = await storage.write(filePath, content);
  const rows = await sql<{ id: bigint }[]>`
    insert into packages_helm_metadata_caches (project_id, channel, file_path, size, file_sha256)
    values (${projectId.toString()}, ${channel}, ${filePath}, ${size}, ${sha256})
    on conflict (project_id, channel) do update
      set size = excluded.size, file_sha256 = excluded.file_sha256, updated_at = now()
    returning id`;
  return exactlyOne(rows, 'Helm metadata cache').id;
}
