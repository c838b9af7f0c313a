// Registry backfill: the secondary's registry consistency creating registries for 1,000,000
// package-file rows that have no events (inserted with the outbox triggers bypassed), next to a
// raw `INSERT … SELECT` of the same ids into the same registry table (same DDL, indexes and
// counting triggers), measured in the same run. The table is truncated between the runs.
import { createOrganization, createPackage, createProject } from '@meridian/cell-models';
import { runRegistryConsistency, secondaryContext } from '@meridian/geo';
import { printBench, seconds } from '@meridian/testing';
import { median, openBenchSites, withCleanup } from './bench-harness';

const ROWS = Number(process.env.BENCH_BACKFILL_ROWS ?? 1_000_000);
// GeoSettings.consistencyBatchSize; a comma list measures several (the first is the headline)
const BATCH_SIZES = (process.env.BENCH_CONSISTENCY_BATCH ?? '100000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_BACKFILL_ROUNDS ?? 2);

export async function registryBackfillBench(): Promise<void> {
  await withCleanup(async (cleanup) => {
    const sites = await openBenchSites(cleanup, { geoSettings: { runBudgetMs: 3_600_000 } });
    const main = sites.primary.mainSql;
    const tracking = sites.secondary.trackingSql!;

    const packageId = await createPackage(main, await createProject(main, await createOrganization(main, 'bench'), 'bench'), 'bench');
    const seed = await seconds(() =>
      main.begin(async (tx) => {
        await tx`set local session_replication_role = replica`; // no outbox trigger: no events
        await tx`
          insert into packages_package_files (package_id, file_name, file_path, size)
          select ${packageId.toString()}, 'f-' || g, 'packages/bench/files/' || g || '.bin', 4096 from generate_series(1, ${ROWS}) g`;
      }),
    );
    await main`analyze packages_package_files`;
    const [range] = await main<{ min: string; max: string; n: number }[]>`
      select min(id)::text as min, max(id)::text as max, count(*)::int as n from packages_package_files`;
    const [events] = await main<{ n: number }[]>`select count(*)::int as n from geo_events`;
    if (range!.n !== ROWS || Number(range!.max) - Number(range!.min) + 1 !== ROWS || events!.n !== 0) {
      throw new Error(`unexpected seed: ${JSON.stringify(range)}, ${events!.n} events`);
    }

    const reset = async () => {
      await tracking`truncate package_file_registry restart identity`;
      // truncate fires no row/statement delete trigger: reset what the counting trigger kept
      await tracking`delete from geo_registry_counts where replicable_name = 'package_file'`;
      await tracking`update geo_consistency_state set next_id = 0, lap_started_at = now(), lap_created = 0, lap_removed = 0`;
      await tracking`checkpoint`.catch(() => undefined); // needs superuser; evens out WAL between runs
    };
    const registryCount = async () => (await tracking<{ n: number }[]>`select count(*)::int as n from package_file_registry`)[0]!.n;

    const raw = async () => {
      await tracking`insert into package_file_registry (package_file_id) select g from generate_series(${range!.min}::bigint, ${range!.max}::bigint) g`;
    };
    const consistency = (batch: number) => async () => {
      const context = { ...secondaryContext(sites.secondary.geo), settings: { ...secondaryContext(sites.secondary.geo).settings, consistencyBatchSize: batch } };
      let runs = 0;
      do {
        await runRegistryConsistency(context);
        runs += 1;
      } while ((await registryCount()) < ROWS && runs < 100);
    };

    const rawTimes: number[] = [];
    const consistencyTimes = new Map<number, number[]>(BATCH_SIZES.map((b) => [b, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      await reset();
      rawTimes.push(await seconds(raw));
      if ((await registryCount()) !== ROWS) throw new Error('raw insert incomplete');
      for (const batch of BATCH_SIZES) {
        await reset();
        consistencyTimes.get(batch)!.push(await seconds(consistency(batch)));
        const count = await registryCount();
        if (count !== ROWS) throw new Error(`consistency created ${count} of ${ROWS} registries`);
      }
    }
    await reset();

    const rawRate = ROWS / median(rawTimes);
    const fmt = (times: number[]) => times.map((t) => `${t.toFixed(2)} s`).join(', ');
    printBench({
      name: `raw INSERT … SELECT into package_file_registry (${ROWS.toLocaleString('en-US')} ids)`,
      value: rawRate,
      unit: 'rows/s',
      details: { runs: fmt(rawTimes), seed: `${seed.toFixed(1)} s` },
    });
    for (const batch of BATCH_SIZES) {
      const times = consistencyTimes.get(batch)!;
      printBench({
        name: `registry consistency backfill (${ROWS.toLocaleString('en-US')} rows, consistencyBatchSize ${batch.toLocaleString('en-US')})`,
        value: ROWS / median(times),
        unit: 'rows/s',
        baseline: { name: 'raw INSERT … SELECT', value: rawRate },
        target: { ratio: 0.5 },
        details: { runs: fmt(times), median: `of ${ROUNDS}` },
      });
    }
  });
}

if (require.main === module) {
  registryBackfillBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
