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

/** Upstream-style flat fields: `package_files_count`, `package_files_synced_count`, … */
export function statusFields(status: TypeStatus): Record<string, number> {
  const p = status.plural;
  return {
    [`${p}_count`]: status.count,
    [`${p}_registry_count`]: status.registryCount,
    [`${p}_pending_count`]: status.pending,
    [`${p}_started_count`]: status.started,
    [`${p}_synced_count`]: status.synced,
    [`${p}_failed_count`]: status.failed,
    [`${p}_synced_in_percentage`]: status.syncedInPercentage,
  };
}

export async function cursorStatus(context: Pick<GeoContext, 'mainSql' | 'trackingSql'>): Promise<CursorStatus | undefined> {
  if (!context.trackingSql) return undefined;
  const [cursor] = await context.trackingSql<{ last_event_id: bigint; open_gaps: number; gaps_detected: bigint; gaps_recovered: bigint; gaps_dropped: bigint }[]>`
    select c.last_event_id, (select count(*)::int from geo_event_gaps) as open_gaps, s.gaps_detected, s.gaps_recovered, s.gaps_dropped
    from geo_event_cursor c, geo_event_stats s`;
  const [max] = await context.mainSql<{ id: bigint | null }[]>`select max(id) as id from geo_events`;
  return {
    lastEventId: cursor!.last_event_id,
    primaryMaxEventId: max?.id ?? 0n,
    openGaps: cursor!.open_gaps,
    gapsDetected: cursor!.gaps_detected,
    gapsRecovered: cursor!.gaps_recovered,
    gapsDropped: cursor!.gaps_dropped,
  };
}
