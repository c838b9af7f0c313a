export { createSiteApi, type SiteApiOptions } from './create-app';
export { roleFor, requireRole, type AccessRole } from './auth';
