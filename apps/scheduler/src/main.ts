import { loadConfig } from '@meridian/config';
import { createLogger } from '@meridian/logger';
import { onShutdownSignals } from '@meridian/queue';
import { openSiteResources, runMain, siteSchedules } from '@meridian/runtime';
import { startSchedulerLoop } from './scheduler-loop';

runMain('scheduler', async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'scheduler', level: config.LOG_LEVEL, base: { site: config.SITE_NAME } });
  const site = await openSiteResources(config, logger, { redisRole: 'producer', poolSize: 2 });
  const loop = await startSchedulerLoop({
    queues: site.queues,
    schedules: siteSchedules(config),
    intervalMs: config.SCHEDULER_RESYNC_MS,
    logger,
  });
  onShutdownSignals(async () => {
    await loop.stop();
    await site.close();
  }, logger);
});
