import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { createRedisConnection, startWorkerPool } from '@meridian/queue';
import { createTestDatabase, createTestPrefix, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import { openSiteResources, registerGeoMetrics, siteMigrationSet, siteProcessors, siteSchedules, storageSweepJob } from '../src';

describe('temporary-file sweeper', () => {
  const dbs: TestDatabase[] = [];
  const { prefix, cleanup } = createTestPrefix();
  afterAll(async () => {
    await cleanup();
    for (const db of dbs) await db.drop();
  });

  it.each(['primary', 'secondary'] as const)('is scheduled on a %s at the configured interval', (role) => {
    const config = loadConfig({ SITE_ROLE: role, STORAGE_TEMP_SWEEP_INTERVAL_MS: '45000' });
    const schedule = siteSchedules(config).find((s) => s.job.queue === storageSweepJob.queue);
    expect(schedule).toMatchObject({ every: 45_000 });
    expect(loadConfig({}).STORAGE_TEMP_FILE_MAX_AGE_MS).toBe(15 * 60_000);
  });

  it.each(['primary', 'secondary'] as const)('on a %s, a worker removes only stale temporary files, logs and counts them', async (role) => {
    const main = await createTestDatabase('msweep', { template: migrationTemplate(siteMigrationSet('main')) });
    const tracking = await createTestDatabase('msweept', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    dbs.push(main, tracking);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-sweep-'));
    const config = loadConfig({
      SITE_ROLE: role,
      DATABASE_URL: main.url,
      GEO_TRACKING_DATABASE_URL: tracking.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: `${prefix}-${role}`,
      STORAGE_ROOT: root,
      STORAGE_TEMP_FILE_MAX_AGE_MS: '60000',
    });
    const lines: string[] = [];
    const logger = createLogger({ name: 'test', level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const site = await openSiteResources(config, logger, { redisRole: 'worker', poolSize: 2 });
    const workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
    const pool = await startWorkerPool({ registrations: siteProcessors(site), connection: workerRedis, queues: site.queues, logger });
    try {
      await site.storage.write('packages/1/blob', 'blob');
      const dir = path.join(root, 'packages/1');
      const hourAgo = new Date(Date.now() - 3_600_000);
      for (const name of ['.tmp-stale-a', '.tmp-stale-b']) {
        fs.writeFileSync(path.join(dir, name), 'partial');
        fs.utimesSync(path.join(dir, name), hourAgo, hourAgo);
      }
      fs.writeFileSync(path.join(dir, '.tmp-in-flight'), 'being written');

      await site.queues.add(storageSweepJob, {});
      // the job logs once it has swept everything: only then is the directory final
      const logged = await waitFor(() => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'stale temporary files removed from storage'), { message: 'stale temp files swept' });
      expect(fs.readdirSync(dir).sort()).toEqual(['.tmp-in-flight', 'blob']);
      expect(logged).toMatchObject({ removed: 2, olderThanMs: 60_000, level: 40 });

      const registry = new Registry();
      registerGeoMetrics(registry, site);
      const metric = await registry.getSingleMetric('storage_temporary_files_swept_total')!.get();
      expect(metric.values.map((v) => v.value)).toEqual([2]);
    } finally {
      await pool.close(5_000);
      await site.close();
      workerRedis.disconnect();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
