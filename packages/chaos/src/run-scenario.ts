import { startCluster } from './cluster';
import { lossCounters, registriesNotSynced, totalLoss, type CheckOptions, type LossCounters } from './check';
import { seededRandom } from './random';
import { sleep, type Scenario } from './scenarios';
import { deleteRows, workloadPackage, writeBlobs, type Workload } from './workload';

/** per connection between the secondary and the primary (the fault proxy's cap) */
export const LINK_BYTES_PER_SECOND = 2 * 1024 * 1024;

export interface RunSize {
  blobs: number;
  waves: number;
  faultWindowMs: number;
  convergeBoundMs: number;
}

export const FULL: RunSize = { blobs: 300, waves: 6, faultWindowMs: 45_000, convergeBoundMs: 480_000 };
export const SHORT: RunSize = { blobs: 80, waves: 4, faultWindowMs: 15_000, convergeBoundMs: 240_000 };

export interface RunResult {
  scenario: number;
  seed: number;
  converged: boolean;
  /** from the end of fault injection until every counter was zero */
  convergeSeconds: number;
  totalSeconds: number;
  work: { blobsWritten: number; mib: number; rowsDeleted: number; liveBlobs: number };
  faults: Record<string, number>;
  /** registries being synced at the moments faults were injected, summed */
  syncsInFlightAtFaults: number;
  /** every counter must be zero (LossCounters for the Geo scenarios, a scenario's own otherwise) */
  loss: Record<string, number>;
  /** a scenario with its own workload describes it here instead of `work` */
  workload?: string;
  /** processes that exited without being told to (each was restarted) */
  crashes: string[];
}

/** One scenario with one seed: start everything, drive the workload, inject faults, wait, count. */
export async function runScenario(scenario: Scenario, seed: number, size: RunSize, log: (line: string) => void): Promise<RunResult> {
  if (scenario.run) return scenario.run(seed, size, log);
  const started = Date.now();
  const random = seededRandom(seed * 1_000 + scenario.id);
  const workloadRandom = seededRandom(seed * 1_000 + scenario.id + 500);
  const cluster = await startCluster({ ...scenario.cluster, random, linkBytesPerSecond: LINK_BYTES_PER_SECOND });
  const faults: Record<string, number> = {};
  let inFlight = 0;
  try {
    const packageId = await workloadPackage(cluster);
    const workload: Workload = { created: 0, bytes: 0, deleted: 0, ids: [] };
    const until = Date.now() + size.faultWindowMs;
    // blobs written steadily through the fault window (so faults land on work in flight), deletes
    // after each of `waves` parts
    const drive = (async () => {
      const perWave = Math.ceil(size.blobs / size.waves);
      const pause = size.faultWindowMs / size.blobs;
      for (let wave = 0; wave < size.waves; wave++) {
        for (let i = 0; i < perWave; i++) {
          await writeBlobs(cluster, packageId, workload, 1, workloadRandom);
          await sleep(pause);
        }
        if (scenario.deleteShare) {
          const deleted = await deleteRows(cluster, workload, Math.ceil(workload.ids.length * scenario.deleteShare), workloadRandom);
          faults['rows deleted on the primary'] = (faults['rows deleted on the primary'] ?? 0) + deleted.length;
        }
      }
    })();
    const inject = scenario.inject({
      cluster,
      random,
      until,
      fault: (kind) => {
        faults[kind] = (faults[kind] ?? 0) + 1;
        // how much work each fault caught mid-way (registries `started` at that moment)
        void cluster.trackingSql<{ n: number }[]>`select count(*)::int as n from package_file_registry where state = 1`.then(
          ([row]) => {
            inFlight += row!.n;
            log(`  fault: ${kind} (${row!.n} syncs in flight)`);
          },
          () => log(`  fault: ${kind}`),
        );
      },
    });
    // the workload retries its writes across a PostgreSQL restart
    await Promise.all([retrying(() => drive, log), inject]);
    // healed: restart anything that died on its own (counted as a crash)
    for (const p of cluster.processes) if (!p.alive()) await p.start();
    const healed = Date.now();
    const check = { requireVerified: scenario.requireVerified ?? false };
    let loss = await waitForConvergence(cluster, healed + size.convergeBoundMs, check);
    const converged = totalLoss(loss) === 0;
    if (!converged) loss = await lossCounters(cluster, check);
    const [live] = await cluster.mainSql<{ n: number }[]>`select count(*)::int as n from packages_package_files`;
    return {
      scenario: scenario.id,
      seed,
      converged,
      convergeSeconds: Math.round((Date.now() - healed) / 100) / 10,
      totalSeconds: Math.round((Date.now() - started) / 1000),
      work: { blobsWritten: workload.created, mib: Math.round((workload.bytes / 1024 / 1024) * 10) / 10, rowsDeleted: workload.deleted, liveBlobs: live!.n },
      faults,
      syncsInFlightAtFaults: inFlight,
      loss: { ...loss },
      crashes: cluster.crashes(),
    };
  } finally {
    await cluster.stop();
  }
}

async function retrying(run: () => Promise<void>, log: (line: string) => void): Promise<void> {
  try {
    await run();
  } catch (error) {
    log(`  workload write failed (${(error as Error).message}); the written part stands`);
  }
}

/** Polls the cheap registry figures, then the full file check, until every counter is zero or the bound passes. */
async function waitForConvergence(cluster: Awaited<ReturnType<typeof startCluster>>, deadline: number, check: CheckOptions): Promise<LossCounters> {
  let last: LossCounters | undefined;
  while (Date.now() < deadline) {
    try {
      const quick = await registriesNotSynced(cluster, check);
      if (quick.notSynced === 0 && quick.pendingDeletions === 0 && quick.notVerified === 0) {
        last = await lossCounters(cluster, check);
        if (totalLoss(last) === 0) return last;
      }
    } catch {
      // a database still coming back: try again
    }
    await sleep(1_000);
  }
  return last ?? (await lossCounters(cluster, check));
}
