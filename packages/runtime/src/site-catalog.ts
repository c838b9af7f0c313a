import type { Config } from '@meridian/config';
import { migrationSet, type DatabaseKind, type FlagDefinition, type MigrationSet } from '@meridian/db';
import { assertUniqueQueues, jobsForRole, type JobCatalog, type QueueSet, type ScheduleDefinition } from '@meridian/queue';
import { coreCatalog, coreSchedules } from './core-jobs';
import { siteModules } from './site-modules';

// What a site runs, read from the module list: nothing here names a feature.

/** Every job a site knows; with a configuration, per-feature job options (e.g. GEO_SYNC_KEEP_*) apply. */
export function siteCatalog(config?: Config): JobCatalog {
  const catalog = [...coreCatalog, ...siteModules.flatMap((m) => m.catalog?.(config) ?? [])];
  assertUniqueQueues(catalog);
  return catalog;
}

export function siteSchedules(config: Config): ScheduleDefinition[] {
  return [...coreSchedules, ...siteModules.flatMap((m) => m.schedules?.(config) ?? [])].filter((schedule) =>
    schedule.job.roles.includes(config.SITE_ROLE),
  );
}

/** The queues a site of this role runs (Bull Board and metrics show only these). */
export function siteQueues(site: { config: Config; queues: QueueSet }): Array<ReturnType<QueueSet['get']>> {
  return jobsForRole(siteCatalog(site.config), site.config.SITE_ROLE).map((definition) => site.queues.get(definition));
}

/** Every feature flag the modules declare (geo replication per type, claims, …). */
export function siteFlags(): FlagDefinition[] {
  return siteModules.flatMap((m) => m.flags?.() ?? []);
}

/** Every database's migrations: core steps, then each module's, in module order. */
export function siteMigrationSet(kind: DatabaseKind): MigrationSet {
  return migrationSet(kind, siteModules.map((m) => m.migrations?.[kind] ?? []).filter((steps) => steps.length > 0));
}
