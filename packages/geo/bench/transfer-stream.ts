// Large-blob transfer: downloadBlob (signed token, the real retrieve router, SHA-256 check, temp
// file + fsync + rename) of N × 16 MiB blobs, next to a raw Node `http` stream copy of the same
// files over loopback into plain files, measured in the same run. Server and client share this
// process, so the CPU figure (ms per MB, this process) is both sides together.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { createSilentLogger } from '@meridian/logger';
import { createFilesystemStorage, sha256Hex } from '@meridian/storage';
import { printBench, seconds } from '@meridian/testing';
import { createRetrieveRouter, downloadBlob } from '../src/transfer';

const BLOBS = Number(process.env.BENCH_TRANSFER_BLOBS ?? 64);
const BLOB_BYTES = Number(process.env.BENCH_TRANSFER_MIB ?? 16) * 1024 * 1024;
const CONCURRENCY = Number(process.env.BENCH_TRANSFER_CONCURRENCY ?? 4);
// BENCH_TRANSFER_DIR=/dev/shm takes the disk out of the figure and leaves the CPU cost.
const ROUNDS = Number(process.env.BENCH_TRANSFER_ROUNDS ?? 3);
const SECRET = randomBytes(32).toString('hex');

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  // Longer than a whole round, so the raw client's keep-alive sockets are never reset under it.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight. */
async function eachLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(process.env.BENCH_TRANSFER_DIR ?? os.tmpdir(), 'meridian-transfer-bench-'));
  const primary = createFilesystemStorage(path.join(base, 'primary'));
  const rows = new Map<bigint, { blobPath: string; checksum: string }>();
  const content = randomBytes(BLOB_BYTES);
  for (let i = 1; i <= BLOBS; i += 1) {
    content.writeUInt32BE(i, 0); // every blob differs
    const blobPath = `blobs/${i}.bin`;
    await primary.write(blobPath, content);
    rows.set(BigInt(i), { blobPath, checksum: sha256Hex(content) });
  }

  const app = express();
  app.use(
    createRetrieveRouter({
      secret: SECRET,
      storage: primary,
      logger: createSilentLogger(),
      knownReplicables: () => ['package_file'],
      lookup: async (_replicable, id) => rows.get(id),
    }),
  );
  const meridian = await listen(app);
  const raw = await listen((req, res) => {
    const file = primary.resolve(`blobs/${path.basename(req.url ?? '')}.bin`);
    res.writeHead(200, { 'content-length': String(fs.statSync(file).size), 'content-type': 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  const agent = new http.Agent({ keepAlive: true });

  const rawDir = path.join(base, 'raw');
  const secondaryRoot = path.join(base, 'secondary');
  const secondary = createFilesystemStorage(secondaryRoot);

  const rawCopy = () =>
    eachLimited(BLOBS, CONCURRENCY, async (i) => {
      const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${raw.url}/${i + 1}`, { agent }, resolve).on('error', reject),
      );
      await pipeline(response, fs.createWriteStream(path.join(rawDir, `${i + 1}.bin`)));
    });
  const meridianCopy = () =>
    eachLimited(BLOBS, CONCURRENCY, async (i) => {
      const id = BigInt(i + 1);
      await downloadBlob({ primaryUrl: meridian.url, secret: SECRET, replicable: 'package_file', id, storage: secondary, destinationPath: `pf/${id}.bin` });
    });
  const reset = () => {
    fs.rmSync(rawDir, { recursive: true, force: true });
    fs.mkdirSync(rawDir);
    fs.rmSync(secondaryRoot, { recursive: true, force: true });
    fs.mkdirSync(secondaryRoot);
  };

  const totalMb = (BLOBS * BLOB_BYTES) / 1e6;
  const rates = { raw: [] as number[], meridian: [] as number[] };
  const cpu = { raw: [] as number[], meridian: [] as number[] };
  const measure = async (kind: 'raw' | 'meridian', copy: () => Promise<void>) => {
    reset();
    const before = process.cpuUsage();
    rates[kind].push(totalMb / (await seconds(copy)));
    const used = process.cpuUsage(before);
    cpu[kind].push((used.user + used.system) / 1000 / totalMb);
  };
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      await measure('raw', rawCopy);
      await measure('meridian', meridianCopy);
    }
    printBench({
      name: `geo transfer downloadBlob (${BLOBS} × ${BLOB_BYTES / 1024 / 1024} MiB, concurrency ${CONCURRENCY})`,
      value: median(rates.meridian),
      unit: 'MB/s',
      baseline: { name: 'raw http stream copy', value: median(rates.raw) },
      target: { ratio: 0.8 },
      details: {
        rounds: `median of ${ROUNDS}: meridian ${rates.meridian.map((v) => v.toFixed(0)).join(', ')}; raw ${rates.raw.map((v) => v.toFixed(0)).join(', ')}`,
        'CPU ms/MB (server + client, median)': `meridian ${median(cpu.meridian).toFixed(2)}, raw ${median(cpu.raw).toFixed(2)}`,
        includes: 'token, sha256, fsync, rename',
      },
    });
  } finally {
    agent.destroy();
    await close(meridian.server);
    await close(raw.server);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
