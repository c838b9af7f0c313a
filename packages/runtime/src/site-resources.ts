import type { Config } from '@meridian/config';
import { assertMigrated, createSql, type MigrationSet, type Sql } from '@meridian/db';
import { DEFAULT_GEO_SETTINGS, type GeoContext, type GeoSettings } from '@meridian/geo';
import { createFilesystemStorage, type BlobStorage } from '@meridian/storage';
import type { Logger } from '@meridian/logger';
import { assertNoEviction, createQueueSet, createRedisConnection, type ConnectionRole, type QueueSet } from '@meridian/queue';
import type { Redis } from 'ioredis';
import { siteCatalog } from './site-catalog';
import { siteMigrationSet, siteReplicators } from './site-features';

/** The databases a site's processes open, by role. */
export interface SiteDatabases {
  /** main DB: read-write on the primary; read-only view of the primary's on a secondary */
  main: { url: string; set: MigrationSet };
  /** tracking DB of a secondary */
  tracking?: { url: string; set: MigrationSet };
}

export function siteDatabases(config: Config): SiteDatabases {
  const main = { url: config.DATABASE_URL, set: siteMigrationSet('main') };
  if (config.SITE_ROLE === 'primary') return { main };
  return { main, tracking: { url: config.GEO_TRACKING_DATABASE_URL, set: siteMigrationSet('geo_tracking') } };
}

/** What every long-running site process holds: pools, one Redis connection, the queue set. */
export interface SiteResources {
  config: Config;
  logger: Logger;
  mainSql: Sql;
  trackingSql: Sql | undefined;
  /** the database this site writes its own state to: main on a primary, tracking on a secondary */
  siteSql: Sql;
  redis: Redis;
  queues: QueueSet;
  storage: BlobStorage;
  /** what geo jobs, routes and status need */
  geo: GeoContext;
  close(): Promise<void>;
}

/**
 * Opens and checks everything a site process needs, refusing to start (with the fix in the
 * message) on an unmigrated database or a Redis that may evict keys.
 */
export async function openSiteResources(
  config: Config,
  logger: Logger,
  options: { redisRole: ConnectionRole; poolSize?: number; checkMigrations?: boolean; geoSettings?: Partial<GeoSettings> },
): Promise<SiteResources> {
  const databases = siteDatabases(config);
  const name = `meridian-${config.SITE_NAME}`;
  const mainSql = createSql(databases.main.url, { max: options.poolSize ?? 10, applicationName: name });
  const trackingSql = databases.tracking
    ? createSql(databases.tracking.url, { max: options.poolSize ?? 10, applicationName: name })
    : undefined;
  let redis: Redis | undefined;
  try {
    if (options.checkMigrations ?? true) {
      await assertMigrated(mainSql, databases.main.set, databases.main.url);
      if (trackingSql && databases.tracking) {
        await assertMigrated(trackingSql, databases.tracking.set, databases.tracking.url);
      }
    }
    redis = await createRedisConnection(config.REDIS_URL, options.redisRole, name, logger);
    await assertNoEviction(redis);
  } catch (error) {
    redis?.disconnect();
    await Promise.all([mainSql.end({ timeout: 1 }), trackingSql?.end({ timeout: 1 })]);
    throw error;
  }
  const queues = createQueueSet(siteCatalog(), redis, config.QUEUE_PREFIX);
  const connection = redis;
  const storage = createFilesystemStorage(config.STORAGE_ROOT, { smallFileIo: config.STORAGE_SMALL_FILE_IO });
  const geo: GeoContext = {
    role: config.SITE_ROLE,
    siteName: config.SITE_NAME,
    replicators: siteReplicators(),
    mainSql,
    trackingSql,
    storage,
    queues,
    logger,
    secret: config.GEO_SHARED_SECRET,
    primaryUrl: config.PRIMARY_API_URL,
    settings: {
      ...DEFAULT_GEO_SETTINGS,
      syncTimeoutMs: config.GEO_SYNC_TIMEOUT_MS,
      syncBatchSize: config.GEO_SYNC_BATCH_SIZE,
      consistencyBatchSize: config.GEO_CONSISTENCY_BATCH_SIZE,
      ...options.geoSettings,
    },
    capacityOverrides: config.QUEUE_GLOBAL_CONCURRENCY,
  };
  return {
    config,
    logger,
    mainSql,
    trackingSql,
    siteSql: trackingSql ?? mainSql,
    redis: connection,
    queues,
    storage,
    geo,
    async close() {
      await queues.close();
      await Promise.all([mainSql.end({ timeout: 5 }), trackingSql?.end({ timeout: 5 })]);
      connection.disconnect();
    },
  };
}
