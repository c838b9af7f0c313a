import { configSchema } from '@meridian/config';
import {
  createGeoPrimaryRouter,
  DEFAULT_GEO_SETTINGS,
  GeoConfigurationError,
  geoCatalog,
  geoMainMigrations,
  geoProcessors,
  geoSchedules,
  geoTrackingMigrations,
  registryAdminProcessors,
  replicationFlag,
  secondaryVerificationSchedules,
  verificationFlag,
  verificationSchedules,
  type GeoContext,
  type GeoSettings,
  type ReplicatorDefinition,
} from '@meridian/geo';
import { defineFeatureModule, type FeatureModule } from '../feature-module';
import { registerGeoMetrics } from './geo-metrics';

// Geo replication as a feature module. It only wires what packages/geo already exports
// (catalog, schedules, processors, migrations, router, status), so geo's internals stay as they are.

export const geoConfigSection = configSchema.pick({
  GEO_TRACKING_DATABASE_URL: true,
  GEO_SHARED_SECRET: true,
  PRIMARY_API_URL: true,
  STORAGE_ROOT: true,
  STORAGE_SMALL_FILE_IO: true,
  GEO_EVENT_CURSOR_INTERVAL_MS: true,
  GEO_REGISTRY_SYNC_INTERVAL_MS: true,
  GEO_CONSISTENCY_INTERVAL_MS: true,
  GEO_SYNC_TIMEOUT_CHECK_INTERVAL_MS: true,
  GEO_SYNC_TIMEOUT_MS: true,
  GEO_STATUS_REPORT_INTERVAL_MS: true,
  GEO_SYNC_BATCH_SIZE: true,
  GEO_CONSISTENCY_BATCH_SIZE: true,
  GEO_SYNC_KEEP_COMPLETED_COUNT: true,
  GEO_SYNC_KEEP_COMPLETED_AGE_S: true,
  GEO_SYNC_KEEP_FAILED_COUNT: true,
  GEO_SYNC_KEEP_FAILED_AGE_S: true,
  GEO_VERIFICATION_INTERVAL_MS: true,
  GEO_VERIFICATION_BATCH_SIZE: true,
  GEO_REVERIFICATION_INTERVAL_DAYS: true,
  GEO_VERIFICATION_TIMEOUT_MS: true,
  GEO_REVERIFICATION_INTERVAL_MS: true,
  GEO_PRIMARY_CHECKSUM_WAIT_MS: true,
});

export function createGeoModule(replicators: readonly ReplicatorDefinition[]): FeatureModule<GeoContext> {
  return defineFeatureModule<GeoContext>({
    name: 'geo',
    configSection: geoConfigSection,
    migrations: { main: geoMainMigrations(replicators), geo_tracking: geoTrackingMigrations(replicators) },
    // with a configuration, each geo.sync.* queue keeps its bounded window of finished jobs
    catalog: (config) =>
      geoCatalog(
        replicators,
        config && {
          completed: { count: config.GEO_SYNC_KEEP_COMPLETED_COUNT, ageSeconds: config.GEO_SYNC_KEEP_COMPLETED_AGE_S },
          failed: { count: config.GEO_SYNC_KEEP_FAILED_COUNT, ageSeconds: config.GEO_SYNC_KEEP_FAILED_AGE_S },
        },
      ),
    schedules: (config) => [
      ...geoSchedules({
        eventCursorMs: config.GEO_EVENT_CURSOR_INTERVAL_MS,
        registrySyncMs: config.GEO_REGISTRY_SYNC_INTERVAL_MS,
        consistencyMs: config.GEO_CONSISTENCY_INTERVAL_MS,
        syncTimeoutCheckMs: config.GEO_SYNC_TIMEOUT_CHECK_INTERVAL_MS,
        statusReportMs: config.GEO_STATUS_REPORT_INTERVAL_MS,
      }),
      // verification: each job carries its role (primary: checksums; secondary: compares files), so
      // a site schedules only its own
      ...verificationSchedules(replicators, config.GEO_VERIFICATION_INTERVAL_MS),
      ...secondaryVerificationSchedules(replicators, config.GEO_VERIFICATION_INTERVAL_MS),
    ],
    flags: () => [...replicators.map(replicationFlag), ...replicators.map(verificationFlag)],
    createContext(base, overrides): GeoContext {
      const { config } = base;
      const common = {
        siteName: config.SITE_NAME,
        replicators,
        mainSql: base.mainSql,
        storage: base.storage,
        queues: base.queues,
        logger: base.logger,
        secret: config.GEO_SHARED_SECRET,
        primaryUrl: config.PRIMARY_API_URL,
        settings: {
          ...DEFAULT_GEO_SETTINGS,
          syncTimeoutMs: config.GEO_SYNC_TIMEOUT_MS,
          syncBatchSize: config.GEO_SYNC_BATCH_SIZE,
          consistencyBatchSize: config.GEO_CONSISTENCY_BATCH_SIZE,
          verificationBatchSize: config.GEO_VERIFICATION_BATCH_SIZE,
          reverificationIntervalMs: config.GEO_REVERIFICATION_INTERVAL_MS ?? config.GEO_REVERIFICATION_INTERVAL_DAYS * 86_400_000,
          verificationTimeoutMs: config.GEO_VERIFICATION_TIMEOUT_MS,
          primaryChecksumWaitMs: config.GEO_PRIMARY_CHECKSUM_WAIT_MS,
          ...(overrides as Partial<GeoSettings> | undefined),
        },
        capacityOverrides: config.QUEUE_GLOBAL_CONCURRENCY,
      };
      if (config.SITE_ROLE === 'primary') return { ...common, role: 'primary' };
      if (!base.trackingSql) throw new GeoConfigurationError('a secondary site needs its tracking database (GEO_TRACKING_DATABASE_URL)');
      return { ...common, role: 'secondary', trackingSql: base.trackingSql };
    },
    processors: (context) => (context.role === 'secondary' ? [...geoProcessors(context), ...registryAdminProcessors(context)] : geoProcessors(context)),
    routes(context) {
      const secret = context.secret;
      if (context.role !== 'primary' || !secret) return [];
      return [{ path: '/', router: createGeoPrimaryRouter({ ...context, secret }) }];
    },
    metrics: (registry, context) => registerGeoMetrics(registry, context),
  });
}
