import type { Migration } from '@meridian/db';
import type { ReplicatorDefinition } from '../replicator';
import { modelTriggerFunctions } from './model-trigger-functions';
import { registryCountedFunction } from './registry-counted-function';
import { COUNTER_SLOTS, slotCounterAddFunction } from './slot-counter-function';
import { stateCountLoop } from './status-migrations';

// Step 0004: the first counters (model rows per type on the main database, registries per state
// on the tracking database) stop waiting on each other. Step 0001 gave each connection one fixed
// slot row (pg_backend_pid % 16), so two connections with the same slot queued behind each other
// for as long as the first kept its transaction open: a cell transaction holding a claim while it
// waits on the Topology Service held up an unrelated writer on the same slot. From this step a
// statement adds to the first slot row no other open transaction holds (FOR UPDATE SKIP LOCKED,
// starting at its connection's own slot), like the status counters of step 0003; only when all 16
// slots are held does it wait. The counts stay exact: the step replaces the trigger functions in
// place, and each table's counts are still read with sum().


const quote = (value: string) => value.replace(/'/g, "''");

export const counterSlotsMainMigration: Migration = {
  name: 'geo/0004_counter_slots',
  sql: slotCounterAddFunction('geo_replicable_count_add', 'geo_replicable_counts', [{ param: 'p_name', column: 'replicable_name', type: 'text' }]),
};

function modelCounterSlotsMigration(r: ReplicatorDefinition): Migration {
  const name = quote(r.name);
  const functions = modelTriggerFunctions(r, 'create or replace', 'declare\n        k bigint;\n      ', (sign, rows) => `
        select count(*) into k from ${rows};
        if k > 0 then
          perform geo_replicable_count_add('${name}', ${sign}k);
        end if;`);
  return {
    name: `geo/${r.name}/0004_counter_slots`,
    sql: `
${functions.inserted}${functions.deleted}
      insert into geo_replicable_counts (replicable_name, slot, n)
      select '${name}', slot, 0 from generate_series(0, ${COUNTER_SLOTS - 1}) slot
        on conflict (replicable_name, slot) do nothing;`,
  };
}

export const counterSlotsTrackingMigration: Migration = {
  name: 'geo/0004_counter_slots',
  sql: slotCounterAddFunction('geo_registry_count_add', 'geo_registry_counts', [
    { param: 'p_name', column: 'replicable_name', type: 'text' },
    { param: 'p_state', column: 'state', type: 'smallint' },
  ]),
};

// A TRUNCATE of the registry deletes the type's counter rows (step 0003's trigger); the add
// function then creates the slots it uses again.
function registryCounterSlotsMigration(r: ReplicatorDefinition): Migration {
  const name = quote(r.name);
  const bump = (rows: string) => stateCountLoop('state', 'geo_registry_count_add', name, rows);
  return {
    name: `geo/${r.name}/0004_counter_slots`,
    sql: `
${registryCountedFunction(r, 'create or replace', 'declare\n        c record;\n      ', bump)}
      insert into geo_registry_counts (replicable_name, state, slot, n)
      select '${name}', s, slot, 0 from generate_series(0, 3) s, generate_series(0, ${COUNTER_SLOTS - 1}) slot
        on conflict (replicable_name, state, slot) do nothing;`,
  };
}

export function counterSlotsMainMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [counterSlotsMainMigration, ...replicators.map(modelCounterSlotsMigration)];
}

export function counterSlotsTrackingMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [counterSlotsTrackingMigration, ...replicators.map(registryCounterSlotsMigration)];
}
