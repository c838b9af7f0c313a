import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChaosCluster } from './cluster';

export interface LossCounters {
  /** live rows whose blob is not on the secondary */
  blobsMissing: number;
  /** live rows whose secondary blob's SHA-256 differs from the primary's file */
  blobsDifferent: number;
  /** live rows without a synced registry, plus registries whose row is gone */
  registriesNotSynced: number;
  /** `.tmp-*` files left in either site's storage */
  tempFilesLeft: number;
  /** files on the secondary that belong to no live row (deleted rows' blobs) */
  filesForDeletedRows: number;
  /**
   * scenarios that require verification: live rows whose registry is not verified (succeeded)
   * with exactly the primary's checksum
   */
  registriesNotVerified: number;
}

export const ZERO: LossCounters = { blobsMissing: 0, blobsDifferent: 0, registriesNotSynced: 0, tempFilesLeft: 0, filesForDeletedRows: 0, registriesNotVerified: 0 };

export interface CheckOptions {
  requireVerified?: boolean;
}

/** Live rows whose secondary registry is not verified against the primary's current checksum. */
async function registriesNotVerified(cluster: ChaosCluster): Promise<number> {
  const primary = await cluster.mainSql<{ id: bigint; checksum: string | null; state: number }[]>`
    select m.id, encode(s.verification_checksum, 'hex') as checksum, coalesce(s.verification_state, 0) as state
    from packages_package_files m left join package_file_states s on s.package_file_id = m.id`;
  const secondary = await cluster.trackingSql<{ id: bigint; checksum: string | null; state: number }[]>`
    select package_file_id as id, encode(verification_checksum, 'hex') as checksum, verification_state as state from package_file_registry where state = 2`;
  const ours = new Map(secondary.map((r) => [r.id, r]));
  let n = 0;
  for (const row of primary) {
    const mine = ours.get(row.id);
    if (row.state !== 2 || !mine || mine.state !== 2 || mine.checksum !== row.checksum) n += 1;
  }
  return n;
}

function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile()) out.push(path.relative(root, full));
    }
  };
  visit(root);
  return out;
}

const isTemporary = (file: string) => path.basename(file).startsWith('.tmp-');

function sha256(file: string): string | undefined {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/** Registry-level figures only (cheap): what convergence waits on before hashing files. */
export async function registriesNotSynced(cluster: ChaosCluster, options: CheckOptions = {}): Promise<{ notSynced: number; pendingDeletions: number; notVerified: number }> {
  const live = await cluster.mainSql<{ id: bigint }[]>`select id from packages_package_files`;
  const registries = await cluster.trackingSql<{ id: bigint; state: number }[]>`select package_file_id as id, state from package_file_registry`;
  const [deletions] = await cluster.trackingSql<{ n: number }[]>`select count(*)::int as n from geo_pending_deletions`;
  const state = new Map(registries.map((r) => [r.id, r.state]));
  const liveIds = new Set(live.map((r) => r.id));
  let notSynced = 0;
  for (const { id } of live) if (state.get(id) !== 2) notSynced += 1;
  for (const { id } of registries) if (!liveIds.has(id)) notSynced += 1;
  return { notSynced, pendingDeletions: deletions!.n, notVerified: options.requireVerified ? await registriesNotVerified(cluster) : 0 };
}

/** Every loss counter, from the databases and both sites' files (SHA-256 of each blob on both sides). */
export async function lossCounters(cluster: ChaosCluster, options: CheckOptions = {}): Promise<LossCounters> {
  const live = await cluster.mainSql<{ id: bigint; file_path: string }[]>`select id, file_path from packages_package_files`;
  const { notSynced, notVerified } = await registriesNotSynced(cluster, options);
  const counters: LossCounters = { ...ZERO, registriesNotSynced: notSynced, registriesNotVerified: notVerified };
  const livePaths = new Set(live.map((r) => r.file_path));
  for (const row of live) {
    const copy = sha256(path.join(cluster.secondaryRoot, row.file_path));
    if (copy === undefined) counters.blobsMissing += 1;
    else if (copy !== sha256(path.join(cluster.primaryRoot, row.file_path))) counters.blobsDifferent += 1;
  }
  const secondaryFiles = walk(cluster.secondaryRoot);
  counters.tempFilesLeft = secondaryFiles.filter(isTemporary).length + walk(cluster.primaryRoot).filter(isTemporary).length;
  counters.filesForDeletedRows = secondaryFiles.filter((f) => !isTemporary(f) && !livePaths.has(f)).length;
  return counters;
}

export function totalLoss(counters: LossCounters): number {
  return Object.values(counters).reduce((a, b) => a + b, 0);
}
