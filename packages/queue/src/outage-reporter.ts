import type { Logger } from '@meridian/logger';

// Errors that mean "Redis is unreachable", as ioredis and BullMQ report them during an outage.
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const CONNECTION_MESSAGES = /Connection is closed|connect ECONNREFUSED|Stream isn't writeable|Socket closed unexpectedly|read ECONNRESET|write EPIPE|LOADING Redis is loading/i;

/** Whether `error` says the Redis connection is down (rather than a bug or a bad command). */
export function isConnectionError(error: unknown): boolean {
  // duck-typed: errors from node:net may come from another realm (instanceof Error fails there)
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  // AggregateError from a connection attempt to several addresses
  const inner = (error as { errors?: unknown[] }).errors;
  return Array.isArray(inner) && inner.some(isConnectionError);
}

export interface OutageReporter {
  /** a connection error: the first of an outage is logged, the rest only counted */
  error(error: unknown): void;
  /** the connection is usable again: logs the recovery with what was suppressed */
  recovered(): void;
  /** true between the first error and the recovery */
  readonly down: boolean;
}

/**
 * One Redis outage, one pair of log lines per connection group: `redis connection lost` (error,
 * with the first error) and `redis connection recovered` (info, with how long it was down and how
 * many further errors were suppressed). Without it a worker logged every reconnect attempt and
 * every failed command of every queue: ~50 errors per queue in six seconds.
 */
export function createOutageReporter(logger: Logger, group: string, now: () => number = Date.now): OutageReporter {
  let since: number | undefined;
  let suppressed = 0;
  return {
    error(error) {
      if (since === undefined) {
        since = now();
        suppressed = 0;
        logger.error({ group, err: error }, 'redis connection lost');
        return;
      }
      suppressed += 1;
    },
    recovered() {
      if (since === undefined) return;
      logger.info({ group, downMs: now() - since, suppressedErrors: suppressed }, 'redis connection recovered');
      since = undefined;
      suppressed = 0;
    },
    get down() {
      return since !== undefined;
    },
  };
}
