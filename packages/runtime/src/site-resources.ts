import type { Config } from '@meridian/config';
import { assertMigrated, createSql, type MigrationSet } from '@meridian/db';
import type { GeoContext, GeoSettings } from '@meridian/geo';
import type { Logger } from '@meridian/logger';
import { assertNoEviction, createQueueSet, createRedisConnection, type ConnectionRole } from '@meridian/queue';
import { createFilesystemStorage } from '@meridian/storage';
import type { Redis } from 'ioredis';
import type { FeatureModule, SiteBase } from './feature-module';
import { siteCatalog, siteMigrationSet } from './site-catalog';
import { geoModule, siteModules } from './site-modules';

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

/** What every long-running site process holds: pools, one Redis connection, the queue set, and each module's context. */
export interface SiteResources extends SiteBase {
  /** the geo module's context (kept as a field: apps and tests read it) */
  geo: GeoContext;
  /** every module's context, by module */
  readonly contexts: ReadonlyMap<FeatureModule<never>, unknown>;
  close(): Promise<void>;
}

/** The context `module` built for this site. */
export function moduleContext<C>(site: SiteResources, module: FeatureModule<C>): C {
  return site.contexts.get(module as FeatureModule<never>) as C;
}

export interface OpenSiteOptions {
  redisRole: ConnectionRole;
  poolSize?: number;
  checkMigrations?: boolean;
  /** geo tunables (tests and benches shrink them) */
  geoSettings?: Partial<GeoSettings>;
  /** per-module overrides by module name, handed to its createContext */
  moduleOverrides?: Record<string, unknown>;
}

/**
 * Opens and checks everything a site process needs, refusing to start (with the fix in the
 * message) on an unmigrated database or a Redis that may evict keys, then lets each module build
 * its context.
 */
export async function openSiteResources(config: Config, logger: Logger, options: OpenSiteOptions): Promise<SiteResources> {
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
  const connection = redis;
  const queues = createQueueSet(siteCatalog(config), connection, config.QUEUE_PREFIX);
  const base: SiteBase = {
    config,
    logger,
    mainSql,
    trackingSql,
    siteSql: trackingSql ?? mainSql,
    redis: connection,
    queues,
    storage: createFilesystemStorage(config.STORAGE_ROOT, { smallFileIo: config.STORAGE_SMALL_FILE_IO }),
  };
  const overrides: Record<string, unknown> = { ...options.moduleOverrides };
  if (options.geoSettings) overrides[geoModule.name] = { ...(overrides[geoModule.name] as object | undefined), ...options.geoSettings };
  const contexts = new Map<FeatureModule<never>, unknown>();
  const closeAll = async () => {
    for (const [module, context] of [...contexts].reverse()) await module.close?.(context as never);
    await queues.close();
    await Promise.all([mainSql.end({ timeout: 5 }), trackingSql?.end({ timeout: 5 })]);
    connection.disconnect();
  };
  try {
    for (const module of siteModules) {
      contexts.set(module, await module.createContext?.(base, overrides[module.name]));
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  return { ...base, geo: contexts.get(geoModule as FeatureModule<never>) as GeoContext, contexts, close: closeAll };
}
