import { randomBytes } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import type { ChaosCluster } from './cluster';
import type { Random } from './random';

export interface Workload {
  /** blobs written on the primary so far */
  created: number;
  bytes: number;
  deleted: number;
  ids: bigint[];
}

/** Mostly small blobs (1–64 KiB), one in seven large (256 KiB – 3 MiB): both transfer paths. */
function blobSize(random: Random): number {
  return random.chance(1 / 7) ? random.int(256 * 1024, 3 * 1024 * 1024) : random.int(1024, 64 * 1024);
}

export async function workloadPackage(cluster: ChaosCluster): Promise<bigint> {
  const sql = cluster.mainSql;
  return createPackage(sql, await createProject(sql, await createOrganization(sql, 'chaos'), 'chaos'), 'chaos');
}

/** Writes `count` blobs through the cell's writer (file + row in one go; the outbox trigger fires). */
export async function writeBlobs(cluster: ChaosCluster, packageId: bigint, workload: Workload, count: number, random: Random): Promise<void> {
  for (let i = 0; i < count; i++) {
    const size = blobSize(random);
    const bytes = randomBytes(size);
    const id = await withRetries(() => createPackageFile(cluster.mainSql, cluster.primaryStorage, packageId, `blob-${workload.created}.bin`, bytes));
    workload.ids.push(id);
    workload.created += 1;
    workload.bytes += size;
  }
}

/** The workload keeps writing across a PostgreSQL restart: a failed write is tried again. */
async function withRetries<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Deletes `count` random rows of those written so far on the primary (their blobs are then someone else's problem: the secondary's). */
export async function deleteRows(cluster: ChaosCluster, workload: Workload, count: number, random: Random): Promise<bigint[]> {
  const victims: bigint[] = [];
  for (let i = 0; i < count && workload.ids.length > 0; i++) {
    victims.push(workload.ids.splice(random.int(0, workload.ids.length - 1), 1)[0]!);
  }
  if (victims.length === 0) return [];
  await withRetries(() => cluster.mainSql`delete from packages_package_files where id = any(${victims.map(String)}::bigint[])`);
  workload.deleted += victims.length;
  return victims;
}
