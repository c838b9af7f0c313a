import { Router } from 'express';
import { collectGeoStatus, type StatusOptions, type StatusSite } from '@meridian/geo';
import { renderStatusPage } from './geo-status-page';

export const GEO_STATUS_API_PATH = '/api/v1/geo/status';
export const GEO_STATUS_PAGE_PATH = '/admin/geo';

export interface GeoStatusRouteOptions extends StatusOptions {
  /** how often the page fetches the JSON again (default 5 s) */
  pageRefreshMs?: number;
}

const FAILURES_PER_TYPE = 10;

/**
 * `GET /api/v1/geo/status` (JSON) and the `/admin/geo` page. Mount behind requireRole: viewers and
 * admins may read both. A failed source is part of the answer (200, `sources[].ok = false`), not an
 * error, so the page keeps showing everything else.
 */
export function geoStatusRouter(site: StatusSite, options: GeoStatusRouteOptions = {}): Router {
  const router = Router();
  const collect = () => collectGeoStatus(site, { failuresPerType: FAILURES_PER_TYPE, ...options });
  router.get(GEO_STATUS_API_PATH, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(await collect());
  });
  router.get(GEO_STATUS_PAGE_PATH, async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'");
    res.type('html').send(renderStatusPage(await collect(), options.pageRefreshMs ?? 5_000));
  });
  return router;
}
