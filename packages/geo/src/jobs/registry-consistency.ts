import type { Sql } from '@meridian/db';
import { replicationEnabled } from '../replication-enabled';
import type { SecondaryGeoContext } from '../geo-context';
import { modelStore } from '../registry/model-store';
import { registryStore } from '../registry/registry-store';
import type { ReplicatorDefinition } from '../replicator';
import { selectiveSyncOrganizations } from '../selective-sync';
import { processPendingDeletions } from './pending-deletions';

export interface ConsistencyBatchResult {
  created: number;
  removed: number;
  /** a full pass over the type's id space ended with this batch */
  lapCompleted: boolean;
  /** the walk is mid-lap (more batches to go) */
  inLap: boolean;
}

const difference = (a: readonly bigint[], b: ReadonlySet<bigint>) => a.filter((x) => !b.has(x));

/**
 * One keyed range batch of the consistency walk for one type (upstream's RegistryBatcher): the
 * range ends at the model's last id of the batch, or at the registry's when the model side is
 * exhausted (so orphans above the last model id are visited too). Registries missing in the
 * range are created pending; registries whose model is gone or out of scope are removed with
 * their blobs. When both sides are exhausted the lap is recorded and the walk starts over.
 */
export async function runConsistencyBatch(context: SecondaryGeoContext, definition: ReplicatorDefinition): Promise<ConsistencyBatchResult> {
  const tracking = context.trackingSql;
  const size = context.settings.consistencyBatchSize;
  const models = modelStore(definition);
  const registry = registryStore(definition);
  const { registryTable: table, modelIdColumn: fk } = registry.names;
  return tracking.begin(async (tx) => {
    await tx`insert into geo_consistency_state (replicable_name) values (${definition.name}) on conflict do nothing`;
    const [state] = await tx<{ next_id: bigint; lap_started_at: Date; lap_created: bigint; lap_removed: bigint }[]>`
      select next_id, lap_started_at, lap_created, lap_removed from geo_consistency_state
      where replicable_name = ${definition.name} for update`;
    const from = state!.next_id > 0n ? state!.next_id : 1n;
    const organizations = await selectiveSyncOrganizations(tx);
    const source = await models.idsFrom(context.mainSql, from, size);
    const destination = (
      await tx<{ id: bigint }[]>`select ${tx(fk)} as id from ${tx(table)} where ${tx(fk)} >= ${from.toString()} order by ${tx(fk)} limit ${size}`
    ).map((r) => r.id);
    const sourceMore = source.length === size;
    const destinationMore = destination.length === size;

    let created = 0;
    let removed = 0;
    if (source.length > 0 || destination.length > 0) {
      const last = (!sourceMore && destinationMore) || source.length === 0 ? destination.at(-1)! : source.at(-1)!;
      const to = destination.length > 0 && !sourceMore && destination.at(-1)! > last ? destination.at(-1)! : last;
      const wanted =
        organizations.length === 0 || !definition.organizationIdSql
          ? source.filter((id) => id <= to)
          : await models.scopedIdsBetween(context.mainSql, from, to, organizations);
      const tracked = (
        await tx<{ id: bigint }[]>`select ${tx(fk)} as id from ${tx(table)} where ${tx(fk)} between ${from.toString()} and ${to.toString()}`
      ).map((r) => r.id);
      created = await registry.insertPendingCount(tx, difference(wanted, new Set(tracked)));
      removed = await registry.remove(tx, difference(tracked, new Set(wanted)));
      if (sourceMore || destinationMore) {
        await tx`
          update geo_consistency_state set next_id = ${(to + 1n).toString()},
            lap_created = lap_created + ${created}, lap_removed = lap_removed + ${removed}
          where replicable_name = ${definition.name}`;
        return { created, removed, lapCompleted: false, inLap: true };
      }
    }
    await tx`
      insert into geo_consistency_laps (replicable_name, started_at, finished_at, registries_created, registries_removed)
      values (${definition.name}, ${state!.lap_started_at}, now(), ${(state!.lap_created + BigInt(created)).toString()}, ${(state!.lap_removed + BigInt(removed)).toString()})`;
    await tx`
      update geo_consistency_state set next_id = 0, lap_started_at = now(), lap_created = 0, lap_removed = 0
      where replicable_name = ${definition.name}`;
    return { created, removed, lapCompleted: true, inLap: false };
  });
}

/**
 * The scheduled job: one batch per enabled type per round, repeated at once while any batch found
 * work or a lap is unfinished, until the run budget is spent.
 */
export async function runRegistryConsistency(context: SecondaryGeoContext): Promise<{ created: number; removed: number; laps: number }> {
  const deadline = Date.now() + context.settings.runBudgetMs;
  const totals = { created: 0, removed: 0, laps: 0 };
  for (;;) {
    let again = false;
    for (const definition of context.replicators) {
      if (!(await replicationEnabled(context, definition))) continue;
      const result = await runConsistencyBatch(context, definition);
      totals.created += result.created;
      totals.removed += result.removed;
      totals.laps += result.lapCompleted ? 1 : 0;
      again ||= result.created + result.removed > 0 || result.inLap;
    }
    if (totals.removed > 0) await processPendingDeletions(context);
    if (!again || Date.now() > deadline) break;
  }
  // laps of idle types complete every run; keep a week of history
  await context.trackingSql`delete from geo_consistency_laps where finished_at < now() - interval '7 days'`;
  return totals;
}

export interface LapInfo {
  replicableName: string;
  startedAt: Date;
  finishedAt: Date;
  registriesCreated: bigint;
  registriesRemoved: bigint;
}

/** The last completed lap per type: an org move's double check defaults its window to it. */
export async function lastCompletedLaps(tracking: Sql): Promise<Map<string, LapInfo>> {
  const rows = await tracking<{ replicable_name: string; started_at: Date; finished_at: Date; registries_created: bigint; registries_removed: bigint }[]>`
    select distinct on (replicable_name) replicable_name, started_at, finished_at, registries_created, registries_removed
    from geo_consistency_laps order by replicable_name, finished_at desc`;
  return new Map(
    rows.map((r) => [
      r.replicable_name,
      { replicableName: r.replicable_name, startedAt: r.started_at, finishedAt: r.finished_at, registriesCreated: r.registries_created, registriesRemoved: r.registries_removed },
    ]),
  );
}
