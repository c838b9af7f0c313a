import { migrationSet, type Migration, type MigrationSet } from '@meridian/db';

// The Topology Service's database: claims and the leases that change them. It lives here, beside
// the claim rules it enforces; names and SQL are exactly those packages/db used to ship, so
// databases migrated before the move keep a matching history (checksums are of the SQL text).
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
      create index claims_by_source on claims (cell_id, source_type, source_id, uuid);

      -- BeginUpdate in one round trip and one (autocommitted) statement: open the lease, insert
      -- the creates in the caller's order (key order, so racing batches lock the unique index in
      -- the same order and cannot deadlock), mark the destroys. When a create is taken (MR001) or a
      -- destroy is not allowed (MR002) it raises, which undoes everything the call did; the service
      -- then looks up why. Byte columns travel as hex text ('' = no user data). Destroys are found
      -- key by key through claims_bucket_unique, so the cost never depends on how many claims the
      -- cell owns, whatever plan the statement gets (a join on cell_id once scanned them all).
      create function claims_begin_update(
        p_lease uuid, p_cell_id bigint,
        c_bucket_types integer[], c_bucket_values text[], c_subject_types integer[], c_subject_ids bigint[],
        c_source_types integer[], c_source_ids_hex text[], c_user_data_hex text[],
        d_bucket_types integer[], d_bucket_values text[]
      ) returns void language plpgsql as $fn$
      declare
        n bigint;
      begin
        insert into claim_leases (uuid, cell_id) values (p_lease, p_cell_id);
        if cardinality(c_bucket_types) > 0 then
          insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id,
                              cell_id, status, lease_uuid, user_data)
          select gen_random_uuid(), w.bucket_type, w.bucket_value, w.subject_type, w.subject_id, w.source_type,
                 decode(w.source_hex, 'hex'), p_cell_id, 2, p_lease, decode(nullif(w.user_data_hex, ''), 'hex')
          from unnest(c_bucket_types, c_bucket_values, c_subject_types, c_subject_ids, c_source_types, c_source_ids_hex, c_user_data_hex)
            with ordinality as w(bucket_type, bucket_value, subject_type, subject_id, source_type, source_hex, user_data_hex, ord)
          order by w.ord
          on conflict (bucket_type, bucket_value) do nothing;
          get diagnostics n = row_count;
          if n <> cardinality(c_bucket_types) then
            raise exception 'a claimed value is taken' using errcode = 'MR001';
          end if;
        end if;
        if cardinality(d_bucket_types) > 0 then
          update claims c set status = 3, lease_uuid = p_lease, updated_at = clock_timestamp()
          where c.uuid = any (array(
              select o.uuid from unnest(d_bucket_types, d_bucket_values) as d(bucket_type, bucket_value)
              cross join lateral (
                select uuid from claims where bucket_type = d.bucket_type and bucket_value = d.bucket_value) o))
            and c.cell_id = p_cell_id and c.status = 1;
          get diagnostics n = row_count;
          if n <> cardinality(d_bucket_types) then
            raise exception 'a destroy is not allowed' using errcode = 'MR002';
          end if;
        end if;
      end
      $fn$;`,
  },
];

/** The Topology Service database's full migration set (for `migrate` / `assertMigrated`). */
export function topologyMigrationSet(): MigrationSet {
  return migrationSet('topology', [topologyMigrations]);
}
