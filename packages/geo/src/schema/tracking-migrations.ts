import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { RETRY_DELAY_FUNCTION_SQL } from './retry-delay';
import { geoAdminTrackingMigrations } from './admin-migrations';
import { secondaryVerificationTrackingMigrations } from './secondary-verification-migrations';
import { counterSlotsTrackingMigrations } from './counter-slots-migrations';
import { registryCountedFunction } from './registry-counted-function';
import { statusTrackingMigrations } from './status-migrations';

// Secondary side, tracking database: registries (one per replicator), the event cursor and its
// gaps, consistency laps, pending blob deletions and the selective-sync set.

const COUNTER_SLOTS = 16;

export const geoCoreTrackingMigrations: Migration[] = [
  {
    name: 'geo/0001_core',
    sql: `
      ${RETRY_DELAY_FUNCTION_SQL}

      create table geo_event_cursor (
        id smallint primary key default 1 check (id = 1),
        last_event_id bigint not null default 0,
        updated_at timestamptz not null default now()
      );
      insert into geo_event_cursor (id) values (1);

      -- ids skipped by the cursor (their transaction had not committed yet): re-read until found,
      -- dropped after an hour
      create table geo_event_gaps (
        event_id bigint primary key,
        detected_at timestamptz not null default now()
      );

      create table geo_event_stats (
        id smallint primary key default 1 check (id = 1),
        events_processed bigint not null default 0,
        gaps_detected bigint not null default 0,
        gaps_recovered bigint not null default 0,
        gaps_dropped bigint not null default 0
      );
      insert into geo_event_stats (id) values (1);

      -- blobs to remove from this site's storage; written in the transaction that removes the
      -- registry, so a crash between the commit and the unlink only delays the removal
      create table geo_pending_deletions (
        id bigserial primary key,
        replicable_name text not null,
        model_id bigint not null,
        blob_path text,
        created_at timestamptz not null default now()
      );

      create table geo_consistency_state (
        replicable_name text primary key,
        next_id bigint not null default 0,
        lap_started_at timestamptz not null default now(),
        lap_created bigint not null default 0,
        lap_removed bigint not null default 0
      );

      create table geo_consistency_laps (
        id bigserial primary key,
        replicable_name text not null,
        started_at timestamptz not null,
        finished_at timestamptz not null,
        registries_created bigint not null,
        registries_removed bigint not null
      );
      create index geo_consistency_laps_latest on geo_consistency_laps (replicable_name, finished_at desc);

      -- selective sync: empty = every organization
      create table geo_selective_sync_organizations (
        organization_id bigint primary key
      );

      -- registry rows per state, kept by triggers (one slot per connection, ${COUNTER_SLOTS} slots); read with sum()
      create table geo_registry_counts (
        replicable_name text not null,
        state smallint not null,
        slot smallint not null,
        n bigint not null default 0,
        primary key (replicable_name, state, slot)
      );`,
  },
];

function registryMigration(r: ReplicatorDefinition): Migration {
  const d = derive(r);
  const reg = d.registryTable;
  const name = r.name.replace(/'/g, "''");
  // One counter slot per connection (pg_backend_pid) and rows locked in state order: concurrent
  // statements either touch different slots or queue in the same order, so they never deadlock.
  const bump = (rows: string) => `
        insert into geo_registry_counts (replicable_name, state, slot, n)
        select '${name}', state, (pg_backend_pid() % ${COUNTER_SLOTS})::smallint, sum(delta) from (${rows}) changes
        group by state having sum(delta) <> 0 order by state
        on conflict (replicable_name, state, slot) do update set n = geo_registry_counts.n + excluded.n;`;
  return {
    name: `geo/${r.name}/0001_registry`,
    sql: `
      create table ${reg} (
        id bigserial primary key,
        ${d.modelIdColumn} bigint not null,
        state smallint not null default 0,
        retry_count integer not null default 0,
        retry_at timestamptz,
        last_synced_at timestamptz,
        sync_heartbeat_at timestamptz,
        last_sync_failure text check (char_length(last_sync_failure) <= 255),
        missing_on_primary boolean not null default false,
        blob_path text,
        created_at timestamptz not null default now(),
        verification_state smallint not null default 0,
        verification_started_at timestamptz,
        verification_retry_at timestamptz,
        verified_at timestamptz,
        verification_retry_count integer not null default 0,
        verification_checksum bytea,
        verification_checksum_mismatched bytea,
        checksum_mismatch boolean not null default false,
        verification_failure text check (char_length(verification_failure) <= 255),
        constraint ${reg}_model_unique unique (${d.modelIdColumn})
      );
      create index ${reg}_pending on ${reg} (${d.modelIdColumn}) where state = 0;
      create index ${reg}_retry_due on ${reg} (retry_at nulls first) where state = 3;
      create index ${reg}_started on ${reg} (last_synced_at) where state = 1;

${registryCountedFunction(r, 'create', '', bump)}      create trigger geo_${r.name}_registry_inserted after insert on ${reg}
        referencing new table as new_rows for each statement execute function geo_${r.name}_registry_counted();
      create trigger geo_${r.name}_registry_deleted after delete on ${reg}
        referencing old table as old_rows for each statement execute function geo_${r.name}_registry_counted();
      create trigger geo_${r.name}_registry_updated after update on ${reg}
        referencing old table as old_rows new table as new_rows for each statement execute function geo_${r.name}_registry_counted();
      insert into geo_consistency_state (replicable_name) values ('${name}') on conflict do nothing;`,
  };
}

/**
 * The sync job (BullMQ job id) that holds a `started` row. A job re-delivered after its worker
 * died (BullMQ's stall check) has the same id and takes its rows back at once, instead of finding
 * them held and leaving them to the sync-timeout sweep.
 */
function syncJobMigration(r: ReplicatorDefinition): Migration {
  return {
    name: `geo/${r.name}/0002_sync_job_id`,
    sql: `alter table ${derive(r).registryTable} add column sync_job_id text check (char_length(sync_job_id) <= 200);`,
  };
}

/** Events with a name this code does not know (see events/event-names.ts), counted by the cursor. */
const unknownEventsMigration: Migration = {
  name: 'geo/0002_unknown_events',
  sql: `alter table geo_event_stats add column events_unknown bigint not null default 0;`,
};

export function geoTrackingMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [
    ...geoCoreTrackingMigrations,
    ...replicators.map(registryMigration),
    ...replicators.map(syncJobMigration),
    unknownEventsMigration,
    ...geoAdminTrackingMigrations(),
    ...secondaryVerificationTrackingMigrations(replicators),
    ...statusTrackingMigrations(replicators),
    ...counterSlotsTrackingMigrations(replicators),
  ];
}
