import type { Migration } from '../migration';

// The Topology Service's database: claims and the leases that change them.
//
// A claim row is the unit of uniqueness: UNIQUE (bucket_type, bucket_value) is what guarantees a
// value belongs to at most one cell, even when cells race. bucket_type is the Bucket.Type /
// ClaimType number, so new types need no migration.
//
// Leases are never updated back to "open": a lease moves open → committed or open → rolled_back
// exactly once, and keeping the finished row lets a retried Commit/Rollback answer OK instead of
// NOT_FOUND. ListLeases only reads open leases, through a partial index.
export const topologyMigrations: Migration[] = [
  {
    name: '0001_claims',
    sql: `
      create table claim_leases (
        uuid uuid primary key,
        cell_id bigint not null check (cell_id > 0),
        state text not null default 'open' check (state in ('open', 'committed', 'rolled_back')),
        created_at timestamptz not null default clock_timestamp(),
        updated_at timestamptz not null default clock_timestamp(),
        finished_at timestamptz
      );
      -- ListLeases(cell, created_after, cursor) and lost-transaction recovery
      create index claim_leases_open_by_cell on claim_leases (cell_id, created_at, uuid) where state = 'open';
      -- pruning finished leases by age
      create index claim_leases_finished on claim_leases (finished_at) where state <> 'open';

      create table claims (
        uuid uuid primary key,
        bucket_type integer not null check (bucket_type > 0),
        bucket_value text not null check (octet_length(bucket_value) between 1 and 1024),
        subject_type integer not null,
        subject_id bigint not null,
        source_type integer not null check (source_type > 0),
        source_id bytea not null check (octet_length(source_id) > 0),
        cell_id bigint not null check (cell_id > 0),
        -- 1 ACTIVE, 2 LEASE_CREATING, 3 LEASE_DESTROYING (Record.Status numbers)
        status smallint not null check (status in (1, 2, 3)),
        lease_uuid uuid references claim_leases (uuid),
        -- google.protobuf.Any from Metadata.user_data, binary, kept for the owner's audit
        user_data bytea,
        created_at timestamptz not null default clock_timestamp(),
        updated_at timestamptz not null default clock_timestamp(),
        constraint claims_bucket_unique unique (bucket_type, bucket_value),
        constraint claims_lease_matches_status check ((status = 1) = (lease_uuid is null))
      );
      -- Commit/Rollback find a lease's claims
      create index claims_by_lease on claims (lease_uuid) where lease_uuid is not null;
      -- ListRecords(cell, source type, source id range), ordered by source id
      create index claims_by_source on claims (cell_id, source_type, source_id, uuid);`,
  },
];
