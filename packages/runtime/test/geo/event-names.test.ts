import { GEO_EVENT_NAMES, isGeoEventName, processEventBatch, registryStore, cursorStatus } from '@meridian/geo';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { startGeoHarness, type GeoHarness } from './geo-harness';

describe('geo event names', () => {
  it('are one typed list that matches the outbox CHECK constraint', () => {
    expect([...GEO_EVENT_NAMES]).toEqual(['created', 'updated', 'deleted', 'checksum_succeeded']);
    expect(isGeoEventName('checksum_succeeded')).toBe(true);
    expect(isGeoEventName('checksum_failed')).toBe(false);
  });

  describe('on a secondary', () => {
    let h: GeoHarness;
    beforeAll(async () => {
      h = await startGeoHarness();
    });
    afterAll(async () => {
      await h.close();
    });

    it('the outbox refuses a name outside the list', async () => {
      await expect(
        h.primary.mainSql`insert into geo_events (replicable_name, event_name, payload) values ('package_file', 'renamed', '{}')`,
      ).rejects.toMatchObject({ code: '23514' });
    });

    it('an unknown name (from a newer primary) is counted as an error, and the events around it still apply', async () => {
      // a newer primary would have widened the CHECK; this database plays that primary
      await h.primary.mainSql`alter table geo_events drop constraint geo_events_event_name_check`;
      const org = await createOrganization(h.primary.mainSql, 'acme');
      const pkg = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, org, 'w'), 'w');
      await h.primary.mainSql`insert into geo_events (replicable_name, event_name, payload) values ('package_file', 'renamed', '{"model_record_id": 1}')`;
      const id = await createPackageFile(h.primary.mainSql, h.primary.storage, pkg, 'w-1.tgz', Buffer.from('w'));
      const batch = await processEventBatch(h.secondaryGeo);
      expect(batch.unknownEvents).toBe(1);
      expect(await registryStore(packageFileReplicator).get(h.secondary.trackingSql!, id)).toBeDefined();
      expect((await cursorStatus(h.secondaryGeo))?.unknownEvents).toBe(1n);
      // processed once: the cursor moved past it
      expect((await processEventBatch(h.secondaryGeo)).unknownEvents).toBe(0);
    });
  });
});
