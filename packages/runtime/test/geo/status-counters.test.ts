import { createOrganization, createPackage, createProject } from '@meridian/cell-models';
import { createSql, migrate, migrationTemplate, setFlag, type MigrationSet, type Sql } from '@meridian/db';
import { collectGeoStatus, type GeoStatusSnapshot, type StatusSite } from '@meridian/geo';
import { createTestDatabase, waitFor, type TestDatabase } from '@meridian/testing';
import { Registry } from 'prom-client';
import { registerGeoMetrics } from '../../src/modules/geo-metrics';
import { siteFlags, siteMigrationSet, siteReplicators } from '../../src';

// Status fields come from trigger-maintained counters; these tests prove them exact against
// COUNT(*) after a randomized, concurrent workload of direct SQL on the real tables, and show that
// a slow source costs only its own fields.

const WORKERS = 4;

/** Deterministic pseudo-random numbers (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const n = async (sql: Sql, query: string): Promise<number> => Number((await sql.unsafe<{ n: string }[]>(query))[0]!.n);
const pct = (part: number, whole: number) => (whole === 0 ? 0 : Math.floor((part / whole) * 10_000) / 100);

async function sqlCountsPrimary(main: Sql): Promise<Record<string, number>> {
  const states = (where: string) => n(main, `select count(*) as n from package_file_states where ${where}`);
  return {
    package_files_count: await n(main, 'select count(*) as n from packages_package_files'),
    package_files_checksum_total_count: await states('verification_state <> 4'),
    package_files_checksummed_count: await states('verification_state = 2'),
    package_files_checksum_failed_count: await states('verification_state = 3'),
    packages_helm_metadata_caches_count: await n(main, 'select count(*) as n from packages_helm_metadata_caches'),
    packages_helm_metadata_caches_checksummed_count: await n(main, 'select count(*) as n from packages_helm_metadata_cache_states where verification_state = 2'),
  };
}

async function sqlCountsSecondary(tracking: Sql): Promise<Record<string, number>> {
  const reg = (where: string) => n(tracking, `select count(*) as n from package_file_registry where ${where}`);
  const registry = await reg('true');
  const synced = await reg('state = 2');
  const verified = await reg('state = 2 and verification_state = 2');
  return {
    package_files_registry_count: registry,
    package_files_pending_count: await reg('state = 0'),
    package_files_started_count: await reg('state = 1'),
    package_files_synced_count: synced,
    package_files_failed_count: await reg('state = 3'),
    package_files_verification_total_count: await reg('state = 2 and verification_state <> 4'),
    package_files_verified_count: verified,
    package_files_verification_failed_count: await reg('state = 2 and verification_state = 3'),
    package_files_synced_in_percentage: pct(synced, registry),
    package_files_verified_in_percentage: pct(verified, registry),
    packages_helm_metadata_caches_registry_count: await n(tracking, 'select count(*) as n from packages_helm_metadata_cache_registry'),
  };
}

/** One random statement on worker `w`'s share of the rows (id % WORKERS = w: no row-lock deadlocks between workers). */
async function primaryStep(main: Sql, w: number, pkg: bigint, rand: () => number): Promise<void> {
  const k = 1 + Math.floor(rand() * 40);
  const mine = `package_file_id % ${WORKERS} = ${w}`;
  switch (Math.floor(rand() * 6)) {
    case 0:
      await main.unsafe(`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg}, 'f' || g, 'p/' || g, 1 from generate_series(1, ${k}) g`);
      return;
    case 1: // checksum outcomes: succeeded, failed, started, pending, disabled
      await main.unsafe(`update package_file_states set verification_state = floor(random() * 5)::int where package_file_id in (select package_file_id from package_file_states where ${mine} order by random() limit ${k})`);
      return;
    case 2: // model rows deleted: their states go by ON DELETE CASCADE
      await main.unsafe(`delete from packages_package_files where id in (select id from packages_package_files where id % ${WORKERS} = ${w} order by random() limit ${Math.ceil(k / 3)})`);
      return;
    case 3: // state rows lost and backfilled
      await main.unsafe(`delete from package_file_states where package_file_id in (select package_file_id from package_file_states where ${mine} order by random() limit ${k})`);
      await main.unsafe(`insert into package_file_states (package_file_id, verification_state) select id, 2 from packages_package_files m where id % ${WORKERS} = ${w} and not exists (select 1 from package_file_states s where s.package_file_id = m.id) limit ${k} on conflict do nothing`);
      return;
    case 4: // reverification: succeeded back to pending; and an update that changes nothing counted
      await main.unsafe(`update package_file_states set verification_state = 0 where verification_state = 2 and ${mine}`);
      await main.unsafe(`update package_file_states set verified_at = now() where ${mine}`);
      return;
    default: // a transaction that rolls back leaves the counters as they were
      await main
        .begin(async (tx) => {
          await tx.unsafe(`update package_file_states set verification_state = 3 where ${mine}`);
          await tx.unsafe(`insert into packages_package_files (package_id, file_name, file_path, size) values (${pkg}, 'r', 'r', 1)`);
          throw new Error('rollback');
        })
        .catch((error: Error) => {
          if (error.message !== 'rollback') throw error;
        });
  }
}

