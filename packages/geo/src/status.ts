import type { Sql } from '@meridian/db';
import type { GeoContext } from './geo-context';
import { RegistryState } from './registry/registry-store';
import type { ReplicatorDefinition } from './replicator';

/** Per-type figures with the upstream status field names (`<plural>_synced_count`, …). */
export interface TypeStatus {
  name: string;
  plural: string;
  title: string;
  /** model rows on the primary */
  count: number;
  registryCount: number;
  pending: number;
  started: number;
  synced: number;
  failed: number;
  /** synced / registry count × 100 (0 when there is no registry) */
  syncedInPercentage: number;
}

export interface CursorStatus {
  lastEventId: bigint;
  /** newest event on the primary */
  primaryMaxEventId: bigint;
  openGaps: number;
  gapsDetected: bigint;
  gapsRecovered: bigint;
  gapsDropped: bigint;
  /** events with a name this code does not know (logged as errors) */
  unknownEvents: bigint;
}

// Counts come from trigger-maintained counter tables: cheap at any table size, never COUNT(*).
async function registryCounts(tracking: Sql): Promise<Map<string, Map<number, number>>> {
  const rows = await tracking<{ replicable_name: string; state: number; n: bigint }[]>`
    select replicable_name, state, sum(n)::bigint as n from geo_registry_counts group by 1, 2`;
  const out = new Map<string, Map<number, number>>();
  for (const row of rows) {
    const states = out.get(row.replicable_name) ?? new Map<number, number>();
    states.set(row.state, Number(row.n));
    out.set(row.replicable_name, states);
  }
  return out;
}

export async function modelCounts(main: Sql): Promise<Map<string, number>> {
  const rows = await main<{ replicable_name: string; n: bigint }[]>`
    select replicable_name, sum(n)::bigint as n from geo_replicable_counts group by 1`;
  return new Map(rows.map((r) => [r.replicable_name, Number(r.n)]));
}

export async function typeStatuses(
  replicators: readonly ReplicatorDefinition[],
  main: Sql,
  tracking: Sql | undefined,
): Promise<TypeStatus[]> {
  const [models, registries] = await Promise.all([modelCounts(main), tracking ? registryCounts(tracking) : Promise.resolve(new Map<string, Map<number, number>>())]);
  return replicators.map((r) => {
    const states = registries.get(r.name) ?? new Map<number, number>();
    const of = (state: number) => states.get(state) ?? 0;
    const registryCount = [...states.values()].reduce((a, b) => a + b, 0);
    const synced = of(RegistryState.synced);
    return {
      name: r.name,
      plural: r.plural,
      title: r.titles.plural,
      count: models.get(r.name) ?? 0,
      registryCount,
      pending: of(RegistryState.pending),
      started: of(RegistryState.started),
      synced,
      failed: of(RegistryState.failed),
      syncedInPercentage: registryCount === 0 ? 0 : Math.floor((synced / registryCount) * 10_000) / 100,
    };
  });
}

/**
 * The newest event id the primary ever issued: the outbox's sequence, so pruning (which empties
 * the table) does not turn it into 0. Falls back to max(id) where the sequence is not readable
 * (a read-only role without SELECT on it).
 */
export async function newestEventId(main: Sql): Promise<bigint> {
  const [max] = await main<{ id: bigint | null }[]>`select max(id) as id from geo_events`;
  let newest = max?.id ?? 0n;
  try {
    const [seq] = await main<{ id: bigint | null }[]>`
      select case when is_called then last_value end as id from geo_events_id_seq`;
    if (seq?.id != null && seq.id > newest) newest = seq.id;
  } catch {
    // no privilege on the sequence: max(id) is the best this connection can see
  }
  return newest;
}

export async function cursorStatus(context: Pick<GeoContext, 'mainSql' | 'trackingSql'>): Promise<CursorStatus | undefined> {
  if (!context.trackingSql) return undefined;
  const [cursor] = await context.trackingSql<{ last_event_id: bigint; open_gaps: number; gaps_detected: bigint; gaps_recovered: bigint; gaps_dropped: bigint; events_unknown: bigint }[]>`
    select c.last_event_id, (select count(*)::int from geo_event_gaps) as open_gaps, s.gaps_detected, s.gaps_recovered, s.gaps_dropped, s.events_unknown
    from geo_event_cursor c, geo_event_stats s`;
  const newest = await newestEventId(context.mainSql);
  return {
    lastEventId: cursor!.last_event_id,
    // never below what this secondary already processed (it read those ids from the primary)
    primaryMaxEventId: newest > cursor!.last_event_id ? newest : cursor!.last_event_id,
    openGaps: cursor!.open_gaps,
    gapsDetected: cursor!.gaps_detected,
    gapsRecovered: cursor!.gaps_recovered,
    gapsDropped: cursor!.gaps_dropped,
    unknownEvents: cursor!.events_unknown,
  };
}
