import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@meridian/config';
import { createSql, migrationTemplate, type Sql } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { createRedisConnection, startWorkerPool } from '@meridian/queue';
import { createTestDatabase, createTestPrefix, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import { heartbeatJob, openSiteResources, siteMigrationSet, siteProcessors } from '../src';

describe('site runtime', () => {
  const dbs: TestDatabase[] = [];
  const { prefix, cleanup } = createTestPrefix();
  const storageRoot = mkdtempSync(path.join(os.tmpdir(), 'meridian-heartbeat-'));
  afterAll(async () => {
    await cleanup();
    for (const db of dbs) await db.drop();
    rmSync(storageRoot, { recursive: true, force: true });
  });

  async function migrated(kind: 'main' | 'geo_tracking'): Promise<{ db: TestDatabase; sql: Sql }> {
    const db = await createTestDatabase('mbeat', { template: migrationTemplate(siteMigrationSet(kind)) });
    dbs.push(db);
    const sql = createSql(db.url, { max: 2 });
    return { db, sql };
  }

  it.each(['primary', 'secondary'] as const)('a %s worker records its heartbeat in its own database', async (role) => {
    const main = await migrated('main');
    const tracking = await migrated('geo_tracking');
    const config = loadConfig({
      SITE_ROLE: role,
      SITE_NAME: `site-${role}`,
      DATABASE_URL: main.db.url,
      GEO_TRACKING_DATABASE_URL: tracking.db.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      // not the default .meridian/storage, which would stay behind in the package
      STORAGE_ROOT: storageRoot,
    });
    const logger = createLogger({ name: 'test', level: 'silent' });
    const site = await openSiteResources(config, logger, { redisRole: 'worker', poolSize: 2 });
    const workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
    const pool = await startWorkerPool({ registrations: siteProcessors(site), connection: workerRedis, queues: site.queues, logger });
    try {
      await site.queues.add(heartbeatJob, {});
      const own = role === 'primary' ? main.sql : tracking.sql;
      const other = role === 'primary' ? tracking.sql : main.sql;
      const [row] = await waitFor(async () => {
        const rows = await own<{ site_name: string; role: string }[]>`select site_name, role from site_heartbeats`;
        return rows.length > 0 ? rows : undefined;
      });
      expect(row).toEqual({ site_name: `site-${role}`, role });
      expect(await other`select 1 from site_heartbeats`).toHaveLength(0);
    } finally {
      await pool.close(5_000);
      await site.close();
      workerRedis.disconnect();
      await main.sql.end();
      await tracking.sql.end();
    }
  });

  it('refuses to open a secondary whose tracking database is not migrated', async () => {
    const main = await migrated('main');
    const empty = await createTestDatabase();
    dbs.push(empty);
    const config = loadConfig({ SITE_ROLE: 'secondary', DATABASE_URL: main.db.url, GEO_TRACKING_DATABASE_URL: empty.url, STORAGE_ROOT: storageRoot });
    await expect(openSiteResources(config, createLogger({ name: 't', level: 'silent' }), { redisRole: 'producer' })).rejects.toThrow(
      new RegExp(`database "${empty.name}" has \\d+ pending migration`),
    );
    await main.sql.end();
  });
});
