import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@meridian/config';
import { exactlyOne, migrationTemplate } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { openSiteResources, siteMigrationSet, type SiteResources } from '@meridian/runtime';
import { closeServer, createTestDatabase, createTestPrefix, listenLocal, testRedisUrl, type TestDatabase } from '@meridian/testing';
import { createSiteApi } from '../src';

// POST /api/v1/geo/double-check on a target (secondary) site, as SRE tooling calls it.

const ADMIN = 'admin-token-for-tests-0001';
const VIEWER = 'viewer-token-for-tests-001';

describe('POST /api/v1/geo/double-check', () => {
  let main: TestDatabase;
  let tracking: TestDatabase;
  let site: SiteResources;
  let server: Server;
  let url: string;
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-double-check-api-'));
  const { prefix, cleanup } = createTestPrefix();
  let missing: string;

  beforeAll(async () => {
    main = await createTestDatabase('mdcapi', { template: migrationTemplate(siteMigrationSet('main')) });
    tracking = await createTestDatabase('mdcapit', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    const config = loadConfig({
      STORAGE_ROOT: storageRoot,
      DATABASE_URL: main.url,
      GEO_TRACKING_DATABASE_URL: tracking.url,
      SITE_ROLE: 'secondary',
      SITE_NAME: 'target',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
    });
    site = await openSiteResources(config, createLogger({ name: 'test', level: 'silent' }), { redisRole: 'producer', poolSize: 2 });
    const sql = site.mainSql;
    const id = (rows: ReadonlyArray<{ id: bigint }>) => exactlyOne(rows).id.toString();
    const org = id(await sql<{ id: bigint }[]>`insert into organizations (name, path) values ('o', 'o') returning id`);
    const ns = id(await sql<{ id: bigint }[]>`insert into namespaces (organization_id, name, path) values (${org}, 'n', 'n') returning id`);
    const project = id(await sql<{ id: bigint }[]>`insert into projects (organization_id, namespace_id, name, path) values (${org}, ${ns}, 'p', 'p') returning id`);
    const pkg = id(await sql<{ id: bigint }[]>`insert into packages_packages (project_id, name) values (${project}, 'pkg') returning id`);
    missing = id(await sql<{ id: bigint }[]>`insert into packages_package_files (package_id, file_name, file_path, size) values (${pkg}, 'f', 'p/f', 1) returning id`);
    const app = createSiteApi({ site, adminToken: ADMIN, viewerToken: VIEWER });
    ({ server } = await listenLocal(app));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/geo/double-check`;
  });
  afterAll(async () => {
    await closeServer(server);
    await site.close();
    await cleanup();
    await Promise.all([main.drop(), tracking.drop()]);
    rmSync(storageRoot, { recursive: true, force: true });
  });

  const post = (body: unknown, token: string | null = ADMIN) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('needs the admin credential', async () => {
    expect((await post({ type: 'all', since_hours: 1 }, null)).status).toBe(401);
    expect((await post({ type: 'all', since_hours: 1 }, VIEWER)).status).toBe(403);
  });

  it('returns the same report as the CLI, dry run first, then repairing', async () => {
    const dry = await post({ type: 'package_file', since_hours: 1, dry_run: true });
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ missing: 1, types: [{ type: 'package_file', dry_run: true, checked: 1, missing_ids: [missing], repaired: 0 }] });
    const real = await post({ type: 'all', since_hours: 1 });
    expect(await real.json()).toMatchObject({ missing: 1, types: [{ type: 'package_file', repaired: 1 }, { type: 'packages_helm_metadata_cache', checked: 0 }] });
    expect(await (await post({ type: 'all', since_hours: 1 })).json()).toMatchObject({ missing: 0 });
  });

  it.each([
    [{}, 400, /type is required/],
    [{ type: 'all', since_hours: 'x' }, 400, /since_hours/],
    [{ type: 'all', since_hours: 1, organization_id: 5 }, 400, /organization_id/],
    [{ type: 'all', since_hours: 1, dry_run: 'yes' }, 400, /dry_run/],
    [{ type: 'nope', since_hours: 1 }, 404, /unknown replicable/],
    [{ type: 'all' }, 422, /no completed consistency lap/],
    ['{not json', 400, /./],
  ])('%j → %d', async (body, status, message) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(JSON.stringify(await response.json())).toMatch(message);
  });
});
