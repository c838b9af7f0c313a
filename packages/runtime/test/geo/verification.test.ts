import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject, upsertHelmMetadataCache } from '@meridian/cell-models';
import { createSql, migrate, setFlag, type MigrationSet } from '@meridian/db';
import { runVerification, verificationStore, VerificationState } from '@meridian/geo';
import { helmMetadataCacheReplicator } from '@meridian/replicator-helm-metadata-caches';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { sha256Hex } from '@meridian/storage';
import { createTestDatabase } from '@meridian/testing';
import { siteFlags, siteMigrationSet } from '../../src';
import { startGeoHarness, type GeoHarness } from './geo-harness';

const store = verificationStore(packageFileReplicator);
const DAY = 86_400_000;

describe('primary verification', () => {
  let h: GeoHarness;
  let packageId: bigint;
  let projectId: bigint;
  const at = (ms: number) => () => new Date(ms);

  beforeAll(async () => {
    h = await startGeoHarness();
    const org = await createOrganization(h.primary.mainSql, 'acme');
    projectId = await createProject(h.primary.mainSql, org, 'widgets');
    packageId = await createPackage(h.primary.mainSql, projectId, 'widget');
  });
  afterAll(async () => {
    await h.close();
  });

  const newFile = (bytes = randomBytes(64 * 1024)) => createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'w.tgz', bytes);
  const filePath = async (id: bigint) =>
    (await h.primary.mainSql<{ file_path: string }[]>`select file_path from packages_package_files where id = ${id.toString()}`)[0]!.file_path;
  const row = async (id: bigint) => (await store.get(h.primary.mainSql, id))!;
  const checksumEvents = async (id: bigint) =>
    h.primary.mainSql<{ payload: { checksum: string } }[]>`
      select payload from geo_events where event_name = 'checksum_succeeded' and (payload->>'model_record_id')::bigint = ${id.toString()} order by id`;

  it('checksums a blob to what sha256sum computes, and writes checksum_succeeded with it', async () => {
    const id = await newFile(randomBytes(3 * 1024 * 1024 + 17));
    expect((await row(id)).verification_state).toBe(VerificationState.pending);
    const result = await runVerification(h.primaryGeo, packageFileReplicator);
    expect(result.enabled).toBe(true);
    expect(result.succeeded).toBeGreaterThanOrEqual(1);
    const expected = execFileSync('sha256sum', [path.join(h.primaryRoot, await filePath(id))]).toString().split(' ')[0];
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(await row(id)).toMatchObject({ verification_state: VerificationState.succeeded, verification_checksum: expected, verification_failure: null });
    expect((await checksumEvents(id)).map((e) => e.payload.checksum)).toEqual([expected]);
  });

  it('records failures with the shared backoff, growing with each retry', async () => {
    const id = await newFile();
    rmSync(path.join(h.primaryRoot, await filePath(id)));
    let now = Date.now();
    for (let n = 1; n <= 4; n++) {
      await runVerification(h.primaryGeo, packageFileReplicator, { now: at(now) });
      const r = await row(id);
      expect(r).toMatchObject({ verification_state: VerificationState.failed, verification_retry_count: n });
      expect(r.verification_failure).toMatch(/^Error during verification: BlobMissingError/);
      const delay = (r.verification_retry_at!.getTime() - now) / 1000;
      expect(delay).toBeGreaterThanOrEqual(n ** 4 + 15);
      expect(delay).toBeLessThanOrEqual(n ** 4 + 15 + 29 * (n + 1));
      // not retried before it is due
      await runVerification(h.primaryGeo, packageFileReplicator, { now: at(now + (n ** 4 + 14) * 1000) });
      expect((await row(id)).verification_retry_count).toBe(n);
      now = r.verification_retry_at!.getTime() + 1_000;
    }
    expect(await checksumEvents(id)).toEqual([]);
  });

  it('sends succeeded rows back to pending after the reverification interval and checksums them again', async () => {
    const id = await newFile();
    const t0 = Date.now();
    await runVerification(h.primaryGeo, packageFileReplicator, { now: at(t0) });
    expect((await row(id)).verified_at?.getTime()).toBe(t0);
    const early = await runVerification(h.primaryGeo, packageFileReplicator, { now: at(t0 + 7 * DAY - 60_000) });
    expect((await row(id)).verified_at?.getTime()).toBe(t0);
    expect(early.reverified).toBe(0);
    const due = await runVerification(h.primaryGeo, packageFileReplicator, { now: at(t0 + 7 * DAY + 60_000) });
    expect(due.reverified).toBeGreaterThanOrEqual(1);
    expect(await row(id)).toMatchObject({ verification_state: VerificationState.succeeded });
    expect((await row(id)).verified_at?.getTime()).toBe(t0 + 7 * DAY + 60_000);
    expect(await checksumEvents(id)).toHaveLength(2);
  });

  it('times out rows stuck in started (a worker died mid-checksum) and retries them with backoff', async () => {
    const id = await newFile();
    const t0 = Date.now();
    const claimed = await h.primary.mainSql.begin((tx) => store.claim(tx, 1_000, new Date(t0)));
    expect(claimed.map((c) => c.modelId)).toContain(id);
    // …and the worker never reports back
    const before = await runVerification(h.primaryGeo, packageFileReplicator, { now: at(t0 + 8 * 3_600_000 - 60_000) });
    expect(before.timedOut).toBe(0);
    expect((await row(id)).verification_state).toBe(VerificationState.started);
    const after = await runVerification(h.primaryGeo, packageFileReplicator, { now: at(t0 + 8 * 3_600_000 + 60_000) });
    expect(after.timedOut).toBeGreaterThanOrEqual(1);
    expect(await row(id)).toMatchObject({ verification_state: VerificationState.failed, verification_retry_count: 1, verification_failure: 'Verification timed out after 28800 s' });
    // a late report from the dead worker changes nothing
    expect(await store.succeeded(h.primary.mainSql, claimed.find((c) => c.modelId === id)!, 'ab'.repeat(32), new Date())).toBe(false);
  });

  it('concurrent claims never take the same row, and concurrent runs checksum each row once', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, () => newFile(randomBytes(1024))));
    // three transactions hold their claims open until all three have claimed: with row locks
    // and no SKIP LOCKED they would wait on each other forever
    const kept: bigint[][] = [];
    let released!: () => void;
    const gate = new Promise<void>((resolve) => (released = resolve));
    let count = 0;
    await Promise.all(
      [0, 1, 2].map(() =>
        h.primary.mainSql.begin(async (tx) => {
          const rows = await store.claim(tx, 10, new Date());
          kept.push(rows.map((r) => r.modelId));
          if (++count === 3) released();
          await gate;
        }),
      ),
    );
    const all = kept.flat();
    expect(new Set(all).size).toBe(all.length);
    for (const list of kept) expect(list.length).toBeGreaterThan(0);
    expect(all.filter((id) => ids.includes(id)).length).toBe(30);
    // put them back and let three runs race over them
    await h.primary.mainSql`update package_file_states set verification_state = 0 where package_file_id = any(${ids.map(String)}::bigint[])`;
    await Promise.all([0, 1, 2].map(() => runVerification(h.primaryGeo, packageFileReplicator)));
    for (const id of ids) {
      expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
      expect(await checksumEvents(id)).toHaveLength(1);
    }
  });

  it('checksums a rewritten mutable blob again: the rewrite sends its state back to pending, without the old checksum', async () => {
    const helm = verificationStore(helmMetadataCacheReplicator);
    const helmRow = async (id: bigint) => (await helm.get(h.primary.mainSql, id))!;
    await setFlag(h.primary.mainSql, siteFlags(), 'geo_packages_helm_metadata_cache_verification', true);
    const v1 = 'apiVersion: v1\nentries: {}\n';
    const id = await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'rewritten', v1);
    await runVerification(h.primaryGeo, helmMetadataCacheReplicator);
    expect(await helmRow(id)).toMatchObject({ verification_state: VerificationState.succeeded, verification_checksum: sha256Hex(v1) });

    // an update that leaves the blob alone changes nothing
    await h.primary.mainSql`update packages_helm_metadata_caches set updated_at = now() where id = ${id.toString()}`;
    expect((await helmRow(id)).verification_state).toBe(VerificationState.succeeded);

    // the rewrite: pending, no checksum, as if never verified
    const v2 = `apiVersion: v1\nentries:\n  widget: [${randomBytes(8).toString('hex')}]\n`;
    expect(await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'rewritten', v2)).toBe(id);
    expect(await helmRow(id)).toMatchObject({ verification_state: VerificationState.pending, verification_checksum: null, verified_at: null, verification_retry_count: 0 });

    // a verification of the old bytes in flight when the blob is rewritten again records nothing
    const [claimed] = await h.primary.mainSql.begin((tx) => helm.claim(tx, 1, new Date()));
    expect(claimed?.modelId).toBe(id);
    const v3 = `apiVersion: v1\nentries:\n  widget: [${randomBytes(8).toString('hex')}]\n`;
    await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'rewritten', v3);
    expect(await helm.succeeded(h.primary.mainSql, claimed!, sha256Hex(v2), new Date())).toBe(false);
    expect((await helmRow(id)).verification_state).toBe(VerificationState.pending);

    await runVerification(h.primaryGeo, helmMetadataCacheReplicator);
    expect(await helmRow(id)).toMatchObject({ verification_state: VerificationState.succeeded, verification_checksum: sha256Hex(v3) });
    const events = await h.primary.mainSql<{ payload: { checksum: string } }[]>`
      select payload from geo_events where event_name = 'checksum_succeeded' and replicable_name = 'packages_helm_metadata_cache'
        and (payload->>'model_record_id')::bigint = ${id.toString()} order by id`;
    expect(events.map((e) => e.payload.checksum)).toEqual([sha256Hex(v1), sha256Hex(v3)]);
  });

  it('backfills missing state rows', async () => {
    const id = await newFile();
    await h.primary.mainSql`delete from package_file_states where package_file_id = ${id.toString()}`;
    const result = await runVerification(h.primaryGeo, packageFileReplicator);
    expect(result.backfilled).toBe(1);
    expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
  });

  it('does nothing while geo_package_file_verification is off', async () => {
    await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_verification', false);
    try {
      const id = await newFile();
      expect((await runVerification(h.primaryGeo, packageFileReplicator)).enabled).toBe(false);
      expect((await row(id)).verification_state).toBe(VerificationState.pending);
    } finally {
      await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_verification', true);
    }
  });
});

