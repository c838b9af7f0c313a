import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { deleteKeysWithPrefix } from '@meridian/dev-services';
import { dropDatabase, type Sql } from '@meridian/db';
import { modelCounts } from '@meridian/geo';
import type { DemoSettings } from './demo-processes';

/** The queue prefix of one demo site (both sites share one Redis). */
export function demoQueuePrefix(name: string, site: 'primary' | 'secondary'): string {
  return `meridian-${name}-${site}`;
}

/** Blobs an earlier run left on the primary, per replicable type (empty when the demo starts clean). */
export async function earlierSeed(main: Sql): Promise<Map<string, number>> {
  const counts = await modelCounts(main);
  return new Map([...counts].filter(([, n]) => n > 0));
}

/**
 * `npm run demo -- --reset`: drops the demo's databases and Redis keys and removes its state
 * directory (storage, logs, the embedded servers' data, also when that was moved out of the checkout).
 */
export async function resetDemo(settings: Pick<DemoSettings, 'name' | 'root' | 'redisUrl' | 'databases'>, write: (line: string) => void): Promise<void> {
  for (const url of Object.values(settings.databases)) {
    await dropDatabase(url);
    write(`• dropped database ${new URL(url).pathname.slice(1)}`);
  }
  for (const site of ['primary', 'secondary'] as const) {
    const deleted = await deleteKeysWithPrefix(settings.redisUrl, demoQueuePrefix(settings.name, site));
    write(`• deleted ${deleted} Redis key(s) under ${demoQueuePrefix(settings.name, site)}:`);
  }
}

/** Removes the state directory, after its servers stopped. */
export function removeStateDir(root: string, write: (line: string) => void): void {
  const pointer = path.join(root, 'services', 'postgres.location');
  if (existsSync(pointer)) {
    const moved = readFileSync(pointer, 'utf8').trim();
    if (moved) {
      rmSync(moved, { recursive: true, force: true });
      write(`• removed ${moved}`);
    }
  }
  rmSync(root, { recursive: true, force: true });
  write(`• removed ${root}`);
  // the `.meridian` folder the demo made for its state goes too, when nothing else is in it
  try {
    rmdirSync(path.dirname(root));
  } catch {
    // not empty (another demo's state, embedded test servers' data) or already gone: keep it
  }
}
