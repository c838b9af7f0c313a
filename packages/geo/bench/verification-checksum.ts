// Primary verification throughput: runVerification (SKIP LOCKED claims of `<model>_states`,
// streaming SHA-256 through the storage, success + checksum_succeeded event per row) over N ×
// 16 MiB blobs, next to a raw streaming SHA-256 of the same files in the same process and run.
// Both read from the page cache after the first round; the figure is the best of the rounds.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSql } from '@meridian/db';
import { createFilesystemStorage } from '@meridian/storage';
import { createTestDatabase, printBench, seconds } from '@meridian/testing';
import { DEFAULT_GEO_SETTINGS, runVerification } from '../src';
import { benchBlobs as blobs, benchPrimaryContext, createBenchBlobs } from './verification-bench-setup';

const BLOBS = Number(process.env.BENCH_VERIFY_BLOBS ?? 64);
const BLOB_BYTES = Number(process.env.BENCH_VERIFY_MIB ?? 16) * 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_VERIFY_ROUNDS ?? 4);

async function rawSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(process.env.BENCH_VERIFY_DIR ?? os.tmpdir(), 'meridian-verify-bench-'));
  const db = await createTestDatabase('mbverify');
  const sql = createSql(db.url, { max: 4 });
  try {
    const storage = createFilesystemStorage(base);
    const paths = await createBenchBlobs(sql, storage, BLOBS, BLOB_BYTES);
    const context = benchPrimaryContext(sql, storage);
    const mb = (BLOBS * BLOB_BYTES) / 1e6;
    let best = { verify: Infinity, raw: Infinity };
    for (let round = 0; round < ROUNDS; round += 1) {
      await sql.unsafe('update bench_blob_states set verification_state = 0');
      let verified = 0;
      const runVerify = () =>
        seconds(async () => {
          verified = (await runVerification(context, blobs)).succeeded;
        });
      const runRaw = () =>
        seconds(async () => {
          for (const p of paths) await rawSha256(path.join(base, p));
        });
      // alternate which goes first, so neither always gets the quieter half of a busy machine
      let verify: number;
      let raw: number;
      if (round % 2 === 0) {
        verify = await runVerify();
        raw = await runRaw();
      } else {
        raw = await runRaw();
        verify = await runVerify();
      }
      if (verified !== BLOBS) throw new Error(`round ${round}: ${verified} of ${BLOBS} verified`);
      best = { verify: Math.min(best.verify, verify), raw: Math.min(best.raw, raw) };
    }
    printBench({
      name: `primary verification (${BLOBS} × ${BLOB_BYTES / 1024 / 1024} MiB, batch ${DEFAULT_GEO_SETTINGS.verificationBatchSize})`,
      value: mb / best.verify,
      unit: 'MB/s',
      baseline: { name: 'raw streaming SHA-256 of the same files', value: mb / best.raw },
      target: { ratio: 0.8 },
      details: { rounds: String(ROUNDS), 'best verify s': best.verify.toFixed(2), 'best raw s': best.raw.toFixed(2) },
    });
  } finally {
    await sql.end();
    await db.drop();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
