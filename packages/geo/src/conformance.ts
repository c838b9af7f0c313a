// The one-line conformance test every replicator package runs (jest globals):
//   describeReplicatorConformance(myReplicator, { modelMigrations, insertRow, updateRow })
// It proves that the definition yields working tables, outbox triggers, registries, counters and
// selective-sync scope against a real PostgreSQL database.
import { composeMigrations, createSql, migrationTemplate, type Migration, type Sql } from '@meridian/db';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { registryStore } from './registry/registry-store';
import { derive, defineReplicator, type ReplicatorDefinition } from './replicator';
import { geoMainMigrations } from './schema/main-migrations';
import { geoTrackingMigrations } from './schema/tracking-migrations';
import { modelCounts } from './status';

export interface ConformanceOptions {
  /** migrations creating the model table (and what it references) */
  modelMigrations: readonly Migration[];
  /** inserts one model row (with its parents) and returns its id and organization id */
  insertRow(sql: Sql): Promise<{ id: bigint; organizationId?: bigint }>;
  /** for mutable replicators: changes the row's blob (path or checksum) */
  updateRow?(sql: Sql, id: bigint): Promise<void>;
}

export function describeReplicatorConformance(definition: ReplicatorDefinition, options: ConformanceOptions): void {
  describe(`replicator ${definition.name} conformance`, () => {
    let mainDb: TestDatabase;
    let trackingDb: TestDatabase;
    let main: Sql;
    let tracking: Sql;
    const d = derive(definition);

    beforeAll(async () => {
      // cloned from migrated templates: each replicator's conformance file migrates once per run
      mainDb = await createTestDatabase('mconf', { template: migrationTemplate(composeMigrations('main', options.modelMigrations, geoMainMigrations([definition]))) });
      trackingDb = await createTestDatabase('mconft', { template: migrationTemplate(composeMigrations('geo_tracking', geoTrackingMigrations([definition]))) });
      main = createSql(mainDb.url, { max: 2 });
      tracking = createSql(trackingDb.url, { max: 2 });
    });
    afterAll(async () => {
      await Promise.all([main.end(), tracking.end()]);
      await Promise.all([mainDb.drop(), trackingDb.drop()]);
    });

    it('is a valid definition with stable derived names', () => {
      expect(defineReplicator(definition)).toBe(definition);
      expect(d.registryTable).toBe(`${definition.name}_registry`);
      expect(d.syncQueue).toBe(`geo.sync.${definition.name}`);
      expect(d.replicationFlag).toBe(`geo_${definition.name}_replication`);
    });

    it('writes created and deleted events (with the blob path) in the same transaction as the row', async () => {
      const { id, organizationId } = await options.insertRow(main);
      const [created] = await main<{ event_name: string; payload: { model_record_id: number; blob_path: string } }[]>`
        select event_name, payload from geo_events where replicable_name = ${definition.name} order by id desc limit 1`;
      expect(created?.event_name).toBe('created');
      expect(BigInt(created!.payload.model_record_id)).toBe(id);
      expect(typeof created!.payload.blob_path).toBe('string');
      expect((await main`select 1 from ${main(d.statesTable)} where ${main(d.modelIdColumn)} = ${id.toString()}`).length).toBe(1);
      expect((await modelCounts(main)).get(definition.name)).toBeGreaterThanOrEqual(1);

      if (definition.organizationIdSql && organizationId !== undefined) {
        const [row] = await main<{ org: bigint }[]>`
          select ${main.unsafe(definition.organizationIdSql('m'))} as org from ${main(definition.table)} m where m.id = ${id.toString()}`;
        expect(row?.org).toBe(organizationId);
      }

      if (definition.mutable) {
        if (!options.updateRow) throw new Error('a mutable replicator needs updateRow in its conformance options');
        await options.updateRow(main, id);
        const [updated] = await main`select event_name from geo_events where replicable_name = ${definition.name} order by id desc limit 1`;
        expect(updated?.event_name).toBe('updated');
      }

      await main`delete from ${main(definition.table)} where id = ${id.toString()}`;
      const [deleted] = await main<{ event_name: string; payload: { model_record_id: number; blob_path: string } }[]>`
        select event_name, payload from geo_events where replicable_name = ${definition.name} order by id desc limit 1`;
      expect(deleted?.event_name).toBe('deleted');
      expect(BigInt(deleted!.payload.model_record_id)).toBe(id);
      expect(deleted!.payload.blob_path).toBe(created!.payload.blob_path);
    });

    it('has a registry with one row per model id and trigger-kept counts', async () => {
      const registry = registryStore(definition);
      expect(await registry.insertPending(tracking, [1n, 2n])).toHaveLength(2);
      expect(await registry.insertPending(tracking, [2n, 3n])).toEqual([3n]);
      const counts = await tracking<{ n: bigint }[]>`
        select sum(n)::bigint as n from geo_registry_counts where replicable_name = ${definition.name} and state = 0`;
      expect(counts[0]?.n).toBe(3n);
      await expect(tracking`insert into ${tracking(d.registryTable)} (${tracking(d.modelIdColumn)}) values (1)`).rejects.toThrow(/unique/i);
    });
  });
}
