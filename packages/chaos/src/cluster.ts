import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSql, migrate, type Sql } from '@meridian/db';
import { freePort } from '@meridian/dev-services';
import { siteMigrationSet } from '@meridian/runtime';
import { createFilesystemStorage, type BlobStorage } from '@meridian/storage';
import { repoRoot, spawnNode, waitFor, type SpawnedTs } from '@meridian/testing';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import type { Random } from './random';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './servers';

const SECRET = 'chaos-shared-secret-0123456789abcdef0123';
const ADMIN_TOKEN = 'chaos-admin-token-0123456789';

const APPS = { siteApi: 'apps/site-api', worker: 'apps/worker', scheduler: 'apps/scheduler', topology: 'apps/topology-service' } as const;
export type App = keyof typeof APPS;
const READY: Record<App, string> = { siteApi: 'site api listening', worker: 'worker started', scheduler: 'job schedulers synced', topology: 'topology service listening' };

let built = false;
/** The apps' production bundles (what the image runs), built once per run. */
export function buildApps(): void {
  if (built) return;
  for (const dir of Object.values(APPS)) {
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts/bundle.mjs'), 'src/main.ts'], { cwd: path.join(repoRoot, dir), stdio: 'ignore' });
  }
  built = true;
}

/** One app process the suite supervises: it knows which exits it caused. */
export interface Managed {
  name: string;
  current: SpawnedTs;
  /** exits nobody asked for (a crash), with the output's tail */
  crashes: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  alive(): boolean;
}

export function managed(name: string, app: App, env: () => Record<string, string>): Managed {
  const bundle = path.join(repoRoot, APPS[app], 'dist/main.js');
  const self: Managed = {
    name,
    current: undefined as unknown as SpawnedTs,
    crashes: [],
    alive: () => self.current !== undefined && self.current.child.exitCode === null && self.current.child.signalCode === null,
    async start() {
      const child = spawnNode([bundle], env());
      let expected = false;
      self.current = child;
      (child as SpawnedTs & { expect?: () => void }).expect = () => (expected = true);
      void child.exited.then((code) => {
        if (!expected) self.crashes.push(`${name} exited with ${code}: ${child.output().slice(-2000)}`);
      });
      await waitFor(() => child.output().includes(READY[app]) || child.child.exitCode !== null, { timeoutMs: 60_000, message: `${name} start` });
    },
    async kill(signal = 'SIGKILL') {
      const child = self.current as SpawnedTs & { expect?: () => void };
      if (!self.alive()) return;
      child.expect?.();
      child.child.kill(signal);
      const timer = setTimeout(() => child.child.kill('SIGKILL'), 10_000);
      await child.exited;
      clearTimeout(timer);
    },
  };
  return self;
}

export interface ClusterOptions {
  workers: number;
  /** GEO_SYNC_TIMEOUT_MS of the secondary */
  syncTimeoutMs?: number;
  /** the secondary reaches the primary's site API through a fault proxy capped at this rate per connection */
  linkBytesPerSecond: number;
  random: Random;
  /** extra environment of the primary's and the secondary's processes */
  primaryEnv?: Record<string, string>;
  secondaryEnv?: Record<string, string>;
}

export interface ChaosCluster {
  base: string;
  primaryRoot: string;
  secondaryRoot: string;
  primaryStorage: BlobStorage;
  mainSql: Sql;
  trackingSql: Sql;
  postgres: PrivatePostgres;
  redis: { primary: PrivateRedis; secondary: PrivateRedis };
  proxy: FaultProxy;
  workers: Managed[];
  processes: Managed[];
  crashes(): string[];
  stop(): Promise<void>;
}

/**
 * A primary (site API, scheduler, worker) and a secondary (scheduler, `workers` workers) as real
 * processes, on private redis-servers (one per site) and a private PostgreSQL (main + tracking
 * databases), with storage roots in a temp directory.
 */
