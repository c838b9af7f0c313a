import { randomBytes } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { processEventBatch, registryStore, RegistryState, runConsistencyBatch, runRegistrySync, setSelectiveSyncOrganizations } from '@meridian/geo';
import { lapReport, latestDoubleChecks, NoCompletedLapError, OrganizationScopeError, runDoubleCheck } from '@meridian/org-move';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { startGeoHarness, type GeoHarness } from '../geo/geo-harness';

// A seeded source with files in three organizations, some created inside the window and some
// before it; some have lost their created events (their registries are gone on the target).

const registry = registryStore(packageFileReplicator);
const HOURS = 3_600_000;

describe('org-move double check on the target', () => {
  let h: GeoHarness;
  const orgs: bigint[] = [];
  const files = new Map<string, bigint[]>(); // `${org}:${old|recent}` → ids
  let dropped: { recent: bigint[]; old: bigint[]; recentOrg1: bigint[] };

  const ids = (key: string) => files.get(key)!;
  const registered = async (list: readonly bigint[]) => {
    const rows = await h.secondary.trackingSql!<{ id: bigint }[]>`
      select package_file_id as id from package_file_registry where package_file_id = any(${list.map(String)}::bigint[])`;
    return new Set(rows.map((r) => BigInt(r.id)));
  };

  beforeAll(async () => {
    h = await startGeoHarness({ geoSettings: { consistencyBatchSize: 5 } });
    await h.startSyncWorkers();
    const main = h.primary.mainSql;
    for (const name of ['alpha', 'beta', 'gamma']) {
      const org = await createOrganization(main, name);
      orgs.push(org);
      const project = await createProject(main, org, `${name}-app`);
      const pkg = await createPackage(main, project, `${name}-pkg`);
      for (const age of ['old', 'recent']) {
        const list: bigint[] = [];
        for (let i = 0; i < 6; i++) list.push(await createPackageFile(main, h.primary.storage, pkg, `${name}-${age}-${i}.tgz`, randomBytes(512)));
        files.set(`${org}:${age}`, list);
      }
      // "old" rows were created long before any window the tests use
      await main`update packages_package_files set created_at = now() - interval '100 hours' where id = any(${ids(`${org}:old`).map(String)}::bigint[])`;
    }
    // every created event is delivered …
    while ((await processEventBatch(h.secondaryGeo)).events > 0);
    // … then some are "dropped": their registries never came to exist on the target
    const [a, b] = orgs as [bigint, bigint];
    dropped = {
      recentOrg1: [ids(`${a}:recent`)[0]!, ids(`${a}:recent`)[3]!],
      recent: [ids(`${a}:recent`)[0]!, ids(`${a}:recent`)[3]!, ids(`${b}:recent`)[5]!],
      old: [ids(`${a}:old`)[1]!, ids(`${b}:old`)[2]!],
    };
    await h.secondary.trackingSql!`delete from package_file_registry where package_file_id = any(${[...dropped.recent, ...dropped.old].map(String)}::bigint[])`;
  });
  afterAll(async () => {
    await h?.close();
  });

  const check = (options: Partial<Parameters<typeof runDoubleCheck>[0]>) =>
    runDoubleCheck({ main: h.secondary.mainSql, tracking: h.secondary.trackingSql!, replicators: [packageFileReplicator], dryRun: false, ...options });

  it('dry run: finds exactly the missing rows inside the window, none outside it, and changes nothing', async () => {
    const [result] = await check({ sinceHours: 72, dryRun: true, batchSize: 4 });
    expect(result!.checked).toBe(18); // 6 recent rows × 3 organizations
    expect([...result!.missingIds].sort()).toEqual([...dropped.recent].sort());
    expect(result!.windowSource).toBe('since_hours');
    expect((await registered([...dropped.recent, ...dropped.old])).size).toBe(0);
    const recorded = await latestDoubleChecks(h.secondary.trackingSql!, orgs[0]!);
    expect(recorded.get('package_file')).toMatchObject({ dryRun: true, checked: 18 });
  });

  it('the organization filter narrows to that organization', async () => {
    const [result] = await check({ sinceHours: 72, dryRun: true, organizationId: orgs[0] });
    expect(result!.checked).toBe(6);
    expect([...result!.missingIds].sort()).toEqual([...dropped.recentOrg1].sort());
  });

  it('an organization outside selective sync is refused, and selective sync narrows an unfiltered check', async () => {
    await setSelectiveSyncOrganizations(h.secondary.trackingSql!, [orgs[2]!]);
    try {
      await expect(check({ sinceHours: 72, organizationId: orgs[0] })).rejects.toBeInstanceOf(OrganizationScopeError);
      const [result] = await check({ sinceHours: 72, dryRun: true });
      expect(result!.checked).toBe(6);
      expect(result!.missingIds).toEqual([]);
    } finally {
      await setSelectiveSyncOrganizations(h.secondary.trackingSql!, []);
    }
  });

  it('repairs: the missing rows get pending registries, which then sync by the normal path; a second check finds nothing', async () => {
    const [result] = await check({ sinceHours: 72 });
    expect([...result!.missingIds].sort()).toEqual([...dropped.recent].sort());
    for (const id of dropped.recent) expect((await registry.get(h.secondary.trackingSql!, id))?.state).toBe(RegistryState.pending);
    expect((await registered(dropped.old)).size).toBe(0); // outside the window: left to the lap
    await runRegistrySync(h.secondaryGeo);
    for (const id of dropped.recent) await h.waitForState(packageFileReplicator, id, RegistryState.synced, 60_000);
    const [again] = await check({ sinceHours: 72 });
    expect(again!.missingIds).toEqual([]);
  });

  it('reports registries created in the window whose source row is gone (dropped deletes), and keeps them', async () => {
    const gone = ids(`${orgs[2]}:recent`)[4]!;
    // a delete whose event never arrived: the row goes, the target's registry stays
    await h.primary.mainSql`delete from packages_package_files where id = ${gone.toString()}`;
    const [result] = await check({ sinceHours: 72, dryRun: true, batchSize: 3 });
    expect(result!.orphanedIds).toEqual([gone]);
    expect((await registered([gone])).size).toBe(1);
  });

  it('without --since-hours: refuses while no lap has completed, then uses the start of the last completed lap', async () => {
    await expect(check({})).rejects.toBeInstanceOf(NoCompletedLapError);
    // a lap in 5-id batches, with a row added mid-lap
    let first = await runConsistencyBatch(h.secondaryGeo, packageFileReplicator);
    expect(first.lapCompleted).toBe(false);
    const mid = await lapReport(h.secondary.mainSql, h.secondary.trackingSql!, [packageFileReplicator]);
    expect(mid[0]!.last).toBeUndefined();
    expect(mid[0]!.current.fraction).toBeGreaterThan(0);
    expect(mid[0]!.current.fraction).toBeLessThan(1);
    const [org] = orgs;
    const [{ id: pkg }] = (await h.primary.mainSql<{ id: bigint }[]>`
      select pk.id from packages_packages pk join projects p on p.id = pk.project_id where p.organization_id = ${org!.toString()}`) as unknown as [{ id: bigint }];
    const late = await createPackageFile(h.primary.mainSql, h.primary.storage, BigInt(pkg), 'late.tgz', randomBytes(64));
    let laps = 0;
    while (laps < 2) {
      first = await runConsistencyBatch(h.secondaryGeo, packageFileReplicator);
      if (first.lapCompleted) laps += 1;
    }
    // the walk registered the old dropped rows and the late one (its event was never read)
    expect((await registered([...dropped.old, late])).size).toBe(3);
    const report = await lapReport(h.secondary.mainSql, h.secondary.trackingSql!, [packageFileReplicator]);
    expect(report[0]!.last).toBeDefined();
    expect(report[0]!.last!.finishedAt.getTime()).toBeGreaterThanOrEqual(report[0]!.last!.startedAt.getTime());

    // the last completed lap began moments ago: only rows created since then are checked
    await h.secondary.trackingSql!`delete from package_file_registry where package_file_id = ${late.toString()}`;
    const [result] = await check({ dryRun: true });
    expect(result!.windowSource).toBe('last_lap');
    expect(result!.since.getTime()).toBe(report[0]!.last!.startedAt.getTime());
    expect(result!.checked).toBe(0);
    // moved back before the late row: it is in the window again, and found
    await h.secondary.trackingSql!`update geo_consistency_laps set started_at = started_at - interval '1 hour'`;
    const [wider] = await check({ dryRun: true });
    expect(wider!.missingIds).toEqual([late]);
    expect(wider!.since.getTime()).toBeLessThan(Date.now() - 0.9 * HOURS);
  });
});
