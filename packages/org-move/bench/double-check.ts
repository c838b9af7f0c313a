// Double check over a 72-hour window on a table of N rows of which 50,000 fall in the window (1 % of
// those lost their registry), next to answering the same question by walking the whole table in
// id batches on both sides (what the consistency lap does), in the same run. Two table sizes show
// that the double check grows with the window, not the table.
// BENCH_ROWS=1000000,10000000 (default) sets the sizes.
import { cellModelMigrations } from '@meridian/cell-models';
import { composeMigrations, createSql, migrate, type Sql } from '@meridian/db';
import { geoTrackingMigrations } from '@meridian/geo';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { createTestDatabase, printBench, seconds } from '@meridian/testing';
import { orgMoveMainMigrations, orgMoveTrackingMigrations, runDoubleCheck } from '../src';

const WINDOW_ROWS = 50_000;
const WINDOW_HOURS = 72;
const SCAN_BATCH = 10_000;

async function seed(main: Sql, tracking: Sql, rows: number): Promise<number> {
  await main`insert into organizations (id, name, path) values (1, 'o', 'o')`;
  await main`insert into namespaces (id, organization_id, name, path) values (1, 1, 'n', 'n')`;
  await main`insert into projects (id, organization_id, namespace_id, name, path) values (1, 1, 1, 'p', 'p')`;
  await main`insert into packages_packages (id, project_id, name) values (1, 1, 'pkg')`;
  const old = rows - WINDOW_ROWS;
  // ids grow with created_at, as in a real table: the window is the newest 50,000 rows
  const createdAt = `case when g > ${old} then now() - interval '${WINDOW_HOURS - 1} hours' * ((${rows} - g)::float8 / ${WINDOW_ROWS})
    else now() - interval '${WINDOW_HOURS + 1} hours' - interval '365 days' * ((${old} - g)::float8 / ${old}) end`;
  await main.unsafe(`
    insert into packages_package_files (id, package_id, file_name, file_path, size, created_at)
    select g, 1, 'f', 'p/' || g, 1, ${createdAt} from generate_series(1, ${rows}) g`);
  await main.unsafe('analyze packages_package_files');
  // every row is registered (a minute after it was created) except 1 % of the window's (their
  // created events were dropped)
  await tracking.unsafe(`
    insert into package_file_registry (package_file_id, state, created_at)
    select g, 2, ${createdAt} + interval '1 minute' from generate_series(1, ${rows}) g
    where not (g > ${old} and g % 100 = 0)`);
  await tracking.unsafe('analyze package_file_registry');
  return WINDOW_ROWS / 100;
}

/** The same question without the window index: every id of the table, batch by batch, on both sides. */
async function fullScan(main: Sql, tracking: Sql, since: Date): Promise<number> {
  let missing = 0;
  let from = 0n;
  for (;;) {
    const rows = await main<{ id: bigint; created_at: Date }[]>`
      select id, created_at from packages_package_files where id > ${from.toString()} order by id limit ${SCAN_BATCH}`;
    if (rows.length === 0) break;
    const last = BigInt(rows.at(-1)!.id);
    const registered = new Set(
      (await tracking<{ id: bigint }[]>`
        select package_file_id as id from package_file_registry where package_file_id > ${from.toString()} and package_file_id <= ${last.toString()}`).map((r) => BigInt(r.id)),
    );
    for (const row of rows) if (row.created_at >= since && !registered.has(BigInt(row.id))) missing += 1;
    from = last;
  }
  return missing;
}

async function benchSize(rows: number): Promise<void> {
  const mainDb = await createTestDatabase('mbdcmain');
  const trackingDb = await createTestDatabase('mbdctrack');
  const main = createSql(mainDb.url, { max: 4 });
  const tracking = createSql(trackingDb.url, { max: 4 });
  try {
    await migrate(main, composeMigrations('main', cellModelMigrations, orgMoveMainMigrations([packageFileReplicator])));
    await migrate(tracking, composeMigrations('geo_tracking', geoTrackingMigrations([packageFileReplicator]), orgMoveTrackingMigrations([packageFileReplicator])));
    const seedSeconds = await seconds(() => seed(main, tracking, rows));
    const expected = WINDOW_ROWS / 100;
    const since = new Date(Date.now() - WINDOW_HOURS * 3_600_000);
    // warm both paths once (buffers, plans), then measure
    await fullScan(main, tracking, since);
    let scanMissing = 0;
    const scan = await seconds(async () => {
      scanMissing = await fullScan(main, tracking, since);
    });
    let found = 0;
    const check = await seconds(async () => {
      const [result] = await runDoubleCheck({ main, tracking, replicators: [packageFileReplicator], sinceHours: WINDOW_HOURS, dryRun: true });
      found = result!.missingIds.length;
    });
    printBench({
      name: `double check, ${WINDOW_HOURS} h window (${WINDOW_ROWS.toLocaleString('en-US')} rows) on ${rows.toLocaleString('en-US')} rows, speed (1/s)`,
      value: 1 / check,
      unit: 'checks/s',
      baseline: { name: 'full-table id walk, same question', value: 1 / scan },
      target: { ratio: 50 },
      details: { 'double check': `${check.toFixed(3)} s`, 'full scan': `${scan.toFixed(2)} s`, found: `${found} (scan ${scanMissing}, seeded ${expected})`, seed: `${seedSeconds.toFixed(0)} s` },
    });
  } finally {
    await Promise.all([main.end(), tracking.end()]);
    await Promise.all([mainDb.drop(), trackingDb.drop()]);
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_ROWS ?? '1000000,10000000').split(',').map(Number);
  for (const rows of sizes) await benchSize(rows);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
