import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { derive, primaryContext, registryStore, secondaryContext, type GeoSettings, type PrimaryGeoContext, type ReplicatorDefinition, type SecondaryGeoContext } from '@meridian/geo';
import { createLogger } from '@meridian/logger';
import { createRedisConnection, startWorkerPool, type WorkerPool } from '@meridian/queue';
import { closeServer, createTestDatabase, createTestPrefix, deleteKeysWithPrefix, listenLocal, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { openSiteResources, siteMigrationSet, siteProcessors, siteRouters, type SiteResources } from '../../src';

export const SECRET = 'geo-test-shared-secret-0123456789abcdef';

export interface GeoHarness {
  primary: SiteResources;
  secondary: SiteResources;
  /** the sites' geo contexts, narrowed to their roles */
  primaryGeo: PrimaryGeoContext;
  secondaryGeo: SecondaryGeoContext;
  mainDb: TestDatabase;
  trackingDb: TestDatabase;
  primaryUrl: string;
  primaryPort: number;
  /** transfers the primary is serving right now, and the most at once since the last reset */
  transfers: { inFlight: number; max: number };
  /** environment for a secondary app process (worker, scheduler) sharing this harness's stores */
  secondaryEnv(overrides?: Record<string, string>): Record<string, string>;
  primaryRoot: string;
  secondaryRoot: string;
  /** sync workers (geo.sync.*) of the secondary, in this process */
  startSyncWorkers(): Promise<void>;
  waitForState(definition: ReplicatorDefinition, modelId: bigint, state: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A primary and a secondary over real PostgreSQL databases, real Redis (own key prefixes), real
 * storage directories and the primary's real HTTP transfer endpoint on a random port. Scheduled
 * jobs are driven by calling them, so tests decide when the cursor or consistency runs.
 */
export async function startGeoHarness(options: { geoSettings?: Partial<GeoSettings>; env?: Record<string, string> } = {}): Promise<GeoHarness> {
  // cloned from migrated templates: no migrations per file
  const mainDb = await createTestDatabase('mgeo', { template: migrationTemplate(siteMigrationSet('main')) });
  const trackingDb = await createTestDatabase('mgeot', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
  const primaryRoot = mkdtempSync(path.join(os.tmpdir(), 'meridian-primary-'));
  const secondaryRoot = mkdtempSync(path.join(os.tmpdir(), 'meridian-secondary-'));
  const prefix = createTestPrefix('mgeo');
  const logger = createLogger({ name: 'geo-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const primary = await openSiteResources(
    loadConfig({
      SITE_ROLE: 'primary',
      DATABASE_URL: mainDb.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: `${prefix.prefix}-p`,
      STORAGE_ROOT: primaryRoot,
      GEO_SHARED_SECRET: SECRET,
      ...options.env,
    }),
    logger,
    { redisRole: 'producer', poolSize: 4, geoSettings: { flagCacheMs: 0 } },
  );
  const app = express();
  // counts concurrent transfers, for the concurrency tests
  const transfers = { inFlight: 0, max: 0 };
  app.use((_req, res, next) => {
    transfers.inFlight += 1;
    transfers.max = Math.max(transfers.max, transfers.inFlight);
    res.on('close', () => (transfers.inFlight -= 1));
    next();
  });
  for (const { path: at, router } of siteRouters(primary)) app.use(at, router);
  const { server, base: primaryUrl } = await listenLocal(app);
  const secondaryEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
    SITE_ROLE: 'secondary',
    SITE_NAME: 'secondary',
    DATABASE_URL: mainDb.url,
    GEO_TRACKING_DATABASE_URL: trackingDb.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: `${prefix.prefix}-s`,
    STORAGE_ROOT: secondaryRoot,
    PRIMARY_API_URL: primaryUrl,
    GEO_SHARED_SECRET: SECRET,
    LOG_LEVEL: 'info',
    ...options.env,
    ...overrides,
  });
  const secondary = await openSiteResources(loadConfig(secondaryEnv()), logger, {
    redisRole: 'producer',
    poolSize: 6,
    geoSettings: { flagCacheMs: 0, ...options.geoSettings },
  });
  let pool: WorkerPool | undefined;
  let workerRedis: Redis | undefined;
  return {
    primary,
    secondary,
    primaryGeo: primaryContext(primary.geo),
    secondaryGeo: secondaryContext(secondary.geo),
    mainDb,
    trackingDb,
    primaryUrl,
    primaryPort: (server.address() as AddressInfo).port,
    transfers,
    secondaryEnv,
    primaryRoot,
    secondaryRoot,
    async startSyncWorkers() {
      workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
      pool = await startWorkerPool({
        registrations: siteProcessors(secondary).filter((r) => r.definition.queue.startsWith('geo.sync.')),
        connection: workerRedis,
        queues: secondary.queues,
        logger,
      });
    },
    async waitForState(definition, modelId, state, timeoutMs = 20_000) {
      await waitFor(async () => (await registryStore(definition).get(secondary.trackingSql!, modelId))?.state === state, {
        timeoutMs,
        message: `${derive(definition).registryTable} ${modelId} in state ${state}`,
      });
    },
    async close() {
      await pool?.close(5_000);
      workerRedis?.disconnect();
      await closeServer(server);
      await secondary.close();
      await primary.close();
      await deleteKeysWithPrefix(`${prefix.prefix}-p`);
      await deleteKeysWithPrefix(`${prefix.prefix}-s`);
      await Promise.all([mainDb.drop(), trackingDb.drop()]);
      rmSync(primaryRoot, { recursive: true, force: true });
      rmSync(secondaryRoot, { recursive: true, force: true });
    },
  };
}
