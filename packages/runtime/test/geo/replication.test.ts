import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject, upsertHelmMetadataCache } from '@meridian/cell-models';
import { setFlag } from '@meridian/db';
import {
  cursorPosition,
  processEventBatch,
  registryStore,
  RegistryState,
  registryVerificationStore,
  runEventPrune,
  runRegistryConsistency,
  runRegistrySync,
  runSecondaryVerification,
  runStatusReport,
  runVerification,
  typeStatuses,
} from '@meridian/geo';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { helmMetadataCacheReplicator } from '@meridian/replicator-helm-metadata-caches';
import { siteFlags } from '../../src';
import { startGeoHarness, type GeoHarness } from './geo-harness';

const sha = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

describe('geo replication, primary → secondary', () => {
  let h: GeoHarness;
  let projectId: bigint;
  let packageId: bigint;

  beforeAll(async () => {
    h = await startGeoHarness();
    await h.startSyncWorkers();
    const org = await createOrganization(h.primary.mainSql, 'acme');
    projectId = await createProject(h.primary.mainSql, org, 'widgets');
    packageId = await createPackage(h.primary.mainSql, projectId, 'widget');
  });
  afterAll(async () => {
    await h.close();
  });

  const secondaryBytes = async (table: string, id: bigint) => {
    const [row] = await h.primary.mainSql<{ file_path: string }[]>`select file_path from ${h.primary.mainSql(table)} where id = ${id.toString()}`;
    return readFileSync(path.join(h.secondaryRoot, row!.file_path));
  };

  it('create → event → synced with identical bytes', async () => {
    const content = randomBytes(256 * 1024);
    const id = await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'widget-1.0.0.tgz', content);
    const [event] = await h.primary.mainSql`select event_name, payload from geo_events where replicable_name = 'package_file' order by id desc limit 1`;
    expect(event).toMatchObject({ event_name: 'created', payload: { model_record_id: Number(id) } });
    const batch = await processEventBatch(h.secondaryGeo);
    expect(batch.events).toBeGreaterThanOrEqual(1);
    await h.waitForState(packageFileReplicator, id, RegistryState.synced);
    expect(sha(await secondaryBytes('packages_package_files', id))).toBe(sha(content));
    const registry = await registryStore(packageFileReplicator).get(h.secondary.trackingSql!, id);
    expect(registry).toMatchObject({ retry_count: 0, last_sync_failure: null });
    const [status] = (await typeStatuses(h.secondaryGeo.replicators, h.secondary.mainSql, h.secondary.trackingSql)).filter((s) => s.name === 'package_file');
    expect(status).toMatchObject({ count: 1, registryCount: 1, synced: 1, syncedInPercentage: 100 });
  });

  it('an update of a mutable blob is synced again', async () => {
    const id = await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'stable', 'apiVersion: v1\nentries: {}\n');
    await processEventBatch(h.secondaryGeo);
    await h.waitForState(helmMetadataCacheReplicator, id, RegistryState.synced);
    const v2 = `apiVersion: v1\nentries:\n  widget: [${randomBytes(8).toString('hex')}]\n`;
    expect(await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'stable', v2)).toBe(id);
    const [event] = await h.primary.mainSql`select event_name from geo_events where replicable_name = 'packages_helm_metadata_cache' order by id desc limit 1`;
    expect(event?.event_name).toBe('updated');
    await processEventBatch(h.secondaryGeo);
    await h.waitForState(helmMetadataCacheReplicator, id, RegistryState.synced);
    expect((await secondaryBytes('packages_helm_metadata_caches', id)).toString()).toBe(v2);
  });

  it('a rewritten mutable blob is verified on both sites against its new checksum, with no mismatch counted', async () => {
    const helm = helmMetadataCacheReplicator;
    const verification = registryVerificationStore(helm);
    await setFlag(h.primary.mainSql, siteFlags(), 'geo_packages_helm_metadata_cache_verification', true);
    const v1 = 'apiVersion: v1\nentries: {}\n';
    const id = await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'verified', v1);
    await processEventBatch(h.secondaryGeo);
    await h.waitForState(helm, id, RegistryState.synced);
    await runVerification(h.primaryGeo, helm);
    await runSecondaryVerification(h.secondaryGeo, helm);
    expect(await verification.get(h.secondary.trackingSql!, id)).toMatchObject({ verification_state: 2, verification_checksum: sha(v1) });

    const v2 = `apiVersion: v1\nentries:\n  widget: [${randomBytes(8).toString('hex')}]\n`;
    await upsertHelmMetadataCache(h.primary.mainSql, h.primary.storage, projectId, 'verified', v2);
    await processEventBatch(h.secondaryGeo);
    await h.waitForState(helm, id, RegistryState.synced);
    expect((await secondaryBytes('packages_helm_metadata_caches', id)).toString()).toBe(v2);
    // the secondary gets there before the primary has checksummed the new bytes: it waits for
    // that checksum instead of comparing the new file with the old one's
    expect((await runSecondaryVerification(h.secondaryGeo, helm)).mismatched).toBe(0);
    await runVerification(h.primaryGeo, helm);
    await processEventBatch(h.secondaryGeo); // checksum_succeeded: due again at once
    const result = await runSecondaryVerification(h.secondaryGeo, helm);
    expect({ mismatched: result.mismatched, transient: result.transient, succeeded: result.succeeded }).toEqual({ mismatched: 0, transient: 0, succeeded: 1 });
    expect(await verification.get(h.secondary.trackingSql!, id)).toMatchObject({
      verification_state: 2,
      verification_checksum: sha(v2),
      checksum_mismatch: false,
      verification_retry_count: 0,
    });
  });

  it('delete → blob and registry gone on the secondary (bulk delete: one event per row)', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, `doomed-${i}.tgz`, randomBytes(1024)));
    await processEventBatch(h.secondaryGeo);
    for (const id of ids) await h.waitForState(packageFileReplicator, id, RegistryState.synced);
    const paths = await h.primary.mainSql<{ file_path: string }[]>`select file_path from packages_package_files where id = any(${ids.map(String)}::bigint[])`;
    for (const p of paths) expect(existsSync(path.join(h.secondaryRoot, p.file_path))).toBe(true);

    const deleted = await h.primary.mainSql`delete from packages_package_files where id = any(${ids.map(String)}::bigint[])`;
    expect(deleted.count).toBe(3);
    const events = await h.primary.mainSql`select payload from geo_events where event_name = 'deleted' and replicable_name = 'package_file'`;
    expect(events.map((e) => BigInt(e.payload.model_record_id)).sort()).toEqual([...ids].sort());
    await processEventBatch(h.secondaryGeo);
    for (const id of ids) expect(await registryStore(packageFileReplicator).get(h.secondary.trackingSql!, id)).toBeUndefined();
    for (const p of paths) expect(existsSync(path.join(h.secondaryRoot, p.file_path))).toBe(false);
  });

  it('consistency backfills registries whose events never arrived and removes orphans', async () => {
    // rows written while the outbox trigger was bypassed, as if their events were lost
    await h.primary.mainSql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`insert into packages_package_files (package_id, file_name, file_path, size) select ${packageId.toString()}, 'lost-' || g, 'packages/lost/' || g, 0 from generate_series(1, 25) g`;
    });
    const lost = await h.primary.mainSql<{ id: bigint }[]>`select id from packages_package_files where file_name like 'lost-%' order by id`;
    const registry = registryStore(packageFileReplicator);
    expect(await registry.get(h.secondary.trackingSql!, lost[0]!.id)).toBeUndefined();
    // an orphan: a registry whose model never existed on the primary
    await registry.insertPending(h.secondary.trackingSql!, [999_999n]);

    const result = await runRegistryConsistency(h.secondaryGeo);
    expect(result.created).toBeGreaterThanOrEqual(25);
    expect(result.removed).toBeGreaterThanOrEqual(1);
    for (const { id } of lost) expect(await registry.get(h.secondary.trackingSql!, id)).toBeDefined();
    expect(await registry.get(h.secondary.trackingSql!, 999_999n)).toBeUndefined();
    const laps = await h.secondary.trackingSql!`select replicable_name, finished_at >= started_at as ok from geo_consistency_laps`;
    expect(laps.filter((l) => l.replicable_name === 'package_file').length).toBeGreaterThanOrEqual(1);
    // the backfilled registries are picked up by the registry sync like any pending one
    await runRegistrySync(h.secondaryGeo);
    await h.waitForState(packageFileReplicator, lost[0]!.id, RegistryState.failed); // their files were never written
  });

  it('prunes only events every secondary has processed, after it reported', async () => {
    expect(await runEventPrune(h.primaryGeo)).toMatchObject({ deleted: 0, reason: 'no secondary has reported yet' });
    await processEventBatch(h.secondaryGeo);
    const position = await cursorPosition(h.secondaryGeo);
    expect(await runStatusReport(h.secondaryGeo)).toEqual({ cursorEventId: position.toString() });
    const [site] = await h.primary.mainSql`select site_name, cursor_event_id from geo_secondary_sites`;
    expect(site).toMatchObject({ site_name: 'secondary', cursor_event_id: position });
    // a new event after the report must survive the prune
    await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'after-report.tgz', randomBytes(10));
    const pruned = await runEventPrune(h.primaryGeo);
    expect(pruned.deleted).toBeGreaterThan(0);
    const left = await h.primary.mainSql<{ id: bigint }[]>`select id from geo_events order by id`;
    expect(left.every((e) => e.id > position)).toBe(true);
    expect(left.length).toBeGreaterThanOrEqual(1);
    // a stale secondary blocks pruning
    await h.primary.mainSql`update geo_secondary_sites set reported_at = now() - interval '1 hour'`;
    expect((await runEventPrune(h.primaryGeo)).reason).toMatch(/stale secondaries: secondary/);
  });

  it('rejects status reports without a valid token', async () => {
    const response = await fetch(`${h.primaryUrl}/api/v1/geo/sites/secondary/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: JSON.stringify({ cursorEventId: '999999999' }),
    });
    expect(response.status).toBe(401);
  });
});
