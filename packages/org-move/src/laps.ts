import { exactlyOne, type Sql } from '@meridian/db';
import { lastCompletedLaps, type ReplicatorDefinition } from '@meridian/geo';

export interface TypeLaps {
  type: string;
  /** the last complete pass of the consistency walk over the type's id space */
  last?: { startedAt: Date; finishedAt: Date; durationMs: number; created: number; removed: number };
  /** the pass in progress: how far into the id space it is (0 when it has not started) */
  current: { startedAt?: Date; nextId: bigint; maxId: bigint; fraction: number; created: number; removed: number };
}

/** Per type: the last completed consistency lap and the current lap's progress. */
export async function lapReport(main: Sql, tracking: Sql, replicators: readonly ReplicatorDefinition[]): Promise<TypeLaps[]> {
  const [laps, states] = await Promise.all([
    lastCompletedLaps(tracking),
    tracking<{ replicable_name: string; next_id: bigint; lap_started_at: Date; lap_created: bigint; lap_removed: bigint }[]>`
      select replicable_name, next_id, lap_started_at, lap_created, lap_removed from geo_consistency_state`,
  ]);
  const byName = new Map(states.map((s) => [s.replicable_name, s]));
  const out: TypeLaps[] = [];
  for (const r of replicators) {
    // the newest id through the primary key: cheap on any table size
    const { max } = exactlyOne(await main<{ max: bigint | null }[]>`select max(id) as max from ${main(r.table)}`, 'max id');
    const maxId = max === null ? 0n : BigInt(max);
    const state = byName.get(r.name);
    const nextId = state ? BigInt(state.next_id) : 0n;
    const lap = laps.get(r.name);
    out.push({
      type: r.name,
      ...(lap
        ? {
            last: {
              startedAt: lap.startedAt,
              finishedAt: lap.finishedAt,
              durationMs: lap.finishedAt.getTime() - lap.startedAt.getTime(),
              created: Number(lap.registriesCreated),
              removed: Number(lap.registriesRemoved),
            },
          }
        : {}),
      current: {
        ...(state ? { startedAt: state.lap_started_at } : {}),
        nextId,
        maxId,
        fraction: maxId === 0n || nextId === 0n ? 0 : Math.min(1, Number(nextId - 1n) / Number(maxId)),
        created: state ? Number(state.lap_created) : 0,
        removed: state ? Number(state.lap_removed) : 0,
      },
    });
  }
  return out;
}
