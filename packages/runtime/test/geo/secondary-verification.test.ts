import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { createSql, migrate, setFlag } from '@meridian/db';
import {
  capacityOf,
  processEventBatch,
  RegistryState,
  registryVerificationStore,
  runSecondaryVerification,
  runVerification,
  secondaryVerificationJob,
  syncBlob,
  syncJob,
  verificationCapacityOf,
  verificationJob,
  verificationProcessors,
  VerificationState,
  type SecondaryVerificationRunOptions,
} from '@meridian/geo';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { createRedisConnection, startWorkerPool, type WorkerPool } from '@meridian/queue';
import { createTestDatabase, testRedisUrl, waitFor } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { siteFlags, siteMigrationSet, siteProcessors } from '../../src';
import { startGeoHarness, type GeoHarness } from './geo-harness';

const store = registryVerificationStore(packageFileReplicator);
const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('secondary verification', () => {
  let h: GeoHarness;
  let packageId: bigint;

  beforeAll(async () => {
    h = await startGeoHarness();
    const org = await createOrganization(h.primary.mainSql, 'acme');
    packageId = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, org, 'widgets'), 'widget');
  });
  afterAll(async () => {
    await h.close();
  });

  const row = async (id: bigint) => (await store.get(h.secondary.trackingSql!, id))!;
  const verifySecondary = (options: SecondaryVerificationRunOptions = {}) => runSecondaryVerification(h.secondaryGeo, packageFileReplicator, options);
  const at = (ms: number) => () => new Date(ms);
  const localPath = async (id: bigint) => path.join(h.secondaryRoot, await blobPath(id));
  const blobPath = async (id: bigint) =>
    (await h.primary.mainSql<{ file_path: string }[]>`select file_path from packages_package_files where id = ${id.toString()}`)[0]!.file_path;
  const sha256sum = (file: string) => execFileSync('sha256sum', [file]).toString().split(' ')[0]!;
  const flipByte = (file: string) => {
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
    writeFileSync(file, bytes);
  };

  /** a blob written on the primary, checksummed there (unless told), registered and synced here */
  const syncedFile = async (options: { primaryVerified?: boolean } = {}) => {
    const id = await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'w.tgz', randomBytes(200 * 1024 + 3));
    if (options.primaryVerified ?? true) await runVerification(h.primaryGeo, packageFileReplicator);
    await processEventBatch(h.secondaryGeo);
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    return id;
  };

  it('verifies a synced file against the primary checksum, which equals sha256sum of both copies', async () => {
    const id = await syncedFile();
    expect(await row(id)).toMatchObject({ state: RegistryState.synced, verification_state: VerificationState.pending });
    const result = await verifySecondary();
    expect(result).toMatchObject({ enabled: true, mismatched: 0, failed: 0 });
    expect(result.succeeded).toBeGreaterThanOrEqual(1);
    const expected = sha256sum(path.join(h.primaryRoot, await blobPath(id)));
    expect(sha256sum(await localPath(id))).toBe(expected);
    const r = await row(id);
    expect(r).toMatchObject({ verification_state: VerificationState.succeeded, verification_checksum: expected, checksum_mismatch: false, verification_failure: null });
    expect(r.verified_at).toBeInstanceOf(Date);
  });

  it('stays verification pending until the primary has a checksum; checksum_succeeded brings it back at once', async () => {
    const id = await syncedFile({ primaryVerified: false });
    const t0 = Date.now();
    const first = await verifySecondary({ now: at(t0) });
    expect(first.waitingForPrimary).toBeGreaterThanOrEqual(1);
    let r = await row(id);
    expect(r).toMatchObject({ verification_state: VerificationState.pending, verification_retry_count: 0, verification_failure: null });
    expect(r.verification_retry_at!.getTime()).toBe(t0 + h.secondaryGeo.settings.primaryChecksumWaitMs);
    // not looked at again before then
    await verifySecondary({ now: at(t0 + 60_000) });
    expect((await row(id)).verification_state).toBe(VerificationState.pending);
    // the primary checksums it; its checksum_succeeded event makes the row due now
    await runVerification(h.primaryGeo, packageFileReplicator);
    await processEventBatch(h.secondaryGeo);
    expect((await row(id)).verification_retry_at).toBeNull();
    await verifySecondary();
    r = await row(id);
    expect(r.verification_state).toBe(VerificationState.succeeded);
    expect(r.verification_checksum).toBe(sha256sum(await localPath(id)));
  });

  it('finds a byte flipped in a secondary file by reverification, records the mismatch, resyncs and verifies again', async () => {
    const id = await syncedFile();
    const t0 = Date.now();
    await verifySecondary({ now: at(t0) });
    const primaryChecksum = (await row(id)).verification_checksum!;
    const file = await localPath(id);
    flipByte(file);
    const corrupted = sha256sum(file);
    expect(corrupted).not.toBe(primaryChecksum);
    // before the interval the file is not read again
    const interval = h.secondaryGeo.settings.reverificationIntervalMs;
    expect(interval).toBe(7 * DAY);
    await verifySecondary({ now: at(t0 + interval - 60_000) });
    expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
    const now = t0 + interval + 60_000;
    const due = await verifySecondary({ now: at(now) });
    expect(due.reverified).toBeGreaterThanOrEqual(1);
    expect(due.mismatched).toBeGreaterThanOrEqual(1);
    const r = await row(id);
    expect(r).toMatchObject({
      state: RegistryState.failed,
      verification_state: VerificationState.failed,
      checksum_mismatch: true,
      verification_checksum: corrupted,
      verification_checksum_mismatched: primaryChecksum,
      verification_retry_count: 1,
      retry_count: 1,
    });
    expect(r.verification_failure).toContain('Checksum does not match the primary checksum');
    expect(r.last_sync_failure).toMatch(/^Verification failed with: Checksum does not match/);
    expect(r.retry_at!.getTime()).toBe(r.verification_retry_at!.getTime());
    const delay = (r.retry_at!.getTime() - now) / 1000;
    expect(delay).toBeGreaterThanOrEqual(16);
    expect(delay).toBeLessThanOrEqual(74);
    // the resync fetches the primary's bytes again, and the next run verifies them
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    expect(sha256sum(file)).toBe(primaryChecksum);
    await verifySecondary();
    expect(await row(id)).toMatchObject({
      state: RegistryState.synced,
      verification_state: VerificationState.succeeded,
      verification_checksum: primaryChecksum,
      checksum_mismatch: false,
      verification_checksum_mismatched: null,
      verification_retry_count: 0,
      verification_failure: null,
    });
  });

  it('finds a deleted secondary file by reverification, resyncs and verifies it again', async () => {
    const id = await syncedFile();
    const t0 = Date.now();
    await verifySecondary({ now: at(t0) });
    const file = await localPath(id);
    rmSync(file);
    const due = await verifySecondary({ now: at(t0 + 7 * DAY + 60_000) });
    expect(due.failed).toBeGreaterThanOrEqual(1);
    const r = await row(id);
    expect(r).toMatchObject({ state: RegistryState.failed, verification_state: VerificationState.failed, checksum_mismatch: false, verification_checksum: null, verification_retry_count: 1 });
    expect(r.verification_failure).toMatch(/^Error during verification: BlobMissingError/);
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    await verifySecondary();
    expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
    expect(sha256sum(file)).toBe(sha256sum(path.join(h.primaryRoot, await blobPath(id))));
  });

  it('treats a mismatch as transient when the primary checksum is newer than our sync: resync quietly, no failure counted', async () => {
    const id = await syncedFile();
    const lastSyncedAt = (await row(id)).last_synced_at!;
    // the primary re-checksummed the blob after our sync started (it was rewritten meanwhile)
    await h.primary.mainSql`
      update package_file_states set verification_checksum = decode(${'ab'.repeat(32)}, 'hex'), verified_at = ${new Date(lastSyncedAt.getTime() + 1_000)}
      where package_file_id = ${id.toString()}`;
    const result = await verifySecondary();
    expect(result.transient).toBeGreaterThanOrEqual(1);
    const r = await row(id);
    expect(r).toMatchObject({
      state: RegistryState.pending,
      retry_count: 0,
      last_sync_failure: null,
      verification_state: VerificationState.pending,
      verification_retry_count: 0,
      checksum_mismatch: false,
      verification_failure: null,
    });
    // the same mismatch with the primary checksum older than the sync is a failure
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    await h.primary.mainSql`update package_file_states set verified_at = ${new Date(Date.now() - HOUR)} where package_file_id = ${id.toString()}`;
    await verifySecondary();
    expect(await row(id)).toMatchObject({ state: RegistryState.failed, checksum_mismatch: true, verification_retry_count: 1, verification_checksum_mismatched: 'ab'.repeat(32) });
    // the primary's real checksum again (now, so later tests see it older than their syncs)
    await h.primary.mainSql`update package_file_states set verification_state = 0 where package_file_id = ${id.toString()}`;
    await runVerification(h.primaryGeo, packageFileReplicator);
  });

  it('counts a corrupted file as a mismatch even when the primary re-checksummed after our sync, once that checksum matched us', async () => {
    // synced before the primary's first checksum: its verified_at is newer than our last sync
    const id = await syncedFile({ primaryVerified: false });
    await runVerification(h.primaryGeo, packageFileReplicator);
    await processEventBatch(h.secondaryGeo);
    await verifySecondary();
    const r0 = await row(id);
    expect(r0.verification_state).toBe(VerificationState.succeeded);
    const [primary] = await h.primary.mainSql<{ verified_at: Date }[]>`select verified_at from package_file_states where package_file_id = ${id.toString()}`;
    expect(primary!.verified_at.getTime()).toBeGreaterThan(r0.last_synced_at!.getTime());
    flipByte(await localPath(id));
    await h.secondary.trackingSql!`update package_file_registry set verification_state = 0 where package_file_id = ${id.toString()}`;
    const result = await verifySecondary();
    expect(result.transient).toBe(0);
    expect(await row(id)).toMatchObject({ state: RegistryState.failed, checksum_mismatch: true, verification_retry_count: 1 });
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    await verifySecondary();
    expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
  });

  it('grows the verification backoff (and the resync backoff) with each mismatch; a resync does not reset it', async () => {
    const id = await syncedFile();
    await verifySecondary();
    const file = await localPath(id);
    for (let n = 1; n <= 4; n++) {
      flipByte(file);
      await h.secondary.trackingSql!`update package_file_registry set verification_state = 0 where package_file_id = ${id.toString()}`;
      const now = Date.now();
      await verifySecondary({ now: at(now) });
      const r = await row(id);
      expect(r).toMatchObject({ state: RegistryState.failed, verification_state: VerificationState.failed, verification_retry_count: n, retry_count: n });
      const delay = (r.verification_retry_at!.getTime() - now) / 1000;
      expect(delay).toBeGreaterThanOrEqual(n ** 4 + 15);
      expect(delay).toBeLessThanOrEqual(n ** 4 + 15 + 29 * (n + 1));
      expect(r.retry_at!.getTime()).toBe(r.verification_retry_at!.getTime());
      expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
      expect(await row(id)).toMatchObject({ retry_count: 0, verification_retry_count: n, verification_state: VerificationState.pending });
    }
    await verifySecondary();
    expect(await row(id)).toMatchObject({ verification_state: VerificationState.succeeded, verification_retry_count: 0 });
  });

  it('times out rows stuck in started and verifies them when due; a late report changes nothing', async () => {
    const id = await syncedFile();
    const t0 = Date.now();
    const claimed = await h.secondary.trackingSql!.begin((tx) => store.claim(tx, 1_000, new Date(t0)));
    const mine = claimed.find((c) => c.modelId === id)!;
    expect(mine).toBeDefined();
    // …and the worker never reports back
    const timeout = h.secondaryGeo.settings.verificationTimeoutMs;
    expect((await verifySecondary({ now: at(t0 + timeout - 60_000) })).timedOut).toBe(0);
    expect((await row(id)).verification_state).toBe(VerificationState.started);
    const later = t0 + timeout + 60_000;
    expect((await verifySecondary({ now: at(later) })).timedOut).toBeGreaterThanOrEqual(1);
    const r = await row(id);
    expect(r).toMatchObject({ state: RegistryState.synced, verification_state: VerificationState.failed, verification_retry_count: 1, verification_failure: 'Verification timed out after 28800 s' });
    expect(await store.succeededMany(h.secondary.trackingSql!, [{ row: mine, checksumHex: 'cd'.repeat(32) }], new Date())).toBe(0);
    // claimed again once its backoff is due
    await verifySecondary({ now: at(r.verification_retry_at!.getTime() + 1_000) });
    expect(await row(id)).toMatchObject({ verification_state: VerificationState.succeeded, verification_retry_count: 0 });
  });

  it('releases its claim when a batch throws, instead of leaving rows started until the timeout', async () => {
    const id = await syncedFile();
    // the primary's view answers flag reads but fails the batch's checksum query (after the claim)
    const real = h.secondaryGeo.mainSql;
    const view = new Proxy(real, {
      get: (target, property) => (property === 'unsafe' ? () => Promise.reject(new Error('primary view unreachable')) : Reflect.get(target, property)),
    });
    await expect(runSecondaryVerification({ ...h.secondaryGeo, mainSql: view }, packageFileReplicator)).rejects.toThrow('primary view unreachable');
    const [started] = await h.secondary.trackingSql!<{ n: number }[]>`select count(*)::int as n from package_file_registry where verification_state = 1`;
    expect(started!.n).toBe(0);
    expect(await row(id)).toMatchObject({ state: RegistryState.synced, verification_state: VerificationState.pending });
    await verifySecondary();
    expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
  });

  it('does no verification work while geo_package_file_verification is off (rows disabled), and resumes when it is on', async () => {
    const id = await syncedFile();
    const file = await localPath(id);
    await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_verification', false);
    try {
      flipByte(file);
      const off = await verifySecondary();
      expect(off).toMatchObject({ enabled: false, succeeded: 0, mismatched: 0, failed: 0 });
      expect(off.disabled).toBeGreaterThanOrEqual(1);
      expect(await row(id)).toMatchObject({ state: RegistryState.synced, verification_state: VerificationState.disabled, checksum_mismatch: false });
      // events do not wake it up either
      await h.primary.mainSql`
        insert into geo_events (replicable_name, event_name, payload)
        values ('package_file', 'checksum_succeeded', ${h.primary.mainSql.json({ model_record_id: Number(id), checksum: 'ef'.repeat(32) })})`;
      await processEventBatch(h.secondaryGeo);
      expect((await row(id)).verification_state).toBe(VerificationState.disabled);
    } finally {
      await setFlag(h.primary.mainSql, siteFlags(), 'geo_package_file_verification', true);
    }
    const on = await verifySecondary();
    expect(on.enabledAgain).toBeGreaterThanOrEqual(1);
    expect(await row(id)).toMatchObject({ state: RegistryState.failed, checksum_mismatch: true });
    expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    await verifySecondary();
    expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
  });

  it('concurrent runs never verify the same row twice', async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 12; i++) ids.push(await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'c.tgz', randomBytes(4096)));
    await runVerification(h.primaryGeo, packageFileReplicator);
    await processEventBatch(h.secondaryGeo);
    for (const id of ids) expect(await syncBlob(h.secondaryGeo, packageFileReplicator, id)).toBe('synced');
    const small = { ...h.secondaryGeo, settings: { ...h.secondaryGeo.settings, verificationBatchSize: 2 } };
    const results = await Promise.all([0, 1, 2].map(() => runSecondaryVerification(small, packageFileReplicator)));
    expect(results.reduce((n, r) => n + r.succeeded, 0)).toBeGreaterThanOrEqual(12);
    for (const id of ids) expect((await row(id)).verification_state).toBe(VerificationState.succeeded);
    const [dupes] = await h.secondary.trackingSql!<{ n: number }[]>`select count(*)::int as n from package_file_registry where verification_state = 1`;
    expect(dupes!.n).toBe(0);
  });
});

