// Small-blob replication: 10,000 blobs of 4 KiB created on the primary (files written with the
// storage package beforehand, rows inserted in bulk so the outbox trigger writes the events),
// timed from the first row insert until every registry is synced on the secondary. The secondary
// runs 2 real worker processes (apps/worker) sharing one global sync capacity; the event cursor is
// processEventBatch in a loop in this process; the primary's transfer endpoint is the real
// apps/site-api process. Next to the bare transfer path over the same files (transfer-baseline.ts)
// and bare BullMQ no-op jobs/s, from the same run.
import { randomBytes } from 'node:crypto';
import { printBench, seconds } from '@meridian/testing';
import { eachLimited, median, openBenchSites, withCleanup } from './bench-harness';
import { bareBullmqJobsPerSecond } from './queue-baseline';
import { transferBaselineBlobsPerSecond } from './transfer-baseline';
import {
  benchPackage,
  cpuSnapshot,
  insertRows,
  printCpu,
  runCursorLoop,
  startPrimaryApi,
  startWorkers,
  waitForSynced,
  type BlobRow,
} from './replication-harness';

const BLOBS = Number(process.env.BENCH_SMALL_BLOBS ?? 10_000);
const BLOB_BYTES = 4 * 1024;
const WORKERS = Number(process.env.BENCH_SMALL_WORKERS ?? 2);
/** global sync capacity (QUEUE_GLOBAL_CONCURRENCY), split evenly over the worker processes */
const CAPACITY = Number(process.env.BENCH_SMALL_CAPACITY ?? 32);
/** rows per INSERT on the primary (one event batch of the outbox trigger) */
const INSERT_CHUNK = 500;
const ROUNDS = Number(process.env.BENCH_SMALL_ROUNDS ?? 1);
const TIMEOUT_MS = Number(process.env.BENCH_SMALL_TIMEOUT_MS ?? 180_000);

export async function smallBlobBench(): Promise<void> {
  const rates: number[] = [];
  const transfers: number[] = [];
  let baseline = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    await withCleanup(async (cleanup) => {
      const sites = await openBenchSites(cleanup, { secondaryPoolSize: 4 });
      if (round === 0) baseline = await bareBullmqJobsPerSecond(`${sites.queuePrefix.secondary}-bare`);

      const packageId = await benchPackage(sites);
      const rows: BlobRow[] = new Array(BLOBS);
      const writeSeconds = await seconds(() =>
        eachLimited(BLOBS, 32, async (i) => {
          const path = `packages/${packageId}/files/${i}/blob-${i}.bin`;
          const { size, sha256 } = await sites.primary.storage.write(path, randomBytes(BLOB_BYTES));
          rows[i] = { path, size, sha256 };
        }),
      );

      const api = await startPrimaryApi(cleanup, sites);
      const workers = await startWorkers(cleanup, sites, api.url, {
        count: WORKERS,
        globalConcurrency: CAPACITY,
        concurrency: Math.ceil(CAPACITY / WORKERS),
        env: { LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'info' },
      });

      const cpu = cpuSnapshot({
        'bench (cursor)': process.pid,
        'site-api': api.process.child.pid!,
        ...Object.fromEntries(workers.map((w, i) => [`worker ${i + 1}`, w.child.pid!])),
      });
      let insertSeconds = 0;
      const cursor = runCursorLoop(sites, BLOBS);
      const elapsed = await seconds(async () => {
        const producer = seconds(async () => {
          for (let i = 0; i < BLOBS; i += INSERT_CHUNK) await insertRows(sites, packageId, rows.slice(i, i + INSERT_CHUNK), i);
        }).then((s) => void (insertSeconds = s));
        try {
          await Promise.all([producer, cursor.done, waitForSynced(sites, BLOBS, TIMEOUT_MS, [api.process, ...workers])]);
        } finally {
          cursor.stop();
        }
      });
      const usage = cpu();
      rates.push(BLOBS / elapsed);
      // the same files over the same API, with only the work a sync must do (after the round, so
      // the two never share the cores)
      transfers.push(await transferBaselineBlobsPerSecond(sites, api.url, packageId, CAPACITY));
      const stats = cursor.stats();
      printCpu(`small blobs round ${round + 1}`, usage, elapsed, BLOBS, 'blob');
      printBench({
        name: `small blobs round ${round + 1} phases`,
        value: elapsed,
        unit: 's',
        details: {
          'primary file writes (untimed)': `${writeSeconds.toFixed(1)} s`,
          'row inserts': `${insertSeconds.toFixed(2)} s`,
          'event cursor busy': `${stats.seconds.toFixed(2)} s in ${stats.batches} batches (incl. enqueue)`,
        },
      });
    });
  }
  printBench({
    name: `small-blob replication (${BLOBS.toLocaleString('en-US')} × 4 KiB, ${WORKERS} worker processes, capacity ${CAPACITY})`,
    value: median(rates),
    unit: 'blobs/s',
    baseline: { name: 'same files: HTTP batch fetch + SHA-256 + write + flush + rename, same batches and concurrency', value: median(transfers) },
    target: { ratio: 0.7, min: 2_000 },
    details: {
      rounds: rates.map((r) => r.toFixed(0)).join(', '),
      'transfer rounds': transfers.map((r) => r.toFixed(0)).join(', '),
      'bare BullMQ no-op jobs/s': baseline.toFixed(0),
    },
  });
}

if (require.main === module) {
  smallBlobBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
