// What the small- and large-blob benches share: a primary with blobs written on its storage, the
// primary's transfer endpoint in a real site-api process, the secondary's real worker processes,
// and the event cursor driven from this process (processEventBatch in a loop).
import { createOrganization, createPackage, createProject } from '@meridian/cell-models';
import { processEventBatch, RegistryState, secondaryContext } from '@meridian/geo';
import { printBench } from '@meridian/testing';
import type { SpawnedTs } from '@meridian/testing';
import { cpuSeconds, cpuSecondsOf, freePort, SITE_API, sleep, startProcess, WORKER, type BenchSites, type Cleanup } from './bench-harness';

export interface BlobRow {
  path: string;
  size: number;
  sha256: string;
}

export async function benchPackage(sites: BenchSites): Promise<bigint> {
  const main = sites.primary.mainSql;
  return createPackage(main, await createProject(main, await createOrganization(main, 'bench'), 'bench'), 'bench');
}

/** The primary's transfer endpoint: the real apps/site-api process on a free port. */
export async function startPrimaryApi(cleanup: Cleanup, sites: BenchSites): Promise<{ url: string; process: SpawnedTs }> {
  const port = await freePort();
  const child = await startProcess(cleanup, SITE_API, sites.primaryEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }), 'site api listening');
  return { url: `http://127.0.0.1:${port}`, process: child };
}

/** `count` secondary worker processes sharing one global sync capacity. */
export async function startWorkers(
  cleanup: Cleanup,
  sites: BenchSites,
  primaryUrl: string,
  options: { count: number; globalConcurrency: number; concurrency: number; env?: Record<string, string> },
): Promise<SpawnedTs[]> {
  const env = sites.secondaryEnv(primaryUrl, {
    QUEUE_GLOBAL_CONCURRENCY: `geo.sync.package_file=${options.globalConcurrency}`,
    QUEUE_CONCURRENCY: `geo.sync.package_file=${options.concurrency}`,
    ...options.env,
  });
  return Promise.all(Array.from({ length: options.count }, () => startProcess(cleanup, WORKER, env, 'worker started')));
}

/** Inserts package-file rows for blobs already on the primary's storage; the outbox trigger fires. */
export async function insertRows(sites: BenchSites, packageId: bigint, rows: readonly BlobRow[], offset: number): Promise<void> {
  const main = sites.primary.mainSql;
  await main`
    insert into packages_package_files (package_id, file_name, file_path, size, file_sha256)
    select ${packageId.toString()}, 'blob-' || (${offset}::int + o), p, s, c
    from unnest(${rows.map((r) => r.path)}::text[], ${rows.map((r) => r.size)}::bigint[], ${rows.map((r) => r.sha256)}::text[]) with ordinality as t(p, s, c, o)`;
}

export interface CursorLoop {
  /** resolves when `events` events were applied */
  done: Promise<void>;
  stop(): void;
  stats(): { batches: number; seconds: number };
}

/** processEventBatch in a loop (the event cursor job, without the scheduler's interval). */
export function runCursorLoop(sites: BenchSites, events: number): CursorLoop {
  let stopped = false;
  let applied = 0;
  let batches = 0;
  let busy = 0;
  const done = (async () => {
    while (!stopped && applied < events) {
      const t0 = performance.now();
      const result = await processEventBatch(secondaryContext(sites.secondary.geo));
      busy += performance.now() - t0;
      applied += result.events;
      batches += result.events > 0 ? 1 : 0;
      if (!result.more) await sleep(5);
    }
  })();
  return { done, stop: () => void (stopped = true), stats: () => ({ batches, seconds: busy / 1000 }) };
}

/** Synced registries, from the trigger-kept counters (never a COUNT over the registry). */
export async function syncedCount(sites: BenchSites): Promise<number> {
  const [row] = await sites.secondary.trackingSql!<{ n: number }[]>`
    select coalesce(sum(n), 0)::int as n from geo_registry_counts where replicable_name = 'package_file' and state = ${RegistryState.synced}`;
  return row!.n;
}

export async function registryDiagnosis(sites: BenchSites): Promise<string> {
  return JSON.stringify(
    await sites.secondary.trackingSql!`
      select state, count(*)::int as n, max(last_sync_failure) as failure from package_file_registry group by state`,
  );
}

/** Waits until `count` registries are synced; throws with a diagnosis after `timeoutMs`. */
export async function waitForSynced(sites: BenchSites, count: number, timeoutMs: number, children: readonly SpawnedTs[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await syncedCount(sites)) < count) {
    if (Date.now() > deadline) {
      const tails = children.map((c) => c.output().slice(-1500)).join('\n---\n');
      throw new Error(`only ${await syncedCount(sites)} of ${count} synced after ${timeoutMs} ms; registries ${await registryDiagnosis(sites)}\n${tails}`);
    }
    await sleep(20);
  }
}

/** CPU seconds per process (and for every postgres / redis-server process on the machine). */
export function cpuSnapshot(processes: Record<string, number>): () => Record<string, number> {
  const read = (): Record<string, number> => ({
    ...Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)])),
    'postgres (all, machine-wide)': cpuSecondsOf('postgres'),
    'redis (all, machine-wide)': cpuSecondsOf('redis-server'),
  });
  const before = read();
  return () => {
    const after = read();
    return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - before[name]!]));
  };
}

/** CPU seconds per process over the window, and per item (ms), so the cost of one blob shows. */
export function printCpu(label: string, usage: Record<string, number>, wallSeconds: number, items: number, unit: string): void {
  const total = Object.values(usage).reduce((a, b) => a + b, 0);
  printBench({
    name: `${label}: CPU per ${unit} (all processes)`,
    value: (total * 1000) / items,
    unit: 'ms',
    details: {
      wall: `${wallSeconds.toFixed(1)} s (${((total / wallSeconds) * 100).toFixed(0)} % of one core)`,
      ...Object.fromEntries(Object.entries(usage).map(([name, s]) => [name, `${s.toFixed(1)} s = ${((s * 1000) / items).toFixed(2)} ms/${unit}`])),
    },
  });
}