describe('secondary verification jobs on real workers', () => {
  let h: GeoHarness;
  let pool: WorkerPool | undefined;
  let workerRedis: Redis | undefined;

  beforeAll(async () => {
    h = await startGeoHarness();
  });
  afterAll(async () => {
    await pool?.close(5_000);
    workerRedis?.disconnect();
    await h.close();
  });

  it('verifies every synced blob through its own queue, whose global limit is the verification capacity, apart from sync', async () => {
    const org = await createOrganization(h.primary.mainSql, 'jobs');
    const pkg = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, org, 'jobs'), 'jobs');
    const ids: bigint[] = [];
    for (let i = 0; i < 25; i++) ids.push(await createPackageFile(h.primary.mainSql, h.primary.storage, pkg, 'j.bin', randomBytes(8 * 1024 + i)));
    await runVerification(h.primaryGeo, packageFileReplicator);
    workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
    pool = await startWorkerPool({
      registrations: siteProcessors(h.secondary).filter((r) => /^geo\.(sync|secondary_verification)\./.test(r.definition.queue)),
      connection: workerRedis,
      queues: h.secondary.queues,
      logger: h.secondary.logger,
    });
    const verification = h.secondary.queues.get(secondaryVerificationJob(packageFileReplicator));
    const sync = h.secondary.queues.get(syncJob(packageFileReplicator));
    expect(verification.name).not.toBe(sync.name);
    expect(await verification.getGlobalConcurrency()).toBe(verificationCapacityOf(h.secondaryGeo, packageFileReplicator));
    expect(await verification.getGlobalConcurrency()).toBe(2);
    expect(await sync.getGlobalConcurrency()).toBe(10);
    // the cursor enqueues the syncs; each finished sync asks for a verification job
    await processEventBatch(h.secondaryGeo);
    await waitFor(
      async () => {
        const [row] = await h.secondary.trackingSql!<{ n: number }[]>`
          select count(*)::int as n from package_file_registry where state = 2 and verification_state = 2 and package_file_id = any(${ids.map(String)}::bigint[])`;
        return row!.n === ids.length;
      },
      { timeoutMs: 60_000, message: 'every blob synced and verified by the workers' },
    );
    for (const id of ids) {
      const r = (await store.get(h.secondary.trackingSql!, id))!;
      const [primary] = await h.primary.mainSql<{ c: string }[]>`select encode(verification_checksum, 'hex') as c from package_file_states where package_file_id = ${id.toString()}`;
      expect(r.verification_checksum).toBe(primary!.c);
    }
  });

  it('on the primary too: a run with a backlog fills its type’s verification slots, up to the capacity', async () => {
    const org = await createOrganization(h.primary.mainSql, 'backlog');
    const pkg = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, org, 'backlog'), 'backlog');
    for (let i = 0; i < 6; i++) await createPackageFile(h.primary.mainSql, h.primary.storage, pkg, 'b.bin', randomBytes(1024));
    const job = verificationJob(packageFileReplicator);
    expect(job.globalConcurrency).toBe(2);
    const small = { ...h.primaryGeo, settings: { ...h.primaryGeo.settings, verificationBatchSize: 2 } };
    const registration = verificationProcessors(small).find((r) => r.definition.queue === job.queue)!;
    const queue = h.primary.queues.get(job);
    expect((await queue.getJobCounts('waiting')).waiting ?? 0).toBe(0);
    await registration.process({}, { job: {} as never, logger: h.primary.logger, signal: new AbortController().signal });
    expect((await queue.getJobCounts('waiting')).waiting).toBe(2);
    // nothing left: a run that comes back short asks for nothing
    await queue.drain();
    await registration.process({}, { job: {} as never, logger: h.primary.logger, signal: new AbortController().signal });
    expect((await queue.getJobCounts('waiting')).waiting ?? 0).toBe(0);
  });

  it('takes its capacity from QUEUE_GLOBAL_CONCURRENCY like sync does', () => {
    const overridden = { ...h.secondaryGeo, capacityOverrides: { 'geo.secondary_verification.package_file': 7, 'geo.sync.package_file': 3 } };
    expect(verificationCapacityOf(overridden, packageFileReplicator)).toBe(7);
    expect(capacityOf(overridden, packageFileReplicator)).toBe(3);
    const primary = { ...h.primaryGeo, capacityOverrides: { 'geo.verification.package_file': 5, 'geo.secondary_verification.package_file': 7 } };
    expect(verificationCapacityOf(primary, packageFileReplicator)).toBe(5);
  });
});

