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
];
