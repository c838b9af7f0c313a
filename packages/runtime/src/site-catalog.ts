import type { FlagDefinition } from '@meridian/db';
import { assertUniqueQueues, jobsForRole, type JobCatalog, type ProcessorRegistration, type ScheduleDefinition, type SiteRole } from '@meridian/queue';
import { coreCatalog, coreProcessors, coreSchedules } from './core-jobs';
import type { SiteResources } from './site-resources';

// The one place that lists what a site runs. Feature packages (geo, claims, org moves) add their
// catalogs, schedules and processors here, so the apps never change when a feature arrives.

export function siteCatalog(): JobCatalog {
  const catalog = [...coreCatalog];
  assertUniqueQueues(catalog);
  return catalog;
}

export function siteSchedules(role: SiteRole): ScheduleDefinition[] {
  return coreSchedules.filter((schedule) => schedule.job.roles.includes(role));
}

export function siteProcessors(site: SiteResources): ProcessorRegistration[] {
  const forRole = new Set(jobsForRole(siteCatalog(), site.config.SITE_ROLE).map((d) => d.queue));
  return coreProcessors(site).filter((registration) => forRole.has(registration.definition.queue));
}

/** Every feature flag the packages declare (geo replication per type, claims verification per model, …). */
export function siteFlags(): FlagDefinition[] {
  return [];
}
