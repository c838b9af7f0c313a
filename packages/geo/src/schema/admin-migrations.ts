import type { Migration } from '@meridian/db';

// Tracking-database steps of the registry admin API (secondary), appended after the released steps.

/**
 * A bulk resync / reverify as durable intent: the job that executes it walks the type's registry
 * ids in batches and advances `cursor_id` in the same transaction as each batch's updates, so a
 * restart (or a flushed Redis) resumes after the last committed batch and never repeats one.
 * Only ids up to `max_id` (the highest when requested) are included.
 */
export const registryBulkOperationsMigration: Migration = {
  name: 'geo/0003_registry_bulk_operations',
  sql: `
    create table geo_registry_bulk_operations (
      id bigserial primary key,
      replicable_name text not null,
      action text not null check (action in ('resync_all', 'reverify_all')),
      filter jsonb not null default '{}'::jsonb,
      state text not null default 'running' check (state in ('running', 'succeeded', 'failed')),
      min_id bigint not null,
      max_id bigint not null,
      cursor_id bigint not null,
      examined bigint not null default 0,
      updated bigint not null default 0,
      failure text check (char_length(failure) <= 255),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      finished_at timestamptz
    );
    create index geo_registry_bulk_operations_running on geo_registry_bulk_operations (id) where state = 'running';`,
};

export function geoAdminTrackingMigrations(): Migration[] {
  return [registryBulkOperationsMigration];
}
