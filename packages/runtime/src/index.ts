export { siteCatalog, siteSchedules, siteProcessors, siteFlags, siteQueues } from './site-catalog';
export { openSiteResources, siteDatabases, type SiteResources, type SiteDatabases } from './site-resources';
export { heartbeatJob } from './core-jobs';
export { migrateSite } from './migrate-site';
export { runMain } from './run-main';
export { applyHeapGrowing } from './heap-tuning';
export { siteReplicators, siteMigrationSet } from './site-features';
export { registerGeoMetrics } from './geo-metrics';
export { siteRouters } from './site-routes';
