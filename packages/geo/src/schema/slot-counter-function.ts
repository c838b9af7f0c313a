// The counters' slot picking (steps 0003 and 0004): a statement adds its delta to the first slot
// row of its keys that no other open transaction holds, starting at its connection's own slot.

export const COUNTER_SLOTS = 16;

export interface CounterKey {
  param: string;
  column: string;
  type: string;
}

/**
 * `fn(<keys…>, p_delta bigint)`: adds p_delta to the first unheld slot row of the keys (own slot
 * first), or to the own slot's row when every one is held or none exists yet. `wrapUpdate` puts
 * the update's WHERE on a line of its own, as the registry counter's released step has it.
 */
export function slotCounterAddFunction(fn: string, table: string, keys: readonly CounterKey[], wrapUpdate = false): string {
  const params = keys.map((k) => `${k.param} ${k.type}`).join(', ');
  const where = keys.map((k) => `${k.column} = ${k.param}`).join(' and ');
  const columns = keys.map((k) => k.column).join(', ');
  const values = keys.map((k) => k.param).join(', ');
  return `
      create function ${fn}(${params}, p_delta bigint) returns void language plpgsql as $$
      declare
        own smallint := (pg_backend_pid() % ${COUNTER_SLOTS})::smallint;
        picked smallint;
      begin
        select slot into picked from ${table}
          where ${where}
          order by (slot - own + ${COUNTER_SLOTS}) % ${COUNTER_SLOTS} for update skip locked limit 1;
        if found then
          update ${table} set n = n + p_delta${wrapUpdate ? '\n            ' : ' '}where ${where} and slot = picked;
        else
          insert into ${table} (${columns}, slot, n) values (${values}, own, p_delta)
            on conflict (${columns}, slot) do update set n = ${table}.n + excluded.n;
        end if;
      end $$;`;
}
