import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { COUNTER_SLOTS, slotCounterAddFunction } from './slot-counter-function';

// Status counters (issue #12, status and metrics). Every status figure is read from a counter
// table kept by statement-level triggers, never from a COUNT(*) over a states or registry table.
// Each (type, state) has SLOTS counter rows, created by the step; a statement adds its delta to the
// first slot row no other open transaction holds (FOR UPDATE SKIP LOCKED, starting at its
// connection's own slot), so concurrent writers — a long cell transaction, verification claims held
// open — never wait on each other's counters; only when every slot is held does one wait. Read
// with sum(). Each step counts the rows that exist when it runs (under the trigger's table lock, so
// no write slips between the backfill and the trigger).

const quote = (value: string) => value.replace(/'/g, "''");

/** Main database: primary verification states per type (`<model>_states.verification_state`). */
export const statusCoreMainMigration: Migration = {
  name: 'geo/0003_verification_counts',
  sql: `
      create table geo_verification_counts (
        replicable_name text not null,
        verification_state smallint not null,
        slot smallint not null,
        n bigint not null default 0,
        primary key (replicable_name, verification_state, slot)
      );${slotCounterAddFunction('geo_verification_count_add', 'geo_verification_counts', [
    { param: 'p_name', column: 'replicable_name', type: 'text' },
    { param: 'p_state', column: 'verification_state', type: 'smallint' },
  ])}`,
};

/**
 * PL/pgSQL that adds each `column` value's summed delta of `rows` (column, delta) through
 * `fn(name, value, delta)`, values in ascending order (so statements that must wait queue in the
 * same order). Needs `c record` declared. `name` is already quoted.
 */
export function stateCountLoop(column: string, fn: string, name: string, rows: string): string {
  return `
          for c in select ${column} as s, sum(delta)::bigint as d from (${rows}) changes
                   group by ${column} having sum(delta) <> 0 order by ${column} loop
            perform ${fn}('${name}', c.s, c.d);
          end loop;`;
}

function statesCountersMigration(r: ReplicatorDefinition): Migration {
  const s = derive(r).statesTable;
  const name = quote(r.name);
  const bump = (rows: string) => stateCountLoop('verification_state', 'geo_verification_count_add', name, rows);
  const changed = `from new_rows n join old_rows o on o.${derive(r).modelIdColumn} = n.${derive(r).modelIdColumn} where o.verification_state <> n.verification_state`;
  return {
    name: `geo/${r.name}/0003_verification_counts`,
    sql: `
      create function geo_${r.name}_states_counted() returns trigger language plpgsql as $$
      declare
        c record;
      begin
        if tg_op = 'INSERT' then
          ${bump('select verification_state, 1 as delta from new_rows')}
        elsif tg_op = 'DELETE' then
          ${bump('select verification_state, -1 as delta from old_rows')}
        else
          ${bump(`select n.verification_state, 1 as delta ${changed} union all select o.verification_state, -1 ${changed}`)}
        end if;
        return null;
      end $$;
      create trigger geo_${r.name}_states_inserted after insert on ${s}
        referencing new table as new_rows for each statement execute function geo_${r.name}_states_counted();
      create trigger geo_${r.name}_states_deleted after delete on ${s}
        referencing old table as old_rows for each statement execute function geo_${r.name}_states_counted();
      create trigger geo_${r.name}_states_updated after update on ${s}
        referencing old table as old_rows new table as new_rows for each statement execute function geo_${r.name}_states_counted();
      -- TRUNCATE fires no delete trigger: it empties the type's counters instead
      create function geo_${r.name}_states_truncated() returns trigger language plpgsql as $$
      begin
        delete from geo_verification_counts where replicable_name = '${name}';
        return null;
      end $$;
      create trigger geo_${r.name}_states_truncated after truncate on ${s}
        for each statement execute function geo_${r.name}_states_truncated();
      insert into geo_verification_counts (replicable_name, verification_state, slot, n)
      select '${name}', v, slot, 0 from generate_series(0, 4) v, generate_series(0, ${COUNTER_SLOTS - 1}) slot
        on conflict (replicable_name, verification_state, slot) do nothing;
      insert into geo_verification_counts (replicable_name, verification_state, slot, n)
      select '${name}', verification_state, 0, count(*) from ${s} group by verification_state
        on conflict (replicable_name, verification_state, slot) do update set n = geo_verification_counts.n + excluded.n;`,
  };
}

/** Tracking database: registry rows per (sync state, verification state). */
export const statusCoreTrackingMigration: Migration = {
  name: 'geo/0003_registry_verification_counts',
  sql: `
      create table geo_registry_verification_counts (
        replicable_name text not null,
        state smallint not null,
        verification_state smallint not null,
        slot smallint not null,
        n bigint not null default 0,
        primary key (replicable_name, state, verification_state, slot)
      );${slotCounterAddFunction(
        'geo_registry_verification_count_add',
        'geo_registry_verification_counts',
        [
          { param: 'p_name', column: 'replicable_name', type: 'text' },
          { param: 'p_state', column: 'state', type: 'smallint' },
          { param: 'p_verification', column: 'verification_state', type: 'smallint' },
        ],
        true,
      )}`,
};

/**
 * Registry counters by (state, verification_state), and `pending_since` for the oldest pending
 * registry's age: set on insert (column default) and whenever a row goes back to pending (a row
 * trigger whose WHEN clause is evaluated without calling the function for any other update),
 * read through a partial index over pending rows only. Rows pending when this step runs count
 * from the step's time.
 */
function registryCountersMigration(r: ReplicatorDefinition): Migration {
  const d = derive(r);
  const reg = d.registryTable;
  const name = quote(r.name);
  const bump = (rows: string) => `
          for c in select state as s, verification_state as v, sum(delta)::bigint as d from (${rows}) changes
                   group by state, verification_state having sum(delta) <> 0 order by state, verification_state loop
            perform geo_registry_verification_count_add('${name}', c.s, c.v, c.d);
          end loop;`;
  const changed = 'from new_rows n join old_rows o on o.id = n.id where (o.state, o.verification_state) is distinct from (n.state, n.verification_state)';
  return {
    name: `geo/${r.name}/0003_status_counters`,
    sql: `
      create function geo_${r.name}_registry_verification_counted() returns trigger language plpgsql as $$
      declare
        c record;
      begin
        if tg_op = 'INSERT' then
          ${bump('select state, verification_state, 1 as delta from new_rows')}
        elsif tg_op = 'DELETE' then
          ${bump('select state, verification_state, -1 as delta from old_rows')}
        else
          ${bump(`select n.state, n.verification_state, 1 as delta ${changed} union all select o.state, o.verification_state, -1 ${changed}`)}
        end if;
        return null;
      end $$;
      create trigger geo_${r.name}_registry_verification_inserted after insert on ${reg}
        referencing new table as new_rows for each statement execute function geo_${r.name}_registry_verification_counted();
      create trigger geo_${r.name}_registry_verification_deleted after delete on ${reg}
        referencing old table as old_rows for each statement execute function geo_${r.name}_registry_verification_counted();
      create trigger geo_${r.name}_registry_verification_updated after update on ${reg}
        referencing old table as old_rows new table as new_rows for each statement execute function geo_${r.name}_registry_verification_counted();
      -- TRUNCATE fires no delete trigger: it empties the type's counters (both tables) instead
      create function geo_${r.name}_registry_truncated() returns trigger language plpgsql as $$
      begin
        delete from geo_registry_counts where replicable_name = '${name}';
        delete from geo_registry_verification_counts where replicable_name = '${name}';
        return null;
      end $$;
      create trigger geo_${r.name}_registry_truncated after truncate on ${reg}
        for each statement execute function geo_${r.name}_registry_truncated();
      insert into geo_registry_verification_counts (replicable_name, state, verification_state, slot, n)
      select '${name}', s, v, slot, 0 from generate_series(0, 3) s, generate_series(0, 4) v, generate_series(0, ${COUNTER_SLOTS - 1}) slot
        on conflict (replicable_name, state, verification_state, slot) do nothing;
      insert into geo_registry_verification_counts (replicable_name, state, verification_state, slot, n)
      select '${name}', state, verification_state, 0, count(*) from ${reg} group by state, verification_state
        on conflict (replicable_name, state, verification_state, slot) do update set n = geo_registry_verification_counts.n + excluded.n;

      alter table ${reg} add column pending_since timestamptz not null default now();
      create function geo_${r.name}_registry_pending_again() returns trigger language plpgsql as $$
      begin
        new.pending_since := now();
        return new;
      end $$;
      create trigger geo_${r.name}_registry_pending_again before update of state on ${reg}
        for each row when (new.state = 0 and old.state <> 0) execute function geo_${r.name}_registry_pending_again();
      create index ${reg}_pending_since on ${reg} (pending_since) where state = 0;
      -- the status page lists recent verification failures; without it a 10M-row table is scanned
      create index ${reg}_verification_failures on ${reg} (verification_retry_at nulls first) where verification_state = 3;`,
  };
}

export function statusMainMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [statusCoreMainMigration, ...replicators.map(statesCountersMigration)];
}

export function statusTrackingMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [statusCoreTrackingMigration, ...replicators.map(registryCountersMigration)];
}
