import type { Config } from '@meridian/config';
import type { FlagDefinition } from '@meridian/db';
import { assertUniqueQueues, jobsForRole, type JobCatalog, type ProcessorRegistration, type ScheduleDefinition } from '@meridian/queue';
import { geoCatalog, geoProcessors, geoSchedules, replicationFlag } from '@meridian/geo';
import { coreCatalog, coreProcessors, coreSchedules } from './core-jobs';
import { siteReplicators } from './site-features';
import { storageProcessors, storageSchedules, storageSweepJob } from './storage-sweep';
import type { SiteResources } from './site-resources';

// The one place that lists what a site runs. Feature packages (geo, claims, org moves) add their
// catalogs, schedules and processors here, so the apps never change when a feature arrives.

export function siteCatalog(): JobCatalog {
  const catalog = [...coreCatalog, storageSweepJob, ...geoCatalog(siteReplicators())];
  assertUniqueQueues(catalog);
  return catalog;
}

export function siteSchedules(config: Config): ScheduleDefinition[] {
  const geo = geoSchedules({
    eventCursorMs: config.GEO_EVENT_CURSOR_INTERVAL_MS,
    registrySyncMs: config.GEO_REGISTRY_SYNC_INTERVAL_MS,
    consistencyMs: config.GEO_CONSISTENCY_INTERVAL_MS,
    syncTimeoutCheckMs: config.GEO_SYNC_TIMEOUT_CHECK_INTERVAL_MS,
    statusReportMs: config.GEO_STATUS_REPORT_INTERVAL_MS,
  });
  return [...coreSchedules, ...storageSchedules(config), ...geo].filter((schedule) => schedule.job.roles.includes(config.SITE_ROLE));
}

export function siteProcessors(site: SiteResources): ProcessorRegistration[] {
  const forRole = new Set(jobsForRole(siteCatalog(), site.config.SITE_ROLE).map((d) => d.queue));
  return [...coreProcessors(site), ...storageProcessors(site), ...geoProcessors(site.geo)].filter((registration) => forRole.has(registration.definition.queue));
}

/** Every feature flag the packages declare (geo replication per type, claims verification per model, …). */
export function siteFlags(): FlagDefinition[] {
  return siteReplicators().map(replicationFlag);
}
