import express, { type Express, type Router } from 'express';
import type { Logger } from '@meridian/logger';
import { registerGeoMetrics, siteQueues, siteRouters, type SiteResources } from '@meridian/runtime';
import { requireRole } from './auth';
import { BULL_BOARD_PATH, bullBoardRouter } from './bull-board';
import { GEO_STATUS_API_PATH, GEO_STATUS_PAGE_PATH, geoStatusRouter, type GeoStatusRouteOptions } from './geo-status-routes';
import { readiness, redisDependency, sqlDependency, type Dependency } from './health';
import { createMetricsRegistry } from './metrics';
import { registryAdminMiddleware } from './geo-admin/registry-admin-service';

export interface SiteApiOptions {
  site: SiteResources;
  adminToken: string;
  viewerToken?: string | undefined;
  /** extra routers beyond the site's feature routers (siteRouters), mounted before the 404 handler */
  routers?: ReadonlyArray<{ path: string; router: Router; access?: ReadonlyArray<'admin' | 'viewer'> }>;
  /** status page and JSON API tunables (tests shrink the page's refresh) */
  geoStatus?: GeoStatusRouteOptions;
}

/** The site's HTTP surface: health, readiness, metrics, Bull Board, the geo status page and API, and feature routers. */
export function createSiteApi(options: SiteApiOptions): Express {
  const { site } = options;
  const app = express();
  app.disable('x-powered-by');
  const auth = { adminToken: options.adminToken, viewerToken: options.viewerToken };
  const dependencies: Dependency[] = [redisDependency(site.redis), sqlDependency('main_db', site.mainSql)];
  if (site.trackingSql) dependencies.push(sqlDependency('tracking_db', site.trackingSql));
  // only the queues this site's role runs: the other role's would sit at "No workers" forever
  const queues = siteQueues(site);
  const metrics = createMetricsRegistry(() => queues, { site: site.config.SITE_NAME }, (registry) => registerGeoMetrics(registry, site));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, site: site.config.SITE_NAME, role: site.config.SITE_ROLE });
  });
  app.get('/readyz', async (_req, res) => {
    const result = await readiness(dependencies);
    res.status(result.ok ? 200 : 503).json(result);
  });
  app.get('/metrics', async (_req, res) => {
    try {
      const body = await metrics.metrics();
      res.setHeader('Content-Type', metrics.contentType).send(body);
    } catch (error) {
      res.status(503).type('text/plain').send(`metrics unavailable: ${(error as Error).message}\n`);
    }
  });
  app.use(BULL_BOARD_PATH, requireRole(auth), bullBoardRouter(queues, site.config.SITE_NAME));
  app.use(registryAdminMiddleware(site.geo, auth, { metrics }));
  // the geo status page sits beside Bull Board, behind the same credentials (viewer or admin)
  app.use([GEO_STATUS_API_PATH, GEO_STATUS_PAGE_PATH], requireRole(auth));
  app.use(geoStatusRouter(site.geo, options.geoStatus));
  for (const { path, router, access } of [...siteRouters(site), ...(options.routers ?? [])]) {
    if (access) app.use(path, requireRole(auth, access), router);
    else app.use(path, router);
  }

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  app.use((error: Error, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    // a body parser's refusal (malformed JSON, too large) is the client's error, with its own status
    const status = (error as { status?: unknown; expose?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: unknown }).expose === true) {
      if (!res.headersSent) res.status(status).json({ error: 'bad_request', message: error.message });
      return;
    }
    (res.locals.logger as Logger | undefined ?? site.logger).error({ err: error, path: req.path }, 'request failed');
    if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'internal error' });
  });
  return app;
}
