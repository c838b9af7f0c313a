import v8 from 'node:v8';

/**
 * Lets the old generation grow by `percent` after each major GC (0 keeps V8's heuristic).
 *
 * Why: a sync worker streams gigabytes through short-lived socket buffers while its live heap is
 * only ~20 MB. With V8's default growth the old-generation limit then sits a few MB above the
 * live size, below the young generation's capacity, so V8 starts a full mark-compact every
 * ~70 ms: 36 per worker for 600 MB of 16 MiB blobs, and a third of the worker's CPU in perf.
 * At 300 % (limit = 4 × live, i.e. tens of MB more at most) the same run does 3, and large-blob
 * replication went from ~260–320 to ~420–490 MB/s on the 2-core bench machine.
 *
 * The flag is read whenever V8 recomputes its limits, so setting it at startup takes effect.
 */
export function applyHeapGrowing(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
