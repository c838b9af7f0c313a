import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { startRedisServer, type RedisServerHandle } from '@meridian/dev-services';
import { createLogger } from '@meridian/logger';
import { openSiteResources, type SiteResources, siteMigrationSet } from '@meridian/runtime';
import { closeServer, createTestDatabase, createTestPrefix, listenLocal, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import { createSiteApi } from '../src';

const ADMIN = 'admin-token-for-tests-0001';
const VIEWER = 'viewer-token-for-tests-001';
const basic = (user: string, token: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

const listen = (site: SiteResources) => listenLocal(createSiteApi({ site, adminToken: ADMIN, viewerToken: VIEWER }));


describe('site api', () => {
  let db: TestDatabase;
  // blob storage in a temp dir (the default, .meridian/storage, would stay behind in the package)
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-site-api-'));
  const { prefix, cleanup } = createTestPrefix();
  const logger = createLogger({ name: 'test', level: 'silent' });

  beforeAll(async () => {
    db = await createTestDatabase('msa', { template: migrationTemplate(siteMigrationSet('main')) });
  });
  afterAll(async () => {
    await cleanup();
    await db.drop();
    rmSync(storageRoot, { recursive: true, force: true });
  });

  describe('with a healthy Redis', () => {
    let site: SiteResources;
    let server: Server;
    let base: string;
    beforeAll(async () => {
      const config = loadConfig({ STORAGE_ROOT: storageRoot, DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix });
      site = await openSiteResources(config, logger, { redisRole: 'producer', poolSize: 2 });
      ({ server, base } = await listen(site));
    });
    afterAll(async () => {
      await closeServer(server);
      await site.close();
    });

    it('answers /healthz and /readyz', async () => {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ok: true, checks: [{ name: 'redis', ok: true }, { name: 'main_db', ok: true }] });
    });

    it('protects Bull Board: 401 without credentials, 200 with them', async () => {
      const anonymous = await fetch(`${base}/admin/queues/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect((await fetch(`${base}/admin/queues/`, { headers: { authorization: basic('x', 'wrong-token-000000000') } })).status).toBe(401);
      const page = await fetch(`${base}/admin/queues/`, { headers: { authorization: basic('admin', ADMIN) } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      const api = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(api.status).toBe(200);
      const body = (await api.json()) as { queues: Array<{ name: string }> };
      expect(body.queues.map((q) => q.name)).toContain('site.heartbeat');
    });

    it('gives viewers a read-only board: every write is refused, pause-all included', async () => {
      for (const headers of [{ authorization: `Bearer ${VIEWER}` }, { authorization: basic('viewer', VIEWER) }]) {
        expect((await fetch(`${base}/admin/queues/api/queues`, { headers })).status).toBe(200);
        for (const [method, path] of [
          ['PUT', 'queues/site.heartbeat/pause'],
          ['PUT', 'queues/pause'],
          ['PUT', 'queues/resume'],
          ['PUT', 'queues/site.heartbeat/clean/completed'],
          ['DELETE', 'queues/site.heartbeat/empty'],
          ['POST', 'queues/site.heartbeat/add'],
        ] as const) {
          const response = await fetch(`${base}/admin/queues/api/${path}`, { method, headers });
          expect([method, path, response.status]).toEqual([method, path, 403]);
        }
      }
      for (const queue of site.queues.all()) expect(await queue.isPaused()).toBe(false);
    });

    it('checks the Basic user name as well as the password', async () => {
      const wrongUser = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic('mallory', ADMIN) } });
      expect(wrongUser.status).toBe(401);
      const swapped = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic('admin', VIEWER) } });
      expect(swapped.status).toBe(401);
      const viewerAsAdmin = await fetch(`${base}/admin/queues/api/queues/pause`, { method: 'PUT', headers: { authorization: basic('viewer', ADMIN) } });
      expect(viewerAsAdmin.status).toBe(401);
      expect((await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic('viewer', VIEWER) } })).status).toBe(200);
    });

    it("lists only the primary's queues on the primary's board", async () => {
      const api = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name);
      expect(names).toContain('geo.event_prune');
      expect(names.filter((n) => n.startsWith('geo.sync.') || ['geo.event_cursor', 'geo.registry_sync', 'geo.registry_consistency', 'geo.status_report', 'geo.sync_timeout'].includes(n))).toEqual([]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).not.toContain('queue="geo.event_cursor"');
    });

    it('serves Prometheus metrics with queue counts', async () => {
      const response = await fetch(`${base}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toMatch(/meridian_queue_jobs\{queue="site.heartbeat",state="waiting",site="primary"\} \d+/);
    });
  });

  it("lists only the secondary's queues on a secondary's board", async () => {
    const tracking = await createTestDatabase('msa', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    const config = loadConfig({
      STORAGE_ROOT: storageRoot,
      DATABASE_URL: db.url,
      GEO_TRACKING_DATABASE_URL: tracking.url,
      SITE_ROLE: 'secondary',
      SITE_NAME: 'secondary',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
    });
    const site = await openSiteResources(config, logger, { redisRole: 'producer', poolSize: 2 });
    const { server, base } = await listen(site);
    try {
      const api = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name);
      expect(names).toEqual(expect.arrayContaining(['site.heartbeat', 'geo.event_cursor', 'geo.sync.package_file']));
      expect(names).not.toContain('geo.event_prune');
    } finally {
      await closeServer(server);
      await site.close();
      await tracking.drop();
    }
  });

  it('turns /readyz unhealthy when Redis stops', async () => {
    let redis: RedisServerHandle | undefined = await startRedisServer();
    const config = loadConfig({ STORAGE_ROOT: storageRoot, DATABASE_URL: db.url, REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
    const site = await openSiteResources(config, logger, { redisRole: 'producer', poolSize: 2 });
    const { server, base } = await listen(site);
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      await redis.stop();
      redis = undefined;
      const body = await waitFor(async () => {
        const response = await fetch(`${base}/readyz`);
        return response.status === 503 ? ((await response.json()) as { checks: Array<{ name: string; ok: boolean }> }) : undefined;
      });
      expect(body.checks.find((c) => c.name === 'redis')?.ok).toBe(false);
      expect(body.checks.find((c) => c.name === 'main_db')?.ok).toBe(true);
      // liveness is not readiness: the process itself is fine
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await closeServer(server);
      await site.close();
      await redis?.stop();
    }
  });

  it('refuses to start against a Redis that may evict keys', async () => {
    const redis = await startRedisServer({ maxmemoryPolicy: 'allkeys-lru' });
    try {
      const config = loadConfig({ STORAGE_ROOT: storageRoot, DATABASE_URL: db.url, REDIS_URL: redis.url });
      await expect(openSiteResources(config, logger, { redisRole: 'producer' })).rejects.toThrow(/noeviction.*CONFIG SET maxmemory-policy noeviction/s);
    } finally {
      await redis.stop();
    }
  });
});
