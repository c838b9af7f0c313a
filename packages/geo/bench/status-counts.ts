// Status on a huge registry: one full status collection (every source of a secondary: counters,
// oldest pending age, laps, cursor, flags) next to the exact query it replaces,
// `SELECT state, verification_state, count(*) … GROUP BY …` over the same registry, in the same run
// and database. Rows come from generate_series, in batches so each statement's transition table
// stays small; the table is vacuumed and analyzed before timing so COUNT(*) runs at its best
// (visibility map, parallel workers). Both must give the same figures: the bench fails otherwise.
import { createSql, migrate, migrationSet } from '@meridian/db';
import { createTestDatabase, printBench, seconds } from '@meridian/testing';
import { collectGeoStatus, geoMainMigrations, geoTrackingMigrations, type StatusSite } from '../src';
import { benchBlobs as blobs, benchBlobsTable } from './verification-bench-setup';

const ROWS = Number(process.env.BENCH_STATUS_ROWS ?? 10_000_000);
const BATCH = 1_000_000;
const STATUS_RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 20);
const COUNT_RUNS = Number(process.env.BENCH_STATUS_COUNT_RUNS ?? 3);


const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const mainDb = await createTestDatabase('mbstatus');
  const trackingDb = await createTestDatabase('mbstatust');
  const main = createSql(mainDb.url, { max: 4 });
  const tracking = createSql(trackingDb.url, { max: 4 });
  try {
    await migrate(main, migrationSet('main', [[benchBlobsTable], geoMainMigrations([blobs])]));
    await migrate(tracking, migrationSet('geo_tracking', [geoTrackingMigrations([blobs])]));
    const load = await seconds(async () => {
      for (let from = 1; from <= ROWS; from += BATCH) {
        const to = Math.min(ROWS, from + BATCH - 1);
        // ~90 % synced (most verified), the rest pending, started and failed
        await tracking`
          insert into bench_blob_registry (bench_blob_id, state, verification_state)
          select g, case when g % 100 < 90 then 2 when g % 100 < 95 then 0 when g % 100 < 97 then 1 else 3 end,
                    case when g % 100 < 80 then 2 when g % 100 < 82 then 3 else 0 end
          from generate_series(${from}::bigint, ${to}::bigint) g`;
      }
    });
    await tracking`vacuum analyze bench_blob_registry`;
    const site: StatusSite = { role: 'secondary', siteName: 'bench', replicators: [blobs], mainSql: main, trackingSql: tracking };

    // warm both once, then time them alternately
    const warm = await collectGeoStatus(site);
    if (!warm.sources.every((s) => s.ok)) throw new Error(`a status source failed: ${JSON.stringify(warm.sources)}`);
    const countQuery = () => tracking<{ state: number; verification_state: number; n: bigint }[]>`
      select state, verification_state, count(*)::bigint as n from bench_blob_registry group by 1, 2`;
    let counted = await countQuery();
    const statusTimes: number[] = [];
    const countTimes: number[] = [];
    for (let i = 0; i < Math.max(STATUS_RUNS, COUNT_RUNS); i += 1) {
      if (i < COUNT_RUNS) countTimes.push(await seconds(async () => (counted = await countQuery())));
      if (i < STATUS_RUNS) statusTimes.push(await seconds(() => collectGeoStatus(site)));
    }
    const status = await collectGeoStatus(site);

    // exact: every registry field equals what COUNT(*) says
    const sum = (match: (s: number, v: number) => boolean) => counted.filter((r) => match(r.state, r.verification_state)).reduce((a, r) => a + Number(r.n), 0);
    const expected: Record<string, number> = {
      bench_blobs_registry_count: sum(() => true),
      bench_blobs_pending_count: sum((s) => s === 0),
      bench_blobs_started_count: sum((s) => s === 1),
      bench_blobs_synced_count: sum((s) => s === 2),
      bench_blobs_failed_count: sum((s) => s === 3),
      bench_blobs_verification_total_count: sum((s, v) => s === 2 && v !== 4),
      bench_blobs_verified_count: sum((s, v) => s === 2 && v === 2),
      bench_blobs_verification_failed_count: sum((s, v) => s === 2 && v === 3),
    };
    const wrong = Object.entries(expected).filter(([field, value]) => status.fields[field] !== value);
    if (expected.bench_blobs_registry_count !== ROWS || wrong.length > 0) {
      throw new Error(`status is not exact: ${JSON.stringify(wrong.map(([field, value]) => ({ field, status: status.fields[field], count: value })))}`);
    }
    const statusS = median(statusTimes);
    const countS = median(countTimes);
    printBench({
      name: `geo status on ${ROWS.toLocaleString('en-US')} registry rows (full collection, every source)`,
      value: 1 / statusS,
      unit: 'collections/s',
      baseline: { name: 'SELECT state, verification_state, count(*) … GROUP BY 1, 2', value: 1 / countS },
      target: { ratio: 10 },
      details: {
        'status median ms': (statusS * 1000).toFixed(1),
        'COUNT median ms': (countS * 1000).toFixed(1),
        exact: 'yes',
        'load s': load.toFixed(1),
        runs: `${STATUS_RUNS}/${COUNT_RUNS}`,
      },
    });
  } finally {
    await Promise.all([main.end(), tracking.end()]);
    await Promise.all([mainDb.drop(), trackingDb.drop()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
