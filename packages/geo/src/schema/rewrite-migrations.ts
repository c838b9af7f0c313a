import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { blobChangedSql } from './model-trigger-functions';

// Step 0004 (main database, mutable types only): a rewritten blob is checksummed again. An update
// that changes a row's blob (its path or its checksum column) sends the row's verification state
// back to pending, with no checksum, in the same transaction. Until the primary has checksummed
// the new bytes, a secondary that fetched them waits for that checksum (it verifies only against
// a succeeded primary state) instead of comparing them with the old blob's checksum, which would
// be a false mismatch and a resync loop. A verification of the old bytes still in flight loses
// its guard (state and started_at) and records nothing. Disabled rows stay disabled.

function rewritePendingMigration(r: ReplicatorDefinition): Migration {
  const d = derive(r);
  const s = d.statesTable;
  return {
    name: `geo/${r.name}/0004_rewrite_pending`,
    sql: `
      create function geo_${r.name}_rewritten() returns trigger language plpgsql as $$
      begin
        update ${s} st set verification_state = 0, verification_checksum = null, verified_at = null,
          verification_started_at = null, verification_retry_at = null, verification_retry_count = 0, verification_failure = null
        from new_rows n join old_rows o on o.id = n.id
        where st.${d.modelIdColumn} = n.id and st.verification_state <> 4 and (${blobChangedSql(r)});
        return null;
      end $$;
      create trigger geo_${r.name}_rewritten after update on ${r.table}
        referencing old table as old_rows new table as new_rows for each statement execute function geo_${r.name}_rewritten();`,
  };
}

export function rewritePendingMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return replicators.filter((r) => r.mutable).map(rewritePendingMigration);
}
