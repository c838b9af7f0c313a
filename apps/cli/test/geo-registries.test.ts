import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { registryAdminProcessors, secondaryContext } from '@meridian/geo';
import { createLogger } from '@meridian/logger';
import { createRedisConnection, startWorkerPool, type WorkerPool } from '@meridian/queue';
import { openSiteResources, siteMigrationSet, type SiteResources } from '@meridian/runtime';
import { createTestDatabase, createTestPrefix, spawnTs, testRedisUrl, waitFor, type SpawnedTs, type TestDatabase } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { runCli, EXIT_FAILURE, EXIT_USAGE } from '../src';
import { captureIo } from './capture-io';

// `meridian geo registries` end to end: the CLI (in process) against a running site-api process
// of a secondary (spawned from apps/site-api/src/main.ts) over real HTTP, PostgreSQL and Redis;
// bulk operations are executed by a worker pool in this process.

const ADMIN = 'cli-admin-token-0123456789';
const VIEWER = 'cli-viewer-token-012345678';
const ROWS = 150;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('meridian geo registries', () => {
  let main: TestDatabase;
  let tracking: TestDatabase;
  let siteApi: SpawnedTs;
  let site: SiteResources;
  let workerRedis: Redis;
  let pool: WorkerPool;
  let env: Record<string, string>;
  const { prefix, cleanup } = createTestPrefix('mgreg');
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-cli-registries-'));

  const cli = async (argv: string[], extra: Record<string, string> = {}) => {
    const io = captureIo({ ...env, ...extra });
    const code = await runCli(['geo', 'registries', ...argv], io);
    return { code, out: io.stdout(), err: io.stderr() };
  };

  beforeAll(async () => {
    main = await createTestDatabase('mgreg', { template: migrationTemplate(siteMigrationSet('main')) });
    tracking = await createTestDatabase('mgregt', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    const port = await freePort();
    const siteEnv = {
      SITE_ROLE: 'secondary',
      SITE_NAME: 'secondary',
      DATABASE_URL: main.url,
      GEO_TRACKING_DATABASE_URL: tracking.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      STORAGE_ROOT: storageRoot,
      ADMIN_TOKEN: ADMIN,
      VIEWER_TOKEN: VIEWER,
      GEO_SHARED_SECRET: 'cli-registries-shared-secret-0123456789',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };
    siteApi = spawnTs('apps/site-api/src/main.ts', siteEnv);
    // the CLI needs only these (plus the token): no database variables at all
    env = { SITE_API_URL: `http://127.0.0.1:${port}`, SITE_API_TOKEN: ADMIN, CLI_TIMEOUT_MS: '20000' };
    site = await openSiteResources(loadConfig(siteEnv), createLogger({ name: 'cli-registries-test', level: 'silent' }), { redisRole: 'producer', poolSize: 2 });
    await site.trackingSql!`
      insert into package_file_registry (package_file_id, state, retry_at, last_synced_at, blob_path, verification_state, verified_at)
      select g * 10, case when g % 3 = 0 then 3 else 2 end, case when g % 3 = 0 then now() + interval '1 hour' end,
             timestamptz '2026-03-01 00:00:00+00' + (g % 9) * interval '1 minute', 'blobs/' || g, 2, now()
      from generate_series(1, ${ROWS}::int) g`;
    workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
    pool = await startWorkerPool({ registrations: registryAdminProcessors(secondaryContext(site.geo), { batchSize: 20 }), connection: workerRedis, queues: site.queues, logger: createLogger({ name: 'w', level: 'silent' }) });
    await waitFor(async () => (await fetch(`${env.SITE_API_URL}/healthz`).catch(() => undefined))?.ok, { timeoutMs: 60_000, message: `site-api up (${siteApi.output()})` });
  }, 120_000);

  afterAll(async () => {
    await pool?.close(10_000);
    workerRedis?.disconnect();
    siteApi?.child.kill('SIGTERM');
    await siteApi?.exited;
    await site?.close();
    await cleanup();
    await Promise.all([main?.drop(), tracking?.drop()]);
    rmSync(storageRoot, { recursive: true, force: true });
  });

  it('lists with filters and sorting as JSON, in the order SQL gives', async () => {
    const { code, out } = await cli(['list', 'package_file', '--state', 'failed', '--sort', 'last_synced_at', '--desc', '--limit', '8', '--json']);
    expect(code).toBe(0);
    const rows = JSON.parse(out) as Array<{ id: number; state: string; verification_state: string; blob_path: string }>;
    const expected = await site.trackingSql!<{ rid: number }[]>`
      select id::int as rid from package_file_registry where state = 3 order by last_synced_at desc nulls last, id desc limit 8`;
    expect(rows.map((r) => r.id)).toEqual(expected.map((r) => r.rid));
    expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['failed']));
    expect(rows[0]).toMatchObject({ verification_state: 'succeeded', blob_path: expect.stringMatching(/^blobs\//) });
  });

  it('pages through more than 100 rows for --limit and says when more match', async () => {
    const { code, out, err } = await cli(['list', 'package_file', '--limit', '120', '--json']);
    expect(code).toBe(0);
    expect((JSON.parse(out) as Array<{ id: number }>).map((r) => r.id)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(err).toBe('');
    const table = await cli(['list', 'package_file', '--keyword', 'blobs/1', '--limit', '3']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^id\s+model\s+state\s+verification\s+retries\s+last synced\s+verified\s+failure/);
    expect(table.out.trim().split('\n')).toHaveLength(4);
    expect(table.err).toContain('more registries match');
  });

  it('resyncs and reverifies registries by id', async () => {
    const [failed] = await site.trackingSql!<{ id: number }[]>`select id::int from package_file_registry where state = 3 order by id limit 1`;
    const resync = await cli(['resync', 'package_file', String(failed!.id), '--json']);
    expect([resync.code, resync.err]).toEqual([0, '']);
    expect(JSON.parse(resync.out)).toMatchObject([{ id: failed!.id, state: 'pending', retry_at: null }]);
    const reverify = await cli(['reverify', 'package_file', '1', '2']);
    expect(reverify.code).toBe(0);
    expect(await site.trackingSql!`select id::int, state, verification_state from package_file_registry where id in (1, 2, ${failed!.id}) order by id`).toEqual([
      { id: 1, state: 2, verification_state: 0 },
      { id: 2, state: 2, verification_state: 0 },
      { id: failed!.id, state: 0, verification_state: 0 },
    ]);
  });

  it('reverify --all with a filter waits for the bulk operation and reports it', async () => {
    const { code, out } = await cli(['reverify', 'package_file', '--all', '--state', 'synced', '--json']);
    expect(code).toBe(0);
    const op = JSON.parse(out) as { id: number; state: string; examined: number; updated: number; progress_percent: number };
    const [synced] = await site.trackingSql!<{ n: number; left: number }[]>`
      select count(*)::int as n, count(*) filter (where verification_state <> 0)::int as left from package_file_registry where state = 2`;
    expect(op).toMatchObject({ state: 'succeeded', examined: ROWS, progress_percent: 100 });
    expect(synced!.left).toBe(0);
    expect(op.updated).toBeLessThanOrEqual(synced!.n);
    const shown = await cli(['operation', String(op.id), '--json']);
    expect(JSON.parse(shown.out)).toMatchObject([{ id: op.id, action: 'reverify_all', state: 'succeeded' }]);
    // without a terminal: progress lines, then the outcome
    const lines = await cli(['resync', 'package_file', '--all', '--state', 'failed']);
    expect(lines.code).toBe(0);
    expect(lines.out).toMatch(/bulk operation \d+: .* % of ids up to \d+/);
    expect(lines.out).toMatch(/bulk operation \d+: succeeded, \d+ of 150 registries examined updated/);
    expect((await site.trackingSql!`select count(*)::int as n from package_file_registry where state = 3`)[0]?.n).toBe(0);
  });

  it('exits 2 with usage on bad arguments, locally or from the service', async () => {
    for (const argv of [
      ['resync', 'package_file'],
      ['resync', 'package_file', '1', '--all'],
      ['resync', 'package_file', 'x1'],
      ['resync', 'package_file', '1', '--state', 'failed'],
      ['list', 'package_file', '--state', 'bogus'],
      ['list', 'package_file', '--sort', 'size'],
      ['list', 'package_file', '--limit', '0'],
      ['list', 'package_file', '--ids', '1,x'],
      ['list'],
    ]) {
      const { code, err } = await cli(argv);
      expect([argv.join(' '), code]).toEqual([argv.join(' '), EXIT_USAGE]);
      expect(err).toMatch(/error|Usage/);
    }
    const usage = await cli(['resync', 'package_file']);
    expect(usage.err).toContain('give registry ids or --all');
    expect(usage.err).toContain('Usage: meridian geo registries resync');
    const server = await cli(['list', 'package_file', '--keyword', 'k'.repeat(300)]);
    expect(server.code).toBe(EXIT_USAGE);
    expect(server.err).toContain(`site API at ${env.SITE_API_URL} (SITE_API_URL): filter.keyword: at most 255 characters`);
    expect((await cli(['list', 'package_file'], { SITE_API_URL: 'ftp://x' })).code).toBe(EXIT_USAGE);
  });

  it('exits 1 naming the site API on service errors', async () => {
    const viewer = await cli(['resync', 'package_file', '1'], { SITE_API_TOKEN: VIEWER });
    expect(viewer.code).toBe(EXIT_FAILURE);
    expect(viewer.err).toContain(`site API at ${env.SITE_API_URL} (SITE_API_URL): PERMISSION_DENIED: role viewer may only list`);
    expect((await cli(['list', 'package_file', '--limit', '1'], { SITE_API_TOKEN: VIEWER })).code).toBe(0);
    const unknown = await cli(['list', 'lfs_object']);
    expect([unknown.code, unknown.err]).toEqual([EXIT_FAILURE, expect.stringContaining('NOT_FOUND: unknown replicable "lfs_object"')]);
    const missing = await cli(['resync', 'package_file', '999999']);
    expect([missing.code, missing.err]).toEqual([EXIT_FAILURE, expect.stringContaining('NOT_FOUND: no package_file registry with id 999999')]);
    const wrong = await cli(['list', 'package_file'], { SITE_API_TOKEN: 'not-the-token-000000000' });
    expect([wrong.code, wrong.err]).toEqual([EXIT_FAILURE, expect.stringContaining('UNAUTHENTICATED')]);
    const down = await cli(['list', 'package_file'], { SITE_API_URL: `http://127.0.0.1:${await freePort()}` });
    expect([down.code, down.err]).toEqual([EXIT_FAILURE, expect.stringMatching(/site API at http:\/\/127\.0\.0\.1:\d+ \(SITE_API_URL\) is unreachable/)]);
  });

  it('gives up after CLI_TIMEOUT_MS on a site API that accepts and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const { code, err } = await cli(['list', 'package_file'], { SITE_API_URL: `http://127.0.0.1:${port}`, CLI_TIMEOUT_MS: '500' });
      expect([code, err]).toEqual([EXIT_FAILURE, `meridian: site API at http://127.0.0.1:${port} (SITE_API_URL) did not answer within 0.5 s (CLI_TIMEOUT_MS)\n`]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
