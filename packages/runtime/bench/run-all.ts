// `npm run bench -w @meridian/runtime`: the geo replication benchmarks, one after another so they
// do not steal each other's cores. A failing bench is reported and the others still run; each
// cleans up its own databases, Redis keys, temp dirs and child processes.
import { largeBlobBench } from './large-blobs';
import { registryBackfillBench } from './registry-backfill';
import { smallBlobBench } from './small-blobs';

const benches: Array<[string, () => Promise<void>]> = [
  ['registry backfill', registryBackfillBench],
  ['small-blob replication', smallBlobBench],
  ['large-blob replication', largeBlobBench],
];

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',');
  for (const [name, run] of benches) {
    if (only && !only.some((o) => name.includes(o))) continue;
    const started = Date.now();
    try {
      await run();
      process.stdout.write(`bench "${name}" finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    } catch (error) {
      process.stderr.write(`bench "${name}" failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}

void main();
