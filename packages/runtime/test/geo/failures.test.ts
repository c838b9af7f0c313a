import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { processEventBatch, registryStore, RegistryState, setSelectiveSyncOrganizations, runRegistryConsistency, syncBlob } from '@meridian/geo';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { setFlag } from '@meridian/db';
import { waitFor } from '@meridian/testing';
import { siteFlags } from '../../src';
import { startGeoHarness, type GeoHarness } from './geo-harness';

const registry = registryStore(packageFileReplicator);

describe('geo replication: failures, gaps, backoff, selective sync', () => {
  let h: GeoHarness;
  let packageId: bigint;
  let orgA: bigint;
  let orgB: bigint;

  beforeAll(async () => {
    h = await startGeoHarness();
    orgA = await createOrganization(h.primary.mainSql, 'org-a');
    orgB = await createOrganization(h.primary.mainSql, 'org-b');
    packageId = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, orgA, 'p-a'), 'pkg');
  });
  afterAll(async () => {
    await h.close();
  });

  /** a package-file row whose blob path we choose (the file may not exist) */
  const rawRow = async (filePath: string) => {
    const [row] = await h.primary.mainSql<{ id: bigint }[]>`
      insert into packages_package_files (package_id, file_name, file_path, size) values (${packageId.toString()}, 'raw', ${filePath}, 1) returning id`;
    return row!.id;
  };
  const secondsUntilRetry = async (id: bigint) => {
    const [row] = await h.secondary.trackingSql!<{ s: number }[]>`
      select extract(epoch from retry_at - now())::float8 as s from package_file_registry where package_file_id = ${id.toString()}`;
    return row!.s;
  };

  it('recovers an event whose transaction committed out of order (a gap)', async () => {
    // the cursor has consumed history so far (a brand-new cursor starts at the first visible event)
    await rawRow('packages/before');
    await processEventBatch(h.secondaryGeo);
    let releaseSlow!: () => void;
    const slowMayCommit = new Promise<void>((resolve) => (releaseSlow = resolve));
    let slowId: bigint | undefined;
    const slowInserted = new Promise<void>((resolve) => {
      void h.primary.mainSql.begin(async (tx) => {
        const [row] = await tx<{ id: bigint }[]>`
          insert into packages_package_files (package_id, file_name, file_path, size) values (${packageId.toString()}, 'slow', 'packages/slow', 1) returning id`;
        slowId = row!.id;
        resolve();
        await slowMayCommit;
      });
    });
    await slowInserted;
    const fastId = await rawRow('packages/fast');
    const first = await processEventBatch(h.secondaryGeo);
    expect(first.gapsDetected).toBeGreaterThanOrEqual(1);
    expect(await registry.get(h.secondary.trackingSql!, fastId)).toBeDefined();
    expect(await registry.get(h.secondary.trackingSql!, slowId!)).toBeUndefined();
    const gaps = await h.secondary.trackingSql!`select count(*)::int as n from geo_event_gaps`;
    expect(gaps[0]?.n).toBeGreaterThanOrEqual(1);

    releaseSlow();
    await waitFor(async () => (await h.primary.mainSql`select 1 from packages_package_files where id = ${slowId!.toString()}`).length === 1);
    const second = await processEventBatch(h.secondaryGeo);
    expect(second.gapsRecovered).toBeGreaterThanOrEqual(1);
    expect(await registry.get(h.secondary.trackingSql!, slowId!)).toBeDefined();
    const left = await h.secondary.trackingSql!`select count(*)::int as n from geo_event_gaps`;
    expect(left[0]?.n).toBe(0);
  });

  it('drops gaps that never fill after the gap timeout, and counts them', async () => {
    // a rolled-back insert burns an event id forever
    await h.primary.mainSql.begin(async (tx) => {
      await tx`insert into packages_package_files (package_id, file_name, file_path, size) values (${packageId.toString()}, 'rolled-back', 'x', 1)`;
      await tx`select 1/0`;
    }).catch(() => undefined);
    await rawRow('packages/after-rollback');
    expect((await processEventBatch(h.secondaryGeo)).gapsDetected).toBe(1);
    await h.secondary.trackingSql!`update geo_event_gaps set detected_at = now() - interval '2 hours'`;
    expect((await processEventBatch(h.secondaryGeo)).gapsDropped).toBe(1);
    const [stats] = await h.secondary.trackingSql!`select gaps_dropped::int from geo_event_stats`;
    expect(stats?.gaps_dropped).toBeGreaterThanOrEqual(1);
  });

  it('backoff follows n^4 + 15 + rand(0..29)·(n+1) seconds, capped at 1 h + delay(1) (4 h when missing)', async () => {
    const samples = async (n: number, cap: number) =>
      (await h.secondary.trackingSql!<{ d: number }[]>`select geo_retry_delay_seconds(${n}, ${cap}) as d from generate_series(1, 200)`).map((r) => r.d);
    for (let n = 1; n <= 7; n++) {
      for (const d of await samples(n, 3_600)) {
        expect(d).toBeGreaterThanOrEqual(n ** 4 + 15);
        expect(d).toBeLessThanOrEqual(n ** 4 + 15 + 29 * (n + 1));
        expect(Number.isInteger(d)).toBe(true);
      }
    }
    for (const n of [8, 12, 100]) {
      for (const d of await samples(n, 3_600)) {
        expect(d).toBeGreaterThanOrEqual(3_600 + 16);
        expect(d).toBeLessThanOrEqual(3_600 + 74);
      }
    }
    // with the 4 h cap, n = 10 is still uncapped and n = 11 is capped
    for (const d of await samples(10, 14_400)) expect(d).toBeLessThan(14_400);
    for (const d of await samples(11, 14_400)) expect(d).toBeGreaterThanOrEqual(14_400 + 16);
    // the spread is real: 200 samples of n = 3 do not all agree
    expect(new Set(await samples(3, 3_600)).size).toBeGreaterThan(5);
  });

  it('a file missing on the primary fails the registry with the 4 h cap; other failures cap at 1 h', async () => {
    const missing = await rawRow('packages/never-written.bin');
    await registry.insertPending(h.secondary.trackingSql!, [missing]);
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, missing)).toBe('failed');
    const first = await registry.get(h.secondary.trackingSql!, missing);
    expect(first).toMatchObject({ state: RegistryState.failed, retry_count: 1, missing_on_primary: true, last_sync_failure: 'the file is missing on the primary' });
    const s1 = await secondsUntilRetry(missing);
    expect(s1).toBeGreaterThan(14);
    expect(s1).toBeLessThan(75);

    // many failures later the 4 h cap applies
    await h.secondary.trackingSql!`update package_file_registry set retry_count = 20, state = 0 where package_file_id = ${missing.toString()}`;
    await syncBlob(h.secondaryGeo, packageFileReplicator, missing);
    const capped = await secondsUntilRetry(missing);
    expect(capped).toBeGreaterThan(4 * 3600 + 14);
    expect(capped).toBeLessThan(4 * 3600 + 75);
  });

  it('refuses a path-traversal blob_path: nothing is read or written outside the storage roots', async () => {
    const evil = await rawRow('../../../../etc/passwd');
    await registry.insertPending(h.secondary.trackingSql!, [evil]);
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, evil)).toBe('failed');
    const row = await registry.get(h.secondary.trackingSql!, evil);
    expect(row?.state).toBe(RegistryState.failed);
    expect(row?.last_sync_failure).toMatch(/500|unsafe/i);
    expect(existsSync(path.join(h.secondaryRoot, '..', '..', '..', '..', 'etc', 'passwd.tmp'))).toBe(false);
    // and a normal failure caps at 1 h
    await h.secondary.trackingSql!`update package_file_registry set retry_count = 20, state = 0 where package_file_id = ${evil.toString()}`;
    await syncBlob(h.secondaryGeo, packageFileReplicator, evil);
    const capped = await secondsUntilRetry(evil);
    expect(capped).toBeGreaterThan(3600 + 14);
    expect(capped).toBeLessThan(3600 + 75);
  });

  it('selective sync by organization: only in-scope blobs replicate; changing the set removes what falls out', async () => {
    const pkgB = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, orgB, 'p-b'), 'pkg-b');
    await setSelectiveSyncOrganizations(h.secondary.trackingSql!, [orgA]);
    await h.startSyncWorkers();
    const inA = await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'a.bin', randomBytes(2048));
    const inB = await createPackageFile(h.primary.mainSql, h.primary.storage, pkgB, 'b.bin', randomBytes(2048));
    await processEventBatch(h.secondaryGeo);
    await h.waitForState(packageFileReplicator, inA, RegistryState.synced);
    expect(await registry.get(h.secondary.trackingSql!, inB)).toBeUndefined();
    const pathA = (await registry.get(h.secondary.trackingSql!, inA))!.blob_path!;
    expect(existsSync(path.join(h.secondaryRoot, pathA))).toBe(true);

    await setSelectiveSyncOrganizations(h.secondary.trackingSql!, [orgB]);
    await runRegistryConsistency(h.secondaryGeo);
    expect(await registry.get(h.secondary.trackingSql!, inA)).toBeUndefined();
    expect(existsSync(path.join(h.secondaryRoot, pathA))).toBe(false);
    expect((await registry.get(h.secondary.trackingSql!, inB))?.state).toBe(RegistryState.pending);
    await setSelectiveSyncOrganizations(h.secondary.trackingSql!, []);
  });

  it('a disabled replication flag stops new registries; enabling it backfills through consistency', async () => {
    await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_replication', false);
    try {
      const id = await rawRow('packages/flag-off');
      await processEventBatch(h.secondaryGeo);
      expect(await registry.get(h.secondary.trackingSql!, id)).toBeUndefined();
      expect((await runRegistryConsistency(h.secondaryGeo)).created).toBe(0);
      await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_replication', true);
      await runRegistryConsistency(h.secondaryGeo);
      expect((await registry.get(h.secondary.trackingSql!, id))?.state).toBe(RegistryState.pending);
    } finally {
      await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_replication', true);
    }
  });

  it('a synced that races a new pending leaves the registry pending (synced once more later)', async () => {
    const id = await rawRow('packages/racy');
    await registry.insertPending(h.secondary.trackingSql!, [id]);
    expect(await registry.start(h.secondary.trackingSql!, id)).toEqual({ retryCount: 0 });
    // the blob changes on the primary while the download runs: the cursor marks it pending again
    await registry.markPending(h.secondary.trackingSql!, [id]);
    expect(await registry.synced(h.secondary.trackingSql!, id, 'packages/racy')).toBe(false);
    expect((await registry.get(h.secondary.trackingSql!, id))?.state).toBe(RegistryState.pending);
    // and a failure racing the same way does not hide the new pending either
    await registry.start(h.secondary.trackingSql!, id);
    await registry.markPending(h.secondary.trackingSql!, [id]);
    expect(await registry.failed(h.secondary.trackingSql!, id, 'boom')).toBe(false);
    expect((await registry.get(h.secondary.trackingSql!, id))?.state).toBe(RegistryState.pending);
    // a second start while one sync holds the row is refused
    await registry.start(h.secondary.trackingSql!, id);
    expect(await registry.start(h.secondary.trackingSql!, id)).toBeUndefined();
  });
});
