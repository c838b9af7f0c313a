import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeMigrations, createSql, migrationTemplate, type Sql } from '@meridian/db';
import { createFilesystemStorage } from '@meridian/storage';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { cellModelMigrations, createOrganization, createPackage, createPackageFile, createProject, upsertHelmMetadataCache } from '../src';

describe('cell model writers', () => {
  let db: TestDatabase;
  let sql: Sql;
  const root = mkdtempSync(path.join(os.tmpdir(), 'meridian-cells-'));
  const storage = createFilesystemStorage(root);
  beforeAll(async () => {
    db = await createTestDatabase('mcells', { template: migrationTemplate(composeMigrations('main', cellModelMigrations)) });
    sql = createSql(db.url, { max: 2 });
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('stores the blob, then the row that points to it, with size and SHA-256', async () => {
    const org = await createOrganization(sql, 'acme');
    const pkg = await createPackage(sql, await createProject(sql, org, 'web'), 'lib');
    const id = await createPackageFile(sql, storage, pkg, '../../evil name.tgz', 'hello');
    const [row] = await sql<{ file_path: string; size: bigint; file_sha256: string }[]>`select file_path, size, file_sha256 from packages_package_files where id = ${id.toString()}`;
    expect(row!.file_path).toMatch(/^packages\/\d+\/files\/[0-9a-f-]{36}\/_.*evil_name\.tgz$/);
    expect(readFileSync(path.join(root, row!.file_path), 'utf8')).toBe('hello');
    expect(row!.size).toBe(5n);
    expect(row!.file_sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  });

  it('rewrites a Helm metadata cache in place (same row, same path, new bytes)', async () => {
    const org = await createOrganization(sql, 'helm-org');
    const project = await createProject(sql, org, 'charts');
    const first = await upsertHelmMetadataCache(sql, storage, project, 'stable', 'v1');
    const second = await upsertHelmMetadataCache(sql, storage, project, 'stable', 'v2');
    expect(second).toBe(first);
    const [row] = await sql<{ file_path: string }[]>`select file_path from packages_helm_metadata_caches where id = ${first.toString()}`;
    expect(readFileSync(path.join(root, row!.file_path), 'utf8')).toBe('v2');
  });
});
