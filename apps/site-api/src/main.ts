import { loadConfig } from '@meridian/config';
import { createLogger } from '@meridian/logger';
import { onShutdownSignals } from '@meridian/queue';
import { openSiteResources, runMain } from '@meridian/runtime';
import { createSiteApi } from './create-app';
import { siteHttpLimits, startSiteHttpServer } from './http-server';

runMain('site-api', async () => {
  const config = loadConfig(process.env, ['ADMIN_TOKEN', 'GEO_SHARED_SECRET']);
  const logger = createLogger({ name: 'site-api', level: config.LOG_LEVEL, base: { site: config.SITE_NAME } });
  const site = await openSiteResources(config, logger, { redisRole: 'producer', poolSize: 5 });
  const app = createSiteApi({ site, adminToken: config.ADMIN_TOKEN, viewerToken: config.VIEWER_TOKEN });
  const server = await startSiteHttpServer(app, siteHttpLimits(config), config.PORT, config.HOST);
  logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'site api listening');
  onShutdownSignals(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await site.close();
  }, logger);
});
