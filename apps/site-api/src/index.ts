export { createSiteApi, type SiteApiOptions } from './create-app';
export { roleFor, requireRole, type AccessRole } from './auth';
export { siteHttpLimits, startSiteHttpServer, type SiteHttpLimits } from './http-server';
