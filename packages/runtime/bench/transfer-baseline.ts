// The small-blob bench's re-based baseline: the work a sync must do and nothing else. The same
// files fetched from the same primary API in the same batches (the sync batch size) at the same
// concurrency (the global sync capacity), each checked against its SHA-256, written to a temp file,
// flushed (one syncFiles per batch, as the sync job does) and renamed into place: no queue, no
// registry, no event cursor.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_GEO_SETTINGS, downloadBatch } from '@meridian/geo';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { createFilesystemStorage } from '@meridian/storage';
import { seconds } from '@meridian/testing';
import { eachLimited, SECRET, type BenchSites } from './bench-harness';

/** Blobs per second of the bare transfer path for every package file of `packageId`. */
export async function transferBaselineBlobsPerSecond(sites: BenchSites, primaryUrl: string, packageId: bigint, concurrency: number): Promise<number> {
  const rows = await sites.primary.mainSql<{ id: bigint; file_path: string; file_sha256: string | null }[]>`
    select id, file_path, file_sha256 from packages_package_files where package_id = ${packageId.toString()} order by id`;
  const batchSize = DEFAULT_GEO_SETTINGS.syncBatchSize;
  type Row = (typeof rows)[number];
  const batches: Row[][] = [];
  for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-transfer-baseline-'));
  try {
    const storage = createFilesystemStorage(root);
    let failed = 0;
    const elapsed = await seconds(() =>
      eachLimited(batches.length, concurrency, async (i) => {
        const batch = batches[i]!;
        const results = await downloadBatch({
          primaryUrl,
          secret: SECRET,
          replicable: packageFileReplicator.name,
          targets: batch.map((r) => ({ id: BigInt(r.id), destinationPath: r.file_path, expectedSha256: r.file_sha256 })),
          storage,
          durable: false,
        });
        for (const result of results.values()) if ('error' in result) failed += 1;
        await storage.syncFiles(batch.map((r) => r.file_path));
      }),
    );
    if (failed > 0) throw new Error(`transfer baseline: ${failed} blobs failed`);
    return rows.length / elapsed;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
