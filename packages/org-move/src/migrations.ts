import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '@meridian/geo';

// Released steps never change; new behaviour arrives as a new step (as for geo's steps).

/**
 * Main database (the source's, read by the target through its read-only view): the window scan
 * walks `(created_at, id)`, so a double check reads the rows of its window and never the table.
 */
function createdAtIndex(r: ReplicatorDefinition): Migration {
  return {
    name: `org_move/${r.name}/0001_created_at_index`,
    sql: `create index if not exists ${r.table}_created_at_id on ${r.table} (created_at, id);`,
  };
}

/** Organizations in maintenance mode: their writes are frozen for a cutover (main database). */
const maintenanceTable: Migration = {
  name: 'org_move/0001_maintenance',
  sql: `
    create table org_move_maintenance (
      organization_id bigint primary key check (organization_id > 0),
      enabled_at timestamptz not null default now(),
      enabled_by text not null check (char_length(enabled_by) between 1 and 200)
    );`,
};

export function orgMoveMainMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [maintenanceTable, ...replicators.map(createdAtIndex)];
}

/** Tracking database (the target's): every double check's result, the repaired ids with it. */
const doubleChecksTable: Migration = {
  name: 'org_move/0001_double_checks',
  sql: `
    create table org_move_double_checks (
      id bigserial primary key,
      replicable_name text not null check (char_length(replicable_name) <= 100),
      organization_id bigint,
      since timestamptz not null,
      until timestamptz not null,
      window_source text not null check (window_source in ('since_hours', 'last_lap')),
      dry_run boolean not null,
      checked bigint not null,
      missing_ids bigint[] not null,
      orphaned_ids bigint[] not null,
      started_at timestamptz not null,
      finished_at timestamptz not null default now()
    );
    create index org_move_double_checks_latest on org_move_double_checks (replicable_name, organization_id, finished_at desc);`,
};

/** Registries created in a window: the dropped-delete check reads only those. */
function registryCreatedAtIndex(r: ReplicatorDefinition): Migration {
  const { registryTable, modelIdColumn } = derive(r);
  return {
    name: `org_move/${r.name}/0001_registry_created_at_index`,
    sql: `create index if not exists ${registryTable}_created_at on ${registryTable} (created_at, ${modelIdColumn});`,
  };
}

export function orgMoveTrackingMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return [doubleChecksTable, ...replicators.map(registryCreatedAtIndex)];
}
