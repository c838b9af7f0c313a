import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { enqueueSyncs, syncJob } from '@meridian/geo';
import { createLogger } from '@meridian/logger';
import { startWorkerPool, type WorkerPool } from '@meridian/queue';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { openSiteResources, siteMigrationSet, siteProcessors, type SiteResources } from '@meridian/runtime';
import { closeServer, createTestDatabase, createTestPrefix, listenLocal, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import { createSiteApi } from '../src';

const ADMIN = 'admin-token-for-tests-0001';

// Operators see replication in Bull Board: a bounded window of finished and failed sync jobs
// stays on each geo.sync.* queue, and a job kept there never blocks a later sync of the same rows.
describe('geo sync jobs in Bull Board', () => {
  let main: TestDatabase;
  let tracking: TestDatabase;
  let site: SiteResources;
  let pool: WorkerPool;
  let server: Server;
  let base: string;
  const { prefix, cleanup } = createTestPrefix();
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-sync-window-'));

  beforeAll(async () => {
    main = await createTestDatabase('msj', { template: migrationTemplate(siteMigrationSet('main')) });
    tracking = await createTestDatabase('msj', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    const config = loadConfig({
      STORAGE_ROOT: storageRoot,
      DATABASE_URL: main.url,
      GEO_TRACKING_DATABASE_URL: tracking.url,
      SITE_ROLE: 'secondary',
      SITE_NAME: 'secondary',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      GEO_SHARED_SECRET: 'a-shared-secret-of-at-least-32-chars!!',
      GEO_SYNC_KEEP_COMPLETED_COUNT: '3',
    });
    site = await openSiteResources(config, createLogger({ name: 'test', level: 'silent' }), { redisRole: 'worker', poolSize: 2 });
    const queue = syncJob(packageFileReplicator).queue;
    pool = await startWorkerPool({
      registrations: siteProcessors(site).filter((r) => r.definition.queue === queue),
      connection: site.redis,
      queues: site.queues,
      logger: site.logger,
    });
    const app = createSiteApi({ site, adminToken: ADMIN });
    ({ server, base } = await listenLocal(app));
  });
  afterAll(async () => {
    await closeServer(server);
    await pool.close(5_000);
    await site.close();
    await cleanup();
    await main.drop();
    await tracking.drop();
    rmSync(storageRoot, { recursive: true, force: true });
  });

  const counts = async () => {
    const c = await site.queues.get(syncJob(packageFileReplicator)).getJobCounts('completed', 'failed', 'waiting', 'active');
    return { completed: c.completed ?? 0, failed: c.failed ?? 0, waiting: c.waiting ?? 0, active: c.active ?? 0 };
  };

  it('keeps finished jobs (up to the configured count), lets the same rows sync again, and keeps failed ones with their reason', async () => {
    expect(await enqueueSyncs(site.geo, packageFileReplicator, [1n, 2n])).toBeGreaterThan(0);
    await waitFor(async () => (await counts()).completed >= 1, { message: 'a completed sync job' });
    const first = (await counts()).completed;

    // the same rows again (a resync): not blocked by the job kept above
    await enqueueSyncs(site.geo, packageFileReplicator, [1n, 2n]);
    await waitFor(async () => (await counts()).completed > first, { message: 'the same rows synced again' });

    // the window is bounded by GEO_SYNC_KEEP_COMPLETED_COUNT
    for (let i = 10n; i < 16n; i++) await enqueueSyncs(site.geo, packageFileReplicator, [i]);
    await waitFor(async () => {
      const c = await counts();
      return c.waiting === 0 && c.active === 0;
    }, { message: 'every sync job done' });
    expect((await counts()).completed).toBe(3);

    // a job that fails stays, with its reason
    await site.queues.get(syncJob(packageFileReplicator)).add('bad', { modelIds: ['not-an-id'] });
    await waitFor(async () => (await counts()).failed === 1, { message: 'a failed sync job' });

    const board = await fetch(`${base}/admin/queues/api/queues?activeQueue=${syncJob(packageFileReplicator).queue}&status=failed`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    const body = (await board.json()) as { queues: Array<{ name: string; counts: Record<string, number>; jobs: Array<{ failedReason?: string }> }> };
    const shown = body.queues.find((q) => q.name === syncJob(packageFileReplicator).queue)!;
    expect(shown.counts).toMatchObject({ completed: 3, failed: 1 });
    expect(shown.jobs[0]?.failedReason).toBeTruthy();
  });
});
