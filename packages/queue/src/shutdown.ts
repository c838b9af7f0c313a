import type { Logger } from '@meridian/logger';

/**
 * Runs `stop` once on the first SIGTERM or SIGINT; a second signal exits at once (an operator
 * pressing Ctrl-C twice means it). Exits 0 after a clean stop, 1 when stop throws.
 */
export function onShutdownSignals(stop: (signal: NodeJS.Signals) => Promise<void>, logger: Logger): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop(signal).then(
      () => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
