import { randomBytes } from 'node:crypto';
import { cellClaimables, createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { emptyCounts, verificationFlags } from '@meridian/claims';
import { setFlag } from '@meridian/db';
import { processEventBatch, RegistryState, runRegistrySync, runSecondaryVerification, runVerification } from '@meridian/geo';
import { readinessReport, runDoubleCheck, setMaintenance } from '@meridian/org-move';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { claimsModelStates } from '../../src';
import { startGeoHarness, type GeoHarness } from '../geo/geo-harness';

// The readiness report turns READY only when maintenance mode is on, every registry of the
// organization is synced and verified, the last double check ran after maintenance began with no
// open finding, and claims verification of every model passed without conflicts.

describe('org readiness report', () => {
  let h: GeoHarness;
  let org: bigint;
  let other: bigint;
  let fileIds: bigint[];

  beforeAll(async () => {
    h = await startGeoHarness();
    await h.startSyncWorkers();
    const main = h.primary.mainSql;
    org = await createOrganization(main, 'movers');
    other = await createOrganization(main, 'stayers');
    fileIds = [];
    for (const [o, n] of [[org, 4], [other, 2]] as const) {
      const project = await createProject(main, o, `p${o}`);
      const pkg = await createPackage(main, project, `pkg${o}`);
      for (let i = 0; i < n; i++) {
        const id = await createPackageFile(main, h.primary.storage, pkg, `f${o}-${i}.tgz`, randomBytes(256));
        if (o === org) fileIds.push(id);
      }
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  const report = async () =>
    readinessReport({
      main: h.secondary.mainSql,
      tracking: h.secondary.trackingSql!,
      replicators: h.secondaryGeo.replicators,
      organizationId: org,
      claims: await claimsModelStates(h.secondary.mainSql),
    });

  // the real verification: the primary checksums its files, the target compares its copies
  const verifyAll = async () => {
    await runVerification(h.primaryGeo, packageFileReplicator);
    await runSecondaryVerification(h.secondaryGeo, packageFileReplicator);
  };

  const recordClaimsPasses = async (conflicts: number) => {
    const counts = { ...emptyCounts(), conflicts };
    for (const model of cellClaimables) {
      await h.primary.mainSql`
        insert into cells_claims_verification_passes (model, trigger, started_at, finished_at, rows, counts)
        values (${model.name}, 'test', now() - interval '1 minute', now(), 10, ${h.primary.mainSql.json(counts as never)})`;
    }
  };

  it('names every reason before anything is in place', async () => {
    const r = await report();
    expect(r.ready).toBe(false);
    const text = r.reasons.join('\n');
    expect(text).toContain('not in maintenance mode');
    expect(text).toContain('package_file: 4 of 4 rows have no registry');
    expect(text).toContain('package_file: no double check has run');
    expect(text).toContain('claims verification of users is disabled');
    expect(r.types.find((t) => t.type === 'package_file')).toMatchObject({ rows: 4, unregistered: 4 });
  });

  it('turns READY only when everything holds, and a claims conflict or an open double-check finding blocks it', async () => {
    // events delivered, except one create that was "dropped"
    while ((await processEventBatch(h.secondaryGeo)).events > 0);
    await h.secondary.trackingSql!`delete from package_file_registry where package_file_id = ${fileIds[2]!.toString()}`;
    await runRegistrySync(h.secondaryGeo);
    for (const id of fileIds.filter((_, i) => i !== 2)) await h.waitForState(packageFileReplicator, id, RegistryState.synced, 60_000);
    await setMaintenance(h.primary.mainSql, org, true, 'test');
    const flags = verificationFlags(cellClaimables);
    for (const flag of flags) await setFlag(h.primary.mainSql, flags, flag.name, true);
    await recordClaimsPasses(0);
    await verifyAll();

    let r = await report();
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(expect.arrayContaining([expect.stringContaining('1 of 4 rows have no registry')]));

    // the double check finds the dropped row and registers it: an open finding until synced and verified
    const checks = await runDoubleCheck({ main: h.secondary.mainSql, tracking: h.secondary.trackingSql!, replicators: h.secondaryGeo.replicators, sinceHours: 1, organizationId: org, dryRun: false });
    expect(checks.find((c) => c.type === 'package_file')!.missingIds).toEqual([fileIds[2]]);
    r = await report();
    expect(r.ready).toBe(false);
    expect(r.reasons.join('\n')).toContain('1 registries created by the last double check are not synced and verified yet');

    await runRegistrySync(h.secondaryGeo);
    await h.waitForState(packageFileReplicator, fileIds[2]!, RegistryState.synced, 60_000);
    r = await report();
    expect(r.reasons.join('\n')).toContain('1 synced registries not verified');
    await verifyAll();
    r = await report();
    expect(r.reasons).toEqual([]);
    expect(r.ready).toBe(true);
    expect(r.types.find((t) => t.type === 'package_file')).toMatchObject({ rows: 4, synced: 4, verified: 4, doubleCheck: { missing: 1, open: 0 } });

    await recordClaimsPasses(2);
    r = await report();
    expect(r.ready).toBe(false);
    expect(r.reasons.join('\n')).toContain('2 conflicts in its last pass need an operator');
    await recordClaimsPasses(0);
    expect((await report()).ready).toBe(true);

    // maintenance restarted after the check: the check no longer counts
    await setMaintenance(h.primary.mainSql, org, false, 'test');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await setMaintenance(h.primary.mainSql, org, true, 'test');
    r = await report();
    expect(r.reasons.join('\n')).toContain('the last double check ran before maintenance mode began');
  });

  it('a dry-run finding keeps it NOT READY', async () => {
    await h.secondary.trackingSql!`delete from package_file_registry where package_file_id = ${fileIds[0]!.toString()}`;
    await runDoubleCheck({ main: h.secondary.mainSql, tracking: h.secondary.trackingSql!, replicators: [packageFileReplicator], sinceHours: 1, organizationId: org, dryRun: true });
    const r = await report();
    expect(r.ready).toBe(false);
    expect(r.reasons.join('\n')).toContain('a dry run that found 1 missing registries');
  });
});
