export { siteCatalog, siteSchedules, siteProcessors, siteFlags } from './site-catalog';
export { openSiteResources, siteDatabases, type SiteResources, type SiteDatabases } from './site-resources';
export { heartbeatJob } from './core-jobs';
export { migrateSite } from './migrate-site';
export { runMain } from './run-main';