describe('a site created before verification', () => {
  const NEW_STEPS: Record<'main' | 'geo_tracking', RegExp> = {
    main: /^geo\/(0002_retry_delay|[a-z_]+\/0002_verification_indexes)$/,
    geo_tracking: /^geo\/0002_unknown_events$/,
  };
  const older = (kind: 'main' | 'geo_tracking'): MigrationSet => {
    const set = siteMigrationSet(kind);
    return { ...set, migrations: set.migrations.filter((m) => !NEW_STEPS[kind].test(m.name)) };
  };

  it('migrates forward with its data intact', async () => {
    const main = await createTestDatabase('mgeoold');
    const tracking = await createTestDatabase('mgeooldt');
    const sql = createSql(main.url, { max: 2 });
    const tsql = createSql(tracking.url, { max: 1 });
    try {
      expect(older('main').migrations.length).toBe(siteMigrationSet('main').migrations.length - 3);
      await migrate(sql, older('main'));
      await migrate(tsql, older('geo_tracking'));
      const org = await createOrganization(sql, 'old');
      const pkg = await createPackage(sql, await createProject(sql, org, 'p'), 'p');
      await sql`insert into packages_package_files (package_id, file_name, file_path, size) values (${pkg.toString()}, 'a', 'a/b', 1)`;
      await sql`update package_file_states set verification_state = 2, verification_checksum = decode(${'cd'.repeat(32)}, 'hex'), verified_at = now()`;
      await tsql`update geo_event_cursor set last_event_id = 42`;

      const { applied } = await migrate(sql, siteMigrationSet('main'));
      expect(applied).toEqual(['geo/0002_retry_delay', 'geo/package_file/0002_verification_indexes', 'geo/packages_helm_metadata_cache/0002_verification_indexes']);
      expect((await migrate(tsql, siteMigrationSet('geo_tracking'))).applied).toEqual(['geo/0002_unknown_events']);

      const states = await sql`select verification_state, encode(verification_checksum, 'hex') as checksum from package_file_states`;
      expect(states).toEqual([{ verification_state: 2, checksum: 'cd'.repeat(32) }]);
      expect((await sql`select count(*)::int as n from geo_events where event_name = 'created'`)[0]?.n).toBe(1);
      expect(await tsql`select last_event_id::int, events_unknown::int from geo_event_cursor, geo_event_stats`).toEqual([{ last_event_id: 42, events_unknown: 0 }]);
      const [delay] = await sql<{ d: number }[]>`select geo_retry_delay_seconds(1, 3600) as d`;
      expect(delay!.d).toBeGreaterThanOrEqual(16);
      expect(delay!.d).toBeLessThanOrEqual(74);
    } finally {
      await sql.end();
      await tsql.end();
      await main.drop();
      await tracking.drop();
    }
  });
});
