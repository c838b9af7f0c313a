import type { Config } from '@meridian/config';
import { migrationSet, type DatabaseKind, type FlagDefinition, type MigrationSet } from '@meridian/db';
import { assertUniqueQueues, type JobCatalog, type ScheduleDefinition } from '@meridian/queue';
import { coreCatalog, coreSchedules } from './core-jobs';
import { siteModules } from './site-modules';

// What a site runs, read from the module list: nothing here names a feature.

export function siteCatalog(): JobCatalog {
  const catalog = [...coreCatalog, ...siteModules.flatMap((m) => m.catalog?.() ?? [])];
  assertUniqueQueues(catalog);
  return catalog;
}

export function siteSchedules(config: Config): ScheduleDefinition[] {
  return [...coreSchedules, ...siteModules.flatMap((m) => m.schedules?.(config) ?? [])].filter((schedule) =>
    schedule.job.roles.includes(config.SITE_ROLE),
  );
}

/** Every feature flag the modules declare (geo replication per type, claims, …). */
export function siteFlags(): FlagDefinition[] {
  return siteModules.flatMap((m) => m.flags?.() ?? []);
}

/** Every database's migrations: core steps, then each module's, in module order. */
export function siteMigrationSet(kind: DatabaseKind): MigrationSet {
  return migrationSet(kind, siteModules.map((m) => m.migrations?.[kind] ?? []).filter((steps) => steps.length > 0));
}