export async function startCluster(options: ClusterOptions): Promise<ChaosCluster> {
  buildApps();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-chaos-'));
  // PostgreSQL runs as the `postgres` user when we are root: it must reach its data directory
  fs.chmodSync(base, 0o755);
  const primaryRoot = path.join(base, 'primary');
  const secondaryRoot = path.join(base, 'secondary');
  const postgres = await startPrivatePostgres(path.join(base, 'pg'), await freePort());
  const redis = { primary: await startPrivateRedis(), secondary: await startPrivateRedis() };
  const admin = createSql(postgres.url, { max: 1 });
  await admin.unsafe('create database chaos_main');
  await admin.unsafe('create database chaos_tracking');
  await admin.end();
  const dbUrl = (name: string) => {
    const url = new URL(postgres.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const mainUrl = dbUrl('chaos_main');
  const trackingUrl = dbUrl('chaos_tracking');
  // the suite's own pools: reconnect on their own after a PostgreSQL restart
  const mainSql = createSql(mainUrl, { max: 4, applicationName: 'chaos' });
  const trackingSql = createSql(trackingUrl, { max: 4, applicationName: 'chaos' });
  await migrate(mainSql, siteMigrationSet('main'));
  await migrate(trackingSql, siteMigrationSet('geo_tracking'));
  const primaryStorage = createFilesystemStorage(primaryRoot);
  fs.mkdirSync(secondaryRoot, { recursive: true });

  const apiPort = await freePort();
  // always through the proxy: a link of bounded speed keeps blobs in flight while faults land
  const proxy = await startFaultProxy(apiPort, () => options.random.next(), { bytesPerSecond: options.linkBytesPerSecond });
  const common = {
    QUEUE_PREFIX: 'chaos',
    GEO_SHARED_SECRET: SECRET,
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    DATABASE_URL: mainUrl,
    SCHEDULER_RESYNC_MS: '2000',
    SHUTDOWN_TIMEOUT_MS: '5000',
    STORAGE_TEMP_FILE_MAX_AGE_MS: '10000',
    STORAGE_TEMP_SWEEP_INTERVAL_MS: '3000',
  };
  const primaryEnv = () => ({ ...common, SITE_ROLE: 'primary', SITE_NAME: 'primary', REDIS_URL: redis.primary.url, STORAGE_ROOT: primaryRoot, HOST: '127.0.0.1', PORT: String(apiPort), ...options.primaryEnv });
  const secondaryEnv = () => ({
    ...common,
    SITE_ROLE: 'secondary',
    SITE_NAME: 'secondary',
    GEO_TRACKING_DATABASE_URL: trackingUrl,
    REDIS_URL: redis.secondary.url,
    STORAGE_ROOT: secondaryRoot,
    PRIMARY_API_URL: proxy.url,
    GEO_EVENT_CURSOR_INTERVAL_MS: '500',
    GEO_REGISTRY_SYNC_INTERVAL_MS: '1000',
    GEO_CONSISTENCY_INTERVAL_MS: '5000',
    GEO_SYNC_TIMEOUT_CHECK_INTERVAL_MS: '5000',
    GEO_STATUS_REPORT_INTERVAL_MS: '5000',
    ...(options.syncTimeoutMs === undefined ? {} : { GEO_SYNC_TIMEOUT_MS: String(options.syncTimeoutMs) }),
    ...options.secondaryEnv,
  });
  const processes = [
    managed('primary site-api', 'siteApi', primaryEnv),
    managed('primary scheduler', 'scheduler', primaryEnv),
    managed('primary worker', 'worker', primaryEnv),
    managed('secondary scheduler', 'scheduler', secondaryEnv),
  ];
  const workers = Array.from({ length: options.workers }, (_, i) => managed(`secondary worker ${i + 1}`, 'worker', secondaryEnv));
  processes.push(...workers);
  for (const p of processes) await p.start();

  return {
    base,
    primaryRoot,
    secondaryRoot,
    primaryStorage,
    mainSql,
    trackingSql,
    postgres,
    redis,
    proxy,
    workers,
    processes,
    crashes: () => processes.flatMap((p) => p.crashes),
    async stop() {
      for (const p of processes) await p.kill('SIGTERM').catch(() => undefined);
      await proxy.close();
      await Promise.all([mainSql.end({ timeout: 2 }), trackingSql.end({ timeout: 2 })]);
      await redis.primary.stop();
      await redis.secondary.stop();
      await postgres.stop();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
