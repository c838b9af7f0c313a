import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '@meridian/logger';
import { createOutageReporter } from './outage-reporter';

export type ConnectionRole = 'worker' | 'producer';

/**
 * Workers block on Redis and must wait out any outage (`maxRetriesPerRequest: null`, BullMQ's
 * requirement). Producers (API handlers, schedulers) must fail fast instead of queueing commands
 * in memory while Redis is down, so the caller can answer an error.
 */
export async function createRedisConnection(url: string, role: ConnectionRole, name?: string, logger?: Logger): Promise<Redis> {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000, lazyConnect: true };
  if (name) options.connectionName = name;
  const redis = new Redis(url, options);
  // ioredis emits 'error' on every reconnect attempt; without a listener Node would crash. With a
  // logger, an outage is reported once (lost), then its recovery with the count suppressed.
  if (logger) {
    const reporter = createOutageReporter(logger, `connection ${name ?? role}`);
    redis.on('error', (error: unknown) => reporter.error(error));
    redis.on('ready', () => reporter.recovered());
  } else {
    redis.on('error', () => undefined);
  }
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  return redis;
}

export class RedisPolicyError extends Error {
  override readonly name = 'RedisPolicyError';
}

/**
 * BullMQ loses jobs when Redis evicts keys. Refuse to start unless maxmemory-policy is noeviction.
 * Read through INFO, which managed Redis services allow even where CONFIG GET is disabled.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const info = await redis.info('memory');
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy !== undefined && policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}" but BullMQ needs "noeviction" (evicted keys are lost jobs). ` +
        'Fix: `redis-cli CONFIG SET maxmemory-policy noeviction` and set `maxmemory-policy noeviction` in redis.conf.',
    );
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}
