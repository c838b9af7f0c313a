import type { Logger } from '@meridian/logger';
import { isConnectionError } from '@meridian/queue';

/**
 * Last line of defence: a promise rejected by a network error that nobody awaited (a reset
 * connection, a refused one) is logged and the worker keeps running — no network error may take
 * a worker down. The known cause of such rejections is fixed (a transfer re-sent after a reset
 * mid-response, download-blob.ts); this keeps an unknown one from costing a pod. Any other
 * unhandled rejection is a bug: it is logged as fatal and the process exits 1, as Node would.
 */
export function guardNetworkErrors(logger: Logger): () => void {
  const onRejection = (reason: unknown): void => {
    if (isConnectionError(reason)) {
      logger.error({ err: reason }, 'unhandled network error: the worker keeps running');
      return;
    }
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    logger.flush();
    process.exit(1);
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
