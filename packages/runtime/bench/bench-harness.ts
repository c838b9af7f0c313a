// A primary and a secondary over real PostgreSQL databases, real Redis (own key prefixes), real
// storage directories (own temp dirs), and helpers for real child processes. Adapted from
// test/geo/geo-harness.ts (benches never import from test/). Everything a bench creates is
// registered with a Cleanup as soon as it exists, so a failure half-way still drops it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@meridian/config';
import { createSql, migrate } from '@meridian/db';
import type { GeoSettings } from '@meridian/geo';
import { createLogger } from '@meridian/logger';
import { createTestDatabase, createTestPrefix, deleteKeysWithPrefix, repoRoot, spawnNode, spawnTs, testRedisUrl, waitFor, type SpawnedTs, type TestDatabase } from '@meridian/testing';
import { openSiteResources, siteMigrationSet, type SiteResources } from '../src';

export const SECRET = 'geo-bench-shared-secret-0123456789abcdef';
export const ADMIN_TOKEN = 'geo-bench-admin-token-0123456789';
export const WORKER = 'apps/worker/src/main.ts';
export const SITE_API = 'apps/site-api/src/main.ts';

/** LIFO cleanup steps; each runs even when an earlier one throws. */
export class Cleanup {
  private readonly steps: Array<{ label: string; run: () => Promise<unknown> | unknown }> = [];

  add(label: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ label, run });
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`bench cleanup "${step.label}" failed: ${String(error)}\n`);
      }
    }
  }
}

/** Runs `body` with a fresh Cleanup that always runs afterwards, also on SIGINT/SIGTERM. */
export async function withCleanup<T>(body: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    void cleanup.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body(cleanup);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup.run();
  }
}

export function benchLogger() {
  return createLogger({ name: 'geo-bench', level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
}

export function tempDir(cleanup: Cleanup, label: string, base = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(base, `meridian-bench-${label}-`));
  cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function benchDatabase(cleanup: Cleanup, label: string, kind: 'main' | 'geo_tracking'): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  cleanup.add(`drop ${db.name}`, () => db.drop());
  const sql = createSql(db.url, { max: 1 });
  try {
    await migrate(sql, siteMigrationSet(kind));
  } finally {
    await sql.end();
  }
  return db;
}

export interface BenchSites {
  primary: SiteResources;
  secondary: SiteResources;
  mainDb: TestDatabase;
  trackingDb: TestDatabase;
  primaryRoot: string;
  secondaryRoot: string;
  queuePrefix: { primary: string; secondary: string };
  /** environment of a secondary app process (worker) sharing these stores */
  secondaryEnv(primaryUrl: string, overrides?: Record<string, string>): Record<string, string>;
  /** environment of a primary app process (site-api) sharing these stores */
  primaryEnv(overrides?: Record<string, string>): Record<string, string>;
}

/**
 * Databases, prefixes, storage roots and the two sites' resources in this process. No HTTP server
 * and no workers: benches add those (in process or as child processes) as they need.
 */
export async function openBenchSites(
  cleanup: Cleanup,
  options: { geoSettings?: Partial<GeoSettings>; primaryPoolSize?: number; secondaryPoolSize?: number; storageBase?: string; primaryUrl?: string } = {},
): Promise<BenchSites> {
  const mainDb = await benchDatabase(cleanup, 'mgeob', 'main');
  const trackingDb = await benchDatabase(cleanup, 'mgeobt', 'geo_tracking');
  const primaryRoot = tempDir(cleanup, 'primary', options.storageBase);
  const secondaryRoot = tempDir(cleanup, 'secondary', options.storageBase);
  const prefix = createTestPrefix('mgeob').prefix;
  const queuePrefix = { primary: `${prefix}-p`, secondary: `${prefix}-s` };
  cleanup.add('redis keys', async () => {
    await deleteKeysWithPrefix(queuePrefix.primary);
    await deleteKeysWithPrefix(queuePrefix.secondary);
  });
  const logger = benchLogger();
  const primaryEnv = (overrides: Record<string, string> = {}) => ({
    SITE_ROLE: 'primary',
    SITE_NAME: 'primary',
    DATABASE_URL: mainDb.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: queuePrefix.primary,
    STORAGE_ROOT: primaryRoot,
    GEO_SHARED_SECRET: SECRET,
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    ...overrides,
  });
  const secondaryEnv = (primaryUrl: string, overrides: Record<string, string> = {}) => ({
    SITE_ROLE: 'secondary',
    SITE_NAME: 'secondary',
    DATABASE_URL: mainDb.url,
    GEO_TRACKING_DATABASE_URL: trackingDb.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: queuePrefix.secondary,
    STORAGE_ROOT: secondaryRoot,
    PRIMARY_API_URL: primaryUrl,
    GEO_SHARED_SECRET: SECRET,
    LOG_LEVEL: 'info',
    ...overrides,
  });
  const primary = await openSiteResources(loadConfig(primaryEnv()), logger, { redisRole: 'producer', poolSize: options.primaryPoolSize ?? 4 });
  cleanup.add('primary resources', () => primary.close());
  const secondary = await openSiteResources(loadConfig(secondaryEnv(options.primaryUrl ?? 'http://127.0.0.1:1')), logger, {
    redisRole: 'producer',
    poolSize: options.secondaryPoolSize ?? 4,
    geoSettings: options.geoSettings ?? {},
  });
  cleanup.add('secondary resources', () => secondary.close());
  return { primary, secondary, mainDb, trackingDb, primaryRoot, secondaryRoot, queuePrefix, secondaryEnv, primaryEnv };
}

/** A port free right now (for a child process that needs a fixed PORT). */
export async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const bundles = new Map<string, string>();

/**
 * The app's esbuild bundle, built once per bench run: what the image runs, and what benches
 * measure (a process under tsx carries the loader's heap and pays more garbage collection).
 * BENCH_APPS=tsx runs the TypeScript sources instead.
 */
function bundleOf(entry: string): string {
  const appDir = path.resolve(repoRoot, entry, '../..');
  let bundle = bundles.get(appDir);
  if (bundle === undefined) {
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts/bundle.mjs'), path.relative(appDir, path.resolve(repoRoot, entry))], { cwd: appDir, stdio: 'ignore' });
    bundle = path.join(appDir, 'dist', `${path.basename(entry, '.ts')}.js`);
    bundles.set(appDir, bundle);
  }
  return bundle;
}

/** Spawns an app (its bundle, see bundleOf), waits for `ready` in its output, and kills it at cleanup. */
export async function startProcess(cleanup: Cleanup, entry: string, env: Record<string, string>, ready: string): Promise<SpawnedTs> {
  const child = process.env.BENCH_APPS === 'tsx' ? spawnTs(entry, env) : spawnNode([bundleOf(entry)], env);
  cleanup.add(`stop ${entry} ${child.child.pid}`, async () => {
    if (child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGTERM');
      const timer = setTimeout(() => child.child.kill('SIGKILL'), 10_000);
      await child.exited;
      clearTimeout(timer);
    }
  });
  await waitFor(() => child.output().includes(ready) || child.child.exitCode !== null, { timeoutMs: 60_000, message: `${entry} start` });
  if (child.child.exitCode !== null) throw new Error(`${entry} exited: ${child.output().slice(-3000)}`);
  return child;
}

/** user + system CPU seconds of a process so far (Linux /proc), or NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // after "pid (comm) ": state is field 3 → index 0; utime is field 14 → index 11, stime 15 → 12
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Total CPU seconds of every process whose command name is `comm` (e.g. postgres, redis-server). */
export function cpuSecondsOf(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      total += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight. */
export async function eachLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