async function secondaryStep(tracking: Sql, w: number, next: () => number, rand: () => number): Promise<void> {
  const k = 1 + Math.floor(rand() * 40);
  const mine = `id % ${WORKERS} = ${w}`;
  const pick = `select id from package_file_registry where ${mine} order by random() limit ${k}`;
  switch (Math.floor(rand() * 8)) {
    case 0: {
      const ids = Array.from({ length: k }, next);
      await tracking.unsafe(`insert into package_file_registry (package_file_id) select unnest(array[${ids.join(',')}]::bigint[]) on conflict do nothing`);
      return;
    }
    case 1: // synced and verified in one statement, as a fresh row
      await tracking.unsafe(`insert into package_file_registry (package_file_id, state, verification_state) values (${next()}, 2, ${Math.floor(rand() * 5)})`);
      return;
    case 2: // a sync batch: started, then synced
      await tracking.unsafe(`update package_file_registry set state = 1 where id in (${pick}) and state in (0, 3)`);
      await tracking.unsafe(`update package_file_registry set state = 2, last_synced_at = now() where state = 1 and ${mine}`);
      return;
    case 3: // failures with backoff
      await tracking.unsafe(`update package_file_registry set state = 3, retry_count = retry_count + 1, last_sync_failure = 'boom' where id in (${pick})`);
      return;
    case 4: // verification outcomes on synced rows, any state on others
      await tracking.unsafe(`update package_file_registry set verification_state = floor(random() * 5)::int where id in (${pick})`);
      return;
    case 5: // resync (RESYNC_ALL-like): back to pending, verification pending
      await tracking.unsafe(`update package_file_registry set state = 0, verification_state = 0 where state = 2 and ${mine}`);
      return;
    case 6:
      await tracking.unsafe(`delete from package_file_registry where id in (${pick})`);
      return;
    default:
      await tracking
        .begin(async (tx) => {
          await tx.unsafe(`update package_file_registry set state = 3 where ${mine}`);
          await tx.unsafe(`delete from package_file_registry where ${mine}`);
          throw new Error('rollback');
        })
        .catch((error: Error) => {
          if (error.message !== 'rollback') throw error;
        });
  }
}

const fieldsOf = (s: GeoStatusSnapshot, names: readonly string[]) => Object.fromEntries(names.map((name) => [name, s.fields[name]]));

