// What a full `npm test` left on the servers and disk that was not there before it: databases,
// Redis keys and `.meridian/` folders. Tests must clean up after themselves (templates are
// dropped by the preset's global teardown, key prefixes by their cleanup), so anything new is a
// defect; run-tests.ts fails a full run on it in CI and warns elsewhere (where other runs may
// share the servers at the same time).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';

export interface Snapshot {
  databases: Set<string>;
  redisKeys: Set<string>;
  folders: Set<string>;
}

const SAMPLE = 10;

async function databases(url: string): Promise<Set<string>> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
  try {
    const rows = await sql<{ datname: string }[]>`select datname from pg_database`;
    return new Set(rows.map((r) => r.datname));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function redisKeys(url: string): Promise<Set<string>> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    const out = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) out.add(key);
    } while (cursor !== '0');
    return out;
  } finally {
    redis.disconnect();
  }
}

/** `.meridian` folders (and what is directly inside them) at the root and in every package. */
function meridianFolders(root: string, packageDirs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const dir of [root, ...packageDirs]) {
    const folder = path.join(dir, '.meridian');
    if (!existsSync(folder)) continue;
    out.add(path.relative(root, folder) || '.meridian');
    for (const entry of readdirSync(folder)) out.add(path.relative(root, path.join(folder, entry)));
  }
  return out;
}

export async function snapshot(urls: { postgresUrl: string; redisUrl: string }, root: string, packageDirs: readonly string[]): Promise<Snapshot> {
  const [dbs, keys] = await Promise.all([databases(urls.postgresUrl), redisKeys(urls.redisUrl)]);
  return { databases: dbs, redisKeys: keys, folders: meridianFolders(root, packageDirs) };
}

function added(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((x) => !before.has(x)).sort();
}

/** One line per kind of leftover, empty when the run left nothing. */
export function leftovers(before: Snapshot, after: Snapshot): string[] {
  const lines: string[] = [];
  const describe = (kind: string, items: string[]) => {
    if (items.length === 0) return;
    const shown = items.slice(0, SAMPLE).join(', ');
    lines.push(`${items.length} ${kind}: ${shown}${items.length > SAMPLE ? ', …' : ''}`);
  };
  describe('databases', added(before.databases, after.databases));
  describe('Redis keys', added(before.redisKeys, after.redisKeys));
  describe('.meridian entries', added(before.folders, after.folders));
  return lines;
}
