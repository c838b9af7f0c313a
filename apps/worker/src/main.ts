import { loadConfig } from '@meridian/config';
import { createLogger } from '@meridian/logger';
import { onShutdownSignals } from '@meridian/queue';
import { applyHeapGrowing, openSiteResources, runMain, siteProcessors } from '@meridian/runtime';
import { guardNetworkErrors } from './network-guard';
import { runWorker } from './run-worker';

runMain('worker', async () => {
  // a secondary's workers download blobs, which needs the transfer secret
  const config = loadConfig(process.env, process.env.SITE_ROLE === 'secondary' ? ['GEO_SHARED_SECRET'] : []);
  applyHeapGrowing(config.WORKER_HEAP_GROWING_PERCENT);
  const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL, base: { site: config.SITE_NAME } });
  guardNetworkErrors(logger);
  const site = await openSiteResources(config, logger, { redisRole: 'worker' });
  const worker = await runWorker({ site, registrations: siteProcessors(site) });
  onShutdownSignals(() => worker.stop(), logger);
});
