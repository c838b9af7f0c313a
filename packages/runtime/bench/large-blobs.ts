// Large-blob replication: 64 blobs of 16 MiB created on the primary (files written beforehand,
// rows inserted in one statement so the outbox trigger writes the events), timed from the row
// insert until every registry is synced on the secondary (2 real worker processes, the event
// cursor in this process, the real apps/site-api process serving the transfer endpoint). Next to
// a raw HTTP stream copy of the same files over loopback (a Node http server process piping the
// files, a client in this process writing them to plain files, same concurrency), measured in the
// same run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { printBench, seconds } from '@meridian/testing';
import { eachLimited, median, openBenchSites, tempDir, withCleanup, type Cleanup } from './bench-harness';
import { benchPackage, cpuSnapshot, insertRows, printCpu, runCursorLoop, startPrimaryApi, startWorkers, waitForSynced, type BlobRow } from './replication-harness';

const BLOBS = Number(process.env.BENCH_LARGE_BLOBS ?? 64);
const BLOB_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 16) * 1024 * 1024;
const WORKERS = 2;
/** global sync capacity, and the raw copy's concurrency */
const CAPACITY = Number(process.env.BENCH_LARGE_CAPACITY ?? 4);
const ROUNDS = Number(process.env.BENCH_LARGE_ROUNDS ?? 2);
// BENCH_LARGE_DIR=/dev/shm puts every storage root (primary, secondary, raw copy) on tmpfs: the
// disk leaves both figures and the CPU cost remains (a diagnostic, not the headline).
const STORAGE_BASE = process.env.BENCH_LARGE_DIR;

// The raw server runs in its own plain Node process (like the primary's site-api), so the
// baseline's server and client do not share one event loop.
const RAW_SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const server = http.createServer((req, res) => {
  const file = path.join(process.env.RAW_ROOT, decodeURIComponent(req.url.slice(1)));
  res.writeHead(200, { 'content-length': String(fs.statSync(file).size), 'content-type': 'application/octet-stream' });
  fs.createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(res);
});
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => console.log('raw server listening ' + server.address().port));
process.on('SIGTERM', () => process.exit(0));`;

async function rawCopy(cleanup: Cleanup, rows: readonly BlobRow[], primaryRoot: string, dir: string): Promise<{ seconds: number; cpu: Record<string, number> }> {
  const child = spawn(process.execPath, ['-e', RAW_SERVER], { env: { ...process.env, RAW_ROOT: primaryRoot }, stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.add('raw server', async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });
  const exited = once(child, 'exit').then(() => {
    throw new Error('raw server exited before listening');
  });
  const [line] = (await Promise.race([once(child.stdout!, 'data'), exited])) as [Buffer];
  exited.catch(() => undefined);
  const port = /listening (\d+)/.exec(line.toString())?.[1];
  if (!port) throw new Error(`raw server did not start: ${line.toString()}`);
  const agent = new http.Agent({ keepAlive: true });
  cleanup.add('raw agent', () => agent.destroy());
  const cpu = cpuSnapshot({ 'raw client (bench)': process.pid, 'raw server': child.pid! });
  const elapsed = await seconds(() =>
    eachLimited(rows.length, CAPACITY, async (i) => {
      const url = `http://127.0.0.1:${port}/${encodeURIComponent(rows[i]!.path)}`;
      const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, { agent }, resolve).on('error', reject));
      await pipeline(response, fs.createWriteStream(path.join(dir, `${i}.bin`)));
    }),
  );
  return { seconds: elapsed, cpu: cpu() };
}

export async function largeBlobBench(): Promise<void> {
  const totalMb = (BLOBS * BLOB_BYTES) / 1e6;
  const raw: number[] = [];
  const e2e: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    await withCleanup(async (cleanup) => {
      const sites = await openBenchSites(cleanup, STORAGE_BASE ? { storageBase: STORAGE_BASE } : {});
      const packageId = await benchPackage(sites);
      const rows: BlobRow[] = [];
      const content = randomBytes(BLOB_BYTES);
      for (let i = 0; i < BLOBS; i += 1) {
        content.writeUInt32BE(i, 0); // every blob differs
        const blobPath = `packages/${packageId}/files/${i}/blob-${i}.bin`;
        const { size, sha256 } = await sites.primary.storage.write(blobPath, content);
        rows.push({ path: blobPath, size, sha256 });
      }
      const api = await startPrimaryApi(cleanup, sites);
      const workers = await startWorkers(cleanup, sites, api.url, { count: WORKERS, globalConcurrency: CAPACITY, concurrency: Math.ceil(CAPACITY / WORKERS) });

      // raw first: both read the primary's files from the page cache (written just above)
      const rawDir = tempDir(cleanup, 'raw', STORAGE_BASE);
      const baseline = await rawCopy(cleanup, rows, sites.primaryRoot, rawDir);
      raw.push(totalMb / baseline.seconds);
      printCpu(`large blobs round ${round + 1} raw copy`, baseline.cpu, baseline.seconds, totalMb, 'MB');
      fs.rmSync(rawDir, { recursive: true, force: true }); // frees the page cache's dirty pages sooner

      const cpu = cpuSnapshot({ 'bench (cursor)': process.pid, 'site-api': api.process.child.pid!, ...Object.fromEntries(workers.map((w, i) => [`worker ${i + 1}`, w.child.pid!])) });
      const cursor = runCursorLoop(sites, BLOBS);
      const elapsed = await seconds(async () => {
        try {
          await Promise.all([insertRows(sites, packageId, rows, 0), cursor.done, waitForSynced(sites, BLOBS, 300_000, [api.process, ...workers])]);
        } finally {
          cursor.stop();
        }
      });
      e2e.push(totalMb / elapsed);
      printCpu(`large blobs round ${round + 1}`, cpu(), elapsed, totalMb, 'MB');
    });
  }
  printBench({
    name: `large-blob replication (${BLOBS} × ${BLOB_BYTES / 1024 / 1024} MiB, ${WORKERS} worker processes, capacity ${CAPACITY})`,
    value: median(e2e),
    unit: 'MB/s',
    baseline: { name: 'raw http stream copy', value: median(raw) },
    target: { ratio: 0.8 },
    details: { rounds: `median of ${ROUNDS}: e2e ${e2e.map((v) => v.toFixed(0)).join(', ')}; raw ${raw.map((v) => v.toFixed(0)).join(', ')}`, includes: 'event cursor, sync jobs, token, sha256, fsync, rename, registry updates', storage: STORAGE_BASE ?? 'os.tmpdir()' },
  });
}

if (require.main === module) {
  largeBlobBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
