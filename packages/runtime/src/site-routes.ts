import { createGeoPrimaryRouter } from '@meridian/geo';
import type { Router } from 'express';
import type { SiteResources } from './site-resources';

/** Feature routers the site API mounts: on a primary, the geo transfer and status endpoints. */
export function siteRouters(site: SiteResources): Array<{ path: string; router: Router }> {
  const secret = site.config.GEO_SHARED_SECRET;
  if (site.config.SITE_ROLE !== 'primary' || !secret) return [];
  return [{ path: '/', router: createGeoPrimaryRouter({ ...site.geo, secret }) }];
}
