import type { Migration } from '@meridian/db';

// The cell side of claims, in each cell's main database. A row exists while a lease this cell
// opened may still need CommitUpdate: it is written in the same transaction as the claimed rows
// (so it exists exactly when they committed) and removed after CommitUpdate succeeded.
export const claimsMainMigrations: Migration[] = [
  {
    name: 'claims/0001_outstanding_leases',
    sql: `
      create table cells_outstanding_leases (
        uuid uuid primary key,
        created_at timestamptz not null default now()
      );
      create index cells_outstanding_leases_created_at on cells_outstanding_leases (created_at);`,
  },
  {
    // Weekly verification: the cursor of the pass in progress per model (PostgreSQL, so a flushed
    // Redis loses nothing), the finished passes, and one lock row per model with an expiry.
    name: 'claims/0002_verification',
    sql: `
      create table cells_claims_verification_cursors (
        model text primary key,
        last_id text,
        pass_started_at timestamptz not null,
        rows bigint not null default 0,
        counts jsonb not null default '{}',
        updated_at timestamptz not null default now()
      );
      create table cells_claims_verification_passes (
        id bigserial primary key,
        model text not null,
        trigger text not null,
        started_at timestamptz not null,
        finished_at timestamptz not null,
        rows bigint not null,
        counts jsonb not null
      );
      create index cells_claims_verification_passes_model on cells_claims_verification_passes (model, finished_at desc);
      create table cells_claims_verification_locks (
        model text primary key,
        owner text not null,
        expires_at timestamptz not null
      );`,
  },
];
