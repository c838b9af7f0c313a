import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { counterSlotsMainMigrations } from './counter-slots-migrations';
import { blobChangedSql, modelTriggerFunctions } from './model-trigger-functions';
import { rewritePendingMigrations } from './rewrite-migrations';
import { statusMainMigrations } from './status-migrations';
import { retryDelayMainMigration, verificationIndexesMigration } from './verification-migrations';

// Primary side, main database. The outbox is filled by statement-level triggers with transition
// tables, so an event is written in the same transaction as the model change whatever code made
// it, and a bulk delete (or an ON DELETE CASCADE from a project) writes one event per row in one
// INSERT … SELECT.

const COUNTER_SLOTS = 16;

export const geoCoreMainMigrations: Migration[] = [
  {
    name: 'geo/0001_events',
    sql: `
      create table geo_events (
        id bigserial primary key,
        replicable_name text not null,
        event_name text not null check (event_name in ('created', 'updated', 'deleted', 'checksum_succeeded')),
        payload jsonb not null,
        created_at timestamptz not null default now()
      );
      -- counts of model rows per replicable, one slot per connection (pg_backend_pid % ${COUNTER_SLOTS}) so
      -- concurrent writers rarely touch the same row and never deadlock; read with sum().
      -- Metrics never COUNT(*) a model table.
      create table geo_replicable_counts (
        replicable_name text not null,
        slot smallint not null,
        n bigint not null default 0,
        primary key (replicable_name, slot)
      );
      -- each secondary reports how far its event cursor got; prune never deletes past the slowest
      create table geo_secondary_sites (
        site_name text primary key,
        cursor_event_id bigint not null,
        reported_at timestamptz not null
      );`,
  },
];

function replicatorMainMigration(r: ReplicatorDefinition): Migration {
  const d = derive(r);
  const t = r.table;
  const path = r.blobPathColumn;
  const name = r.name.replace(/'/g, "''");
  const payload = (alias: string) => `jsonb_build_object('model_record_id', ${alias}.id, 'blob_path', ${alias}.${path})`;
  const functions = modelTriggerFunctions(r, 'create', '', (sign, rows) => `
        insert into geo_replicable_counts (replicable_name, slot, n)
        select '${name}', (pg_backend_pid() % ${COUNTER_SLOTS})::smallint, ${sign}count(*) from ${rows} having count(*) > 0
        on conflict (replicable_name, slot) do update set n = geo_replicable_counts.n + excluded.n;`);
  const changed = blobChangedSql(r);
  return {
    name: `geo/${r.name}/0001_states_and_events`,
    sql: `
      create table ${d.statesTable} (
        ${d.modelIdColumn} bigint primary key references ${t} (id) on delete cascade,
        verification_state smallint not null default 0,
        verification_started_at timestamptz,
        verification_retry_at timestamptz,
        verified_at timestamptz,
        verification_retry_count integer not null default 0,
        verification_checksum bytea,
        verification_failure text check (char_length(verification_failure) <= 255)
      );
      create index ${d.statesTable}_pending on ${d.statesTable} (verified_at nulls first) where verification_state = 0;
      create index ${d.statesTable}_failed on ${d.statesTable} (verification_retry_at nulls first) where verification_state = 3;

${functions.inserted}      create trigger geo_${r.name}_inserted after insert on ${t}
        referencing new table as new_rows for each statement execute function geo_${r.name}_inserted();

${functions.deleted}      create trigger geo_${r.name}_deleted after delete on ${t}
        referencing old table as old_rows for each statement execute function geo_${r.name}_deleted();
      ${
        r.mutable
          ? `
      create function geo_${r.name}_updated() returns trigger language plpgsql as $$
      begin
        insert into geo_events (replicable_name, event_name, payload)
        select '${name}', 'updated', ${payload('n')}
        from new_rows n join old_rows o on o.id = n.id
        where ${changed}
        order by n.id;
        return null;
      end $$;
      create trigger geo_${r.name}_updated after update on ${t}
        referencing old table as old_rows new table as new_rows for each statement execute function geo_${r.name}_updated();`
          : ''
      }
      -- rows that existed before this migration: count them once
      insert into geo_replicable_counts (replicable_name, slot, n) select '${name}', 0, count(*) from ${t}
        on conflict (replicable_name, slot) do update set n = geo_replicable_counts.n + excluded.n;
      insert into ${d.statesTable} (${d.modelIdColumn}) select id from ${t} on conflict do nothing;`,
  };
}

/** Main-database steps for the geo core and each replicator (after the model tables exist). */
export function geoMainMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [
    ...geoCoreMainMigrations,
    ...replicators.map(replicatorMainMigration),
    retryDelayMainMigration,
    ...replicators.map(verificationIndexesMigration),
    ...statusMainMigrations(replicators),
    ...counterSlotsMainMigrations(replicators),
    ...rewritePendingMigrations(replicators),
  ];
}