describe('geo status counters', () => {
  let mainDb: TestDatabase;
  let trackingDb: TestDatabase;
  let main: Sql;
  let tracking: Sql;
  let primary: StatusSite;
  let secondary: StatusSite;
  let pkg: bigint;

  beforeAll(async () => {
    mainDb = await createTestDatabase('mgstat', { template: migrationTemplate(siteMigrationSet('main')) });
    trackingDb = await createTestDatabase('mgstatt', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    main = createSql(mainDb.url, { max: WORKERS + 2 });
    tracking = createSql(trackingDb.url, { max: WORKERS + 2 });
    primary = { role: 'primary', siteName: 'primary', replicators: siteReplicators(), mainSql: main };
    secondary = { role: 'secondary', siteName: 'secondary', replicators: siteReplicators(), mainSql: main, trackingSql: tracking };
    const org = await createOrganization(main, 'status-org');
    pkg = await createPackage(main, await createProject(main, org, 'status-project'), 'lib');
  });
  afterAll(async () => {
    await Promise.all([main.end({ timeout: 1 }), tracking.end({ timeout: 1 })]);
    await Promise.all([mainDb.drop(), trackingDb.drop()]);
  });

  it('every field equals COUNT(*) after a randomized concurrent workload', async () => {
    const seed = Number(process.env.STATUS_SEED ?? Date.now() % 1_000_000);
    let modelId = 0;
    const next = () => ++modelId;
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, w) => {
          const r = random(seed * 31 + round * WORKERS + w);
          await primaryStep(main, w, pkg, r);
          await secondaryStep(tracking, w, next, r);
        }),
      );
      if (round % 10 === 9) {
        const expectedPrimary = await sqlCountsPrimary(main);
        const expectedSecondary = await sqlCountsSecondary(tracking);
        expect({ seed, round, ...fieldsOf(await collectGeoStatus(primary), Object.keys(expectedPrimary)) }).toEqual({ seed, round, ...expectedPrimary });
        expect({ seed, round, ...fieldsOf(await collectGeoStatus(secondary), Object.keys(expectedSecondary)) }).toEqual({ seed, round, ...expectedSecondary });
      }
    }
    // one row in every (state, verification state) pair, then the same comparison: every field is non-zero
    await tracking.unsafe(`insert into package_file_registry (package_file_id, state, verification_state) select ${next()} * 100 + s * 5 + v, s, v from generate_series(0, 3) s, generate_series(0, 4) v`);
    await main.unsafe(`insert into packages_package_files (package_id, file_name, file_path, size) values (${pkg}, 'last', 'last', 1)`);
    await main.unsafe(`update package_file_states set verification_state = 2 where package_file_id = (select max(id) from packages_package_files)`);
    const counts = await sqlCountsSecondary(tracking);
    expect(fieldsOf(await collectGeoStatus(secondary), Object.keys(counts))).toEqual(counts);
    for (const key of ['package_files_pending_count', 'package_files_synced_count', 'package_files_failed_count', 'package_files_verified_count']) expect([key, counts[key]! > 0]).toEqual([key, true]);
    expect((await sqlCountsPrimary(main)).package_files_checksummed_count).toBeGreaterThan(0);
    // counters stay small: at most one row per slot and state pair, whatever the table size
    expect(await n(tracking, 'select count(*) as n from geo_registry_verification_counts')).toBeLessThanOrEqual(16 * 4 * 5 * 2);
  });

  it('TRUNCATE of a registry or a states table empties its counters too', async () => {
    const scratchMain = await createTestDatabase('mgstattr', { template: migrationTemplate(siteMigrationSet('main')) });
    const scratchTracking = await createTestDatabase('mgstattrt', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    const m = createSql(scratchMain.url, { max: 2 });
    const t = createSql(scratchTracking.url, { max: 2 });
    try {
      const org = await createOrganization(m, 'trunc');
      const p = await createPackage(m, await createProject(m, org, 'trunc'), 'lib');
      await m`insert into packages_package_files (package_id, file_name, file_path, size) select ${p.toString()}, 'f' || g, 'p/' || g, 1 from generate_series(1, 5) g`;
      await t`insert into package_file_registry (package_file_id, state) select g, g % 4 from generate_series(1, 9) g`;
      await t`truncate package_file_registry`;
      await m`truncate package_file_states`;
      await t`insert into package_file_registry (package_file_id, state) values (1, 2)`;
      const s = await collectGeoStatus({ role: 'secondary', siteName: 's', replicators: siteReplicators(), mainSql: m, trackingSql: t });
      expect(fieldsOf(s, ['package_files_registry_count', 'package_files_synced_count', 'package_files_pending_count'])).toEqual({ package_files_registry_count: 1, package_files_synced_count: 1, package_files_pending_count: 0 });
      expect(await n(t, "select coalesce(sum(n), 0) as n from geo_registry_counts where replicable_name = 'package_file'")).toBe(1);
      const p2 = await collectGeoStatus({ role: 'primary', siteName: 'p', replicators: siteReplicators(), mainSql: m });
      expect(p2.fields.package_files_checksum_total_count).toBe(0);
      expect(p2.fields.package_files_count).toBe(5);
    } finally {
      await Promise.all([m.end(), t.end()]);
      await Promise.all([scratchMain.drop(), scratchTracking.drop()]);
    }
  });

  it('two open transactions on the same connection slot never wait on each other for a counter', async () => {
    // 17 connections: two of them share a slot (pid % 16); those two run the test
    const collidingPair = async (url: string) => {
      const pool = createSql(url, { max: 17 });
      const reserved = await Promise.all(Array.from({ length: 17 }, () => pool.reserve()));
      const pids = await Promise.all(reserved.map(async (c) => Number((await c<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid)));
      const bySlot = new Map<number, number[]>();
      pids.forEach((pid, i) => bySlot.set(pid % 16, [...(bySlot.get(pid % 16) ?? []), i]));
      const [first, second] = [...bySlot.values()].find((group) => group.length >= 2)!;
      return { pool, reserved, pair: [reserved[first!]!, reserved[second!]!] as const };
    };
    await main`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg.toString()}, 'open' || g, 'open/' || g, 1 from generate_series(1, 2) g`;
    const ids = (await main<{ id: string }[]>`select id::text from packages_package_files where file_name like 'open%' order by id`).map((r) => r.id);
    await tracking`insert into package_file_registry (package_file_id, state) select unnest(${ids}::bigint[]), 2 on conflict do nothing`;
    const mainSide = await collidingPair(mainDb.url);
    const trackingSide = await collidingPair(trackingDb.url);
    try {
      const counted: string[] = [];
      for (const [i, id] of ids.entries()) {
        const m = mainSide.pair[i]!;
        const t = trackingSide.pair[i]!;
        await m`begin`;
        await t`begin`;
        // a claim held open (primary) and a verification result not yet committed (secondary),
        // then a new model row (the model count, step 0004) and a registry changing sync state
        // (the registry count, step 0004) in the same open transactions
        const claim = m`update package_file_states set verification_state = 1 where package_file_id = ${id}`
          .then(() => m`insert into packages_package_files (package_id, file_name, file_path, size) values (${pkg.toString()}, ${`held${i}`}, ${`held/${i}`}, 1)`)
          .then(() => counted.push(`states and model ${id}`));
        const verified = t`update package_file_registry set verification_state = 2 where package_file_id = ${id}`
          .then(() => t`update package_file_registry set state = 0 where package_file_id = ${id}`)
          .then(() => counted.push(`registry ${id}`));
        // with one counter row per slot, the second of each pair would wait here until the first commits
        await waitFor(() => counted.length === (i + 1) * 2, { timeoutMs: 60_000, message: `open transaction ${i + 1} counted without waiting` });
        await Promise.all([claim, verified]);
      }
      for (const c of [...mainSide.pair, ...trackingSide.pair]) await c`commit`;
      const expected = await sqlCountsSecondary(tracking);
      expect(fieldsOf(await collectGeoStatus(secondary), Object.keys(expected))).toEqual(expected);
      const expectedPrimary = await sqlCountsPrimary(main);
      expect(fieldsOf(await collectGeoStatus(primary), Object.keys(expectedPrimary))).toEqual(expectedPrimary);
    } finally {
      for (const side of [mainSide, trackingSide]) {
        for (const c of side.reserved) c.release();
        await side.pool.end({ timeout: 5 });
      }
    }
  });

  it('verification fields are null while geo_<type>_verification is off (upstream: nil)', async () => {
    await setFlag(main, siteFlags(), 'geo_package_file_verification', false);
    try {
      const s = await collectGeoStatus(secondary);
      expect(s.fields.package_files_verified_count).toBeNull();
      expect(s.fields.package_files_verified_in_percentage).toBeNull();
      expect(s.fields.package_files_synced_count).toEqual(await n(tracking, 'select count(*) as n from package_file_registry where state = 2'));
      expect(s.fields.packages_helm_metadata_caches_verified_count).toBe(0);
      expect((await collectGeoStatus(primary)).fields.package_files_checksummed_count).toBeNull();
    } finally {
      await setFlag(main, siteFlags(), 'geo_package_file_verification', true);
    }
  });

  it('oldest pending age follows a row going back to pending, not its creation', async () => {
    await tracking`delete from package_file_registry`;
    await tracking`insert into package_file_registry (package_file_id, state) values (900001, 0), (900002, 2)`;
    // an hour-old pending row (set directly: only a change of state resets pending_since)
    await tracking`update package_file_registry set pending_since = now() - interval '1 hour' where package_file_id = 900001`;
    const age = async () => (await collectGeoStatus(secondary)).fields.package_files_pending_oldest_age_seconds!;
    expect(await age()).toBeGreaterThanOrEqual(3600);
    expect(await age()).toBeLessThan(3600 + 600);
    await tracking`update package_file_registry set retry_count = 1 where package_file_id = 900001`;
    expect(await age()).toBeGreaterThanOrEqual(3600);
    // synced and pending again (a resync): it waits from now
    await tracking`update package_file_registry set state = 2 where package_file_id = 900001`;
    await tracking`update package_file_registry set pending_since = now() - interval '2 hours' where package_file_id = 900002`;
    expect(await age()).toBe(0); // none pending
    await tracking`update package_file_registry set state = 0 where package_file_id in (900001, 900002)`;
    expect(await age()).toBeLessThan(600);
  });

  it('reports the last completed consistency lap and the cursor lag', async () => {
    const finished = new Date(Date.now() - 30_000);
    await tracking`insert into geo_consistency_laps (replicable_name, started_at, finished_at, registries_created, registries_removed)
                   values ('package_file', ${new Date(finished.getTime() - 1000)}, ${finished}, 1, 0)`;
    // three new events; the newest id is the outbox sequence's (rolled-back inserts burn ids beyond max(id))
    await main`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg.toString()}, 'lag' || g, 'lag/' || g, 1 from generate_series(1, 3) g`;
    const before = await n(main, 'select last_value as n from geo_events_id_seq');
    await tracking`update geo_event_cursor set last_event_id = ${before - 3}`;
    await main`update geo_events set created_at = now() - interval '90 seconds' where id = ${before - 2}`;
    const s = await collectGeoStatus(secondary);
    expect(s.fields.package_files_consistency_lap_completed_at).toBe(Math.floor(finished.getTime() / 1000));
    expect(s.fields.packages_helm_metadata_caches_consistency_lap_completed_at).toBeNull();
    expect(s.fields.cursor_lag_events).toBe(3);
    expect(s.fields.cursor_lag_seconds).toBeGreaterThanOrEqual(90);
    expect(s.fields.cursor_lag_seconds).toBeLessThan(90 + 600);
    await tracking`update geo_event_cursor set last_event_id = ${before}`;
    expect((await collectGeoStatus(secondary)).fields.cursor_lag_seconds).toBe(0);
  });

  it('a slow source costs only its own fields: the others, and their gauges, still report', async () => {
    const metrics = new Registry();
    registerGeoMetrics(metrics, secondary, { sourceTimeoutMs: 500 });
    // another session holds the registry counters locked: reading them waits until cancelled
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = tracking.begin(async (tx) => {
      await tx`lock table geo_registry_verification_counts in access exclusive mode`;
      locked();
      await held;
    });
    try {
      await isLocked;
      const s = await collectGeoStatus(secondary, { sourceTimeoutMs: 500 });
      const source = s.sources.find((x) => x.name === 'registry_counts')!;
      expect(source.ok).toBe(false);
      expect(source.error).toMatch(/statement timeout|canceling statement|no answer within/);
      expect(s.sources.filter((x) => x.name !== 'registry_counts').every((x) => x.ok)).toBe(true);
      expect(s.fields.package_files_synced_count).toBeNull();
      expect(s.fields.package_files_count).toBe(await n(main, 'select count(*) as n from packages_package_files'));
      expect(s.fields.cursor_last_event_id).toEqual(expect.any(Number));

      const text = await metrics.metrics();
      expect(text).toContain('geo_status_source_up{source="registry_counts"} 0');
      expect(text).toContain('geo_status_source_up{source="model_counts"} 1');
      expect(text).toContain('geo_status_scrape_ok 0');
      expect(text).toMatch(/^geo_package_files\{url="secondary"\} \d+$/m);
      expect(text).not.toMatch(/^geo_package_files_synced\{/m);
      expect(text).toMatch(/^geo_cursor_last_event_id\{url="secondary"\} \d+$/m);
    } finally {
      release();
      await holder;
    }
    const text = await metrics.metrics();
    expect(text).toContain('geo_status_scrape_ok 1');
    expect(text).toMatch(/^geo_package_files_synced\{url="secondary"\} \d+$/m);
  });
});

describe('a site migrated before the status counters', () => {
  const NEW_STEPS = /^geo\/(0003_verification_counts|0003_registry_verification_counts|[a-z_]+\/0003_(verification_counts|status_counters)|(?:[a-z_]+\/)?0004_counter_slots)$/;
  const COUNTER_SLOT_STEPS = ['geo/0004_counter_slots', 'geo/package_file/0004_counter_slots', 'geo/packages_helm_metadata_cache/0004_counter_slots'];
  /** every status field of both roles equals its COUNT(*); returns the SQL counts */
  const expectExactStatus = async (main: Sql, tracking: Sql) => {
    const p = await sqlCountsPrimary(main);
    expect(fieldsOf(await collectGeoStatus({ role: 'primary', siteName: 'p', replicators: siteReplicators(), mainSql: main }), Object.keys(p))).toEqual(p);
    const s = await sqlCountsSecondary(tracking);
    expect(fieldsOf(await collectGeoStatus({ role: 'secondary', siteName: 's', replicators: siteReplicators(), mainSql: main, trackingSql: tracking }), Object.keys(s))).toEqual(s);
    return { p, s };
  };
  const older = (kind: 'main' | 'geo_tracking'): MigrationSet => {
    const set = siteMigrationSet(kind);
    return { ...set, migrations: set.migrations.filter((m) => !NEW_STEPS.test(m.name)) };
  };

  it('counts its existing rows in the new steps, then keeps counting', async () => {
    const mainDb = await createTestDatabase('mgstatold');
    const trackingDb = await createTestDatabase('mgstatoldt');
    const main = createSql(mainDb.url, { max: 2 });
    const tracking = createSql(trackingDb.url, { max: 2 });
    try {
      await migrate(main, older('main'));
      await migrate(tracking, older('geo_tracking'));
      const org = await createOrganization(main, 'old-org');
      const pkg = await createPackage(main, await createProject(main, org, 'old-project'), 'lib');
      await main`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg.toString()}, 'f' || g, 'p/' || g, 1 from generate_series(1, 50) g`;
      await main`update package_file_states set verification_state = 2 where package_file_id % 3 = 0`;
      await main`update package_file_states set verification_state = 3 where package_file_id % 7 = 0`;
      await tracking`insert into package_file_registry (package_file_id, state, verification_state) select g, g % 4, g % 5 from generate_series(1, 80) g`;

      const applied = (await migrate(main, siteMigrationSet('main'))).applied;
      expect(applied).toEqual(['geo/0003_verification_counts', 'geo/package_file/0003_verification_counts', 'geo/packages_helm_metadata_cache/0003_verification_counts', ...COUNTER_SLOT_STEPS]);
      expect((await migrate(tracking, siteMigrationSet('geo_tracking'))).applied).toEqual([
        'geo/0003_registry_verification_counts',
        'geo/package_file/0003_status_counters',
        'geo/packages_helm_metadata_cache/0003_status_counters',
        ...COUNTER_SLOT_STEPS,
      ]);
      const check = () => expectExactStatus(main, tracking);
      const { p, s } = await check();
      expect(p.package_files_checksummed_count).toBeGreaterThan(0);
      expect(s.package_files_verified_count).toBeGreaterThan(0);
      // and after the migration, writes keep them exact
      await tracking`update package_file_registry set state = 2, verification_state = 2 where package_file_id % 2 = 0`;
      await main`delete from packages_package_files where id % 5 = 0`;
      await check();
    } finally {
      await Promise.all([main.end(), tracking.end()]);
      await Promise.all([mainDb.drop(), trackingDb.drop()]);
    }
  });
  it('a site on the released 0003 steps takes the 0004 steps (counter slots, rewrites pending) with its counts intact', async () => {
    const before = (kind: 'main' | 'geo_tracking'): MigrationSet => {
      const set = siteMigrationSet(kind);
      return { ...set, migrations: set.migrations.filter((m) => !/^geo\/([a-z_]+\/)?0004_/.test(m.name)) };
    };
    const mainDb = await createTestDatabase('mgstat3');
    const trackingDb = await createTestDatabase('mgstat3t');
    const main = createSql(mainDb.url, { max: 2 });
    const tracking = createSql(trackingDb.url, { max: 2 });
    try {
      await migrate(main, before('main'));
      await migrate(tracking, before('geo_tracking'));
      const org = await createOrganization(main, 'slots-org');
      const pkg = await createPackage(main, await createProject(main, org, 'slots-project'), 'lib');
      await main`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg.toString()}, 'f' || g, 'p/' || g, 1 from generate_series(1, 40) g`;
      await tracking`insert into package_file_registry (package_file_id, state) select g, g % 4 from generate_series(1, 60) g`;
      expect((await migrate(main, siteMigrationSet('main'))).applied).toEqual([...COUNTER_SLOT_STEPS, 'geo/packages_helm_metadata_cache/0004_rewrite_pending']);
      expect((await migrate(tracking, siteMigrationSet('geo_tracking'))).applied).toEqual(COUNTER_SLOT_STEPS);
      // every slot row exists now, so a statement can pick one that no open transaction holds
      expect(await n(main, "select count(*) as n from geo_replicable_counts where replicable_name = 'package_file'")).toBe(16);
      expect(await n(tracking, "select count(*) as n from geo_registry_counts where replicable_name = 'package_file'")).toBe(64);
      const check = () => expectExactStatus(main, tracking);
      expect((await check()).p.package_files_count).toBe(40);
      await main`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg.toString()}, 'g' || g, 'q/' || g, 1 from generate_series(1, 7) g`;
      await main`delete from packages_package_files where id % 4 = 0`;
      await tracking`update package_file_registry set state = 2 where package_file_id % 3 = 0`;
      await tracking`delete from package_file_registry where package_file_id % 5 = 0`;
      await tracking`insert into package_file_registry (package_file_id, state) select g, 1 from generate_series(61, 70) g`;
      const { p, s } = await check();
      expect(p.package_files_count).toBe(47 - Math.floor(47 / 4));
      expect(s.package_files_registry_count).toBe(60 - 12 + 10);
    } finally {
      await Promise.all([main.end(), tracking.end()]);
      await Promise.all([mainDb.drop(), trackingDb.drop()]);
    }
  });
});