describe('a site from before secondary verification', () => {
  const NEW = /^geo\/[a-z_]+\/0003_verification_indexes$/;

  it('migrates its tracking database to the new steps with its registries intact, and verifies them', async () => {
    const tracking = await createTestDatabase('mgeosv');
    const sql = createSql(tracking.url, { max: 1 });
    try {
      const full = siteMigrationSet('geo_tracking');
      await migrate(sql, { ...full, migrations: full.migrations.filter((m) => !NEW.test(m.name)) });
      await sql`insert into package_file_registry (package_file_id, state, last_synced_at, blob_path) values (1, 2, now(), 'a/1'), (2, 0, null, null), (3, 3, now(), 'a/3')`;
      await sql`update package_file_registry set verification_state = 2, verification_checksum = decode(${'cd'.repeat(32)}, 'hex'), verified_at = now() where package_file_id = 3`;
      const before = await sql`select * from package_file_registry order by id`;
      const { applied } = await migrate(sql, full);
      expect(applied).toEqual(['geo/package_file/0003_verification_indexes', 'geo/packages_helm_metadata_cache/0003_verification_indexes']);
      expect(await sql`select * from package_file_registry order by id`).toEqual(before);
      const indexes = await sql<{ indexname: string }[]>`select indexname from pg_indexes where tablename = 'package_file_registry' and indexname like '%verif%' order by 1`;
      expect(indexes.map((i) => i.indexname)).toEqual([
        'package_file_registry_verification_disabled',
        'package_file_registry_verification_failed',
        'package_file_registry_verification_failures', // the status step's (geo/<type>/0003_status_counters), there before
        'package_file_registry_verification_pending',
        'package_file_registry_verification_started',
        'package_file_registry_verified',
      ]);
      // the synced registry from before is verification pending: the first claim takes it
      const claimed = await sql.begin((tx) => store.claim(tx, 10, new Date()));
      expect(claimed.map((c) => c.modelId)).toEqual([1n]);
    } finally {
      await sql.end();
      await tracking.drop();
    }
  });
});
