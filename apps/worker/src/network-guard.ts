import type { Logger } from '@meridian/logger';
import { isConnectionError } from '@meridian/queue';

/**
 * postgres.js 3.4.9 (the newest release) can write to a socket its own `closed()` has just set
 * to null: a small write scheduled with setImmediate fires after the server went away (a
 * PostgreSQL restart), and the TypeError is thrown from that timer, outside every query
 * (upstream porsager/postgres#1066 and #1154; the guard is PR #1168, not released). The
 * connection is already closed, its queries already failed with CONNECTION_CLOSED and the pool
 * reconnects, so nothing is lost by carrying on. Matched narrowly: that message, thrown from the
 * driver's connection.js.
 */
export function isPostgresClosedSocketWrite(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  return /null \(reading 'write'\)/.test(error.message) && /[\\/]postgres[\\/](?:cjs[\\/])?src[\\/]connection\.js/.test(error.stack ?? '');
}

/**
 * Last line of defence: a promise rejected by a network error that nobody awaited (a reset
 * connection, a refused one) is logged and the worker keeps running — no network error may take
 * a worker down. The known cause of such rejections is fixed (a transfer re-sent after a reset
 * mid-response, download-blob.ts); this keeps an unknown one from costing a pod. The one known
 * uncaught exception a network event causes (the driver defect above) is survived the same way.
 * Any other unhandled rejection or exception is a bug: logged as fatal, exit 1, as Node would.
 */
export function guardNetworkErrors(logger: Logger): () => void {
  const fatal = (error: unknown, message: string): void => {
    logger.fatal({ err: error }, message);
    logger.flush();
    process.exit(1);
  };
  const onRejection = (reason: unknown): void => {
    if (isConnectionError(reason)) {
      logger.error({ err: reason }, 'unhandled network error: the worker keeps running');
      return;
    }
    fatal(reason, 'unhandled promise rejection');
  };
  const onException = (error: unknown): void => {
    if (isPostgresClosedSocketWrite(error)) {
      logger.error({ err: error }, 'postgres driver wrote to a closed connection: the worker keeps running');
      return;
    }
    fatal(error, 'uncaught exception');
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
