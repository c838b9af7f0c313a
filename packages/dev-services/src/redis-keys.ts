import { Redis } from 'ioredis';

/** Deletes every key under `prefix:` (SCAN, never KEYS, so a shared Redis is not blocked); returns how many. */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, connectTimeout: 5_000 });
  redis.on('error', () => undefined); // surfaces on the commands below
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
