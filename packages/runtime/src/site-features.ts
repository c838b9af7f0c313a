import { jobsForRole, type ProcessorRegistration } from '@meridian/queue';
import type { Registry } from 'prom-client';
import { coreProcessors } from './core-jobs';
import type { SiteRoute } from './feature-module';
import { siteCatalog } from './site-catalog';
import { siteModules } from './site-modules';
import { moduleContext, type SiteResources } from './site-resources';

// The run-time side of the modules: processors, routes and metrics from each module's context.

export function siteProcessors(site: SiteResources): ProcessorRegistration[] {
  const forRole = new Set(jobsForRole(siteCatalog(), site.config.SITE_ROLE).map((d) => d.queue));
  const registrations = [...coreProcessors(site), ...siteModules.flatMap((m) => m.processors?.(moduleContext(site, m), site) ?? [])];
  return registrations.filter((registration) => forRole.has(registration.definition.queue));
}

/** Feature routers the site API mounts (geo on a primary: the transfer and status endpoints). */
export function siteRouters(site: SiteResources): SiteRoute[] {
  return siteModules.flatMap((m) => m.routes?.(moduleContext(site, m), site) ?? []);
}

/** Every module's gauges on the site API's registry. */
export function registerSiteMetrics(registry: Registry, site: SiteResources): void {
  for (const m of siteModules) m.metrics?.(registry, moduleContext(site, m), site);
}
