import type { Config } from '@meridian/config';
import type { FlagDefinition } from '@meridian/db';
import { assertUniqueQueues, jobsForRole, type JobCatalog, type ProcessorRegistration, type ScheduleDefinition } from '@meridian/queue';
import { geoCatalog, geoProcessors, geoSchedules, replicationFlag } from '@meridian/geo';
import { coreCatalog, coreProcessors, coreSchedules } from './core-jobs';
import { siteReplicators } from './site-features';
import type { SiteResources } from './site-resources';

// The one place that lists what a site runs. Feature packages (geo, claims, org moves) add their
// catalogs, schedules and processors here, so the apps never change when a feature arrives.

/** Every job a site knows; with a configuration, its sync-job retention (GEO_SYNC_KEEP_*) applies. */
export function siteCatalog(config?: Config): JobCatalog {
  const retention = config
    ? {
        completed: { count: config.GEO_SYNC_KEEP_COMPLETED_COUNT, ageSeconds: config.GEO_SYNC_KEEP_COMPLETED_AGE_S },
        failed: { count: config.GEO_SYNC_KEEP_FAILED_COUNT, ageSeconds: config.GEO_SYNC_KEEP_FAILED_AGE_S },
      }
    : undefined;
  const catalog = [...coreCatalog, ...geoCatalog(siteReplicators(), retention)];
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
  return [...coreSchedules, ...geo].filter((schedule) => schedule.job.roles.includes(config.SITE_ROLE));
}

export function siteProcessors(site: SiteResources): ProcessorRegistration[] {
  const forRole = new Set(jobsForRole(siteCatalog(), site.config.SITE_ROLE).map((d) => d.queue));
  return [...coreProcessors(site), ...geoProcessors(site.geo)].filter((registration) => forRole.has(registration.definition.queue));
}

/** The queues a site of this role runs (Bull Board and metrics show only these). */
export function siteQueues(site: Pick<SiteResources, 'config' | 'queues'>): Array<ReturnType<SiteResources['queues']['get']>> {
  return jobsForRole(siteCatalog(), site.config.SITE_ROLE).map((definition) => site.queues.get(definition));
}

/** Every feature flag the packages declare (geo replication per type, claims verification per model, …). */
export function siteFlags(): FlagDefinition[] {
  return siteReplicators().map(replicationFlag);
}
