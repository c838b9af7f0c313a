import { Redis } from 'ioredis';
import { uniqueName } from './test-database';
import { testRedisUrl } from './env';

/** Deletes every key matching a SCAN pattern (SCAN, never KEYS, so a shared Redis is not blocked). */
async function deleteKeysMatching(pattern: string): Promise<void> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix:`. */
export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  await deleteKeysMatching(`${prefix}:*`);
}

/**
 * A queue prefix nobody else uses; `cleanup()` deletes every key that starts with it, so the
 * prefixes a test derives from it (`${prefix}-s`, `${prefix}-primary`) go too.
 */
export function createTestPrefix(label = 'mtest'): { prefix: string; cleanup(): Promise<void> } {
  const prefix = uniqueName(label);
  return { prefix, cleanup: () => deleteKeysMatching(`${prefix}*`) };
}
