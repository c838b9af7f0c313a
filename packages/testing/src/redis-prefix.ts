import { Redis } from 'ioredis';
import { uniqueName } from './test-database';
import { testRedisUrl } from './env';

/** Deletes every key under `prefix:` (SCAN, never KEYS, so a shared Redis is not blocked). */
export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A queue prefix nobody else uses; `cleanup()` deletes every key under it. */
export function createTestPrefix(label = 'mtest'): { prefix: string; cleanup(): Promise<void> } {
  const prefix = uniqueName(label);
  return { prefix, cleanup: () => deleteKeysWithPrefix(prefix) };
}
