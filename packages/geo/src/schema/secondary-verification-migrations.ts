import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';

// Tracking-database steps for secondary verification, appended after the released steps. The
// registry's verification columns exist since 0001; these are the partial indexes the batch claim,
// the timeout sweep, reverification and the disabled sweep read (each bounded by LIMIT).

export function secondaryVerificationIndexesMigration(r: ReplicatorDefinition): Migration {
  const reg = derive(r).registryTable;
  return {
    name: `geo/${r.name}/0003_verification_indexes`,
    sql: `
      create index ${reg}_verification_pending on ${reg} (verification_retry_at nulls first) where state = 2 and verification_state = 0;
      create index ${reg}_verification_failed on ${reg} (verification_retry_at nulls first) where state = 2 and verification_state = 3;
      create index ${reg}_verification_started on ${reg} (verification_started_at) where verification_state = 1;
      create index ${reg}_verified on ${reg} (verified_at) where state = 2 and verification_state = 2;
      create index ${reg}_verification_disabled on ${reg} (id) where state = 2 and verification_state = 4;`,
  };
}

export function secondaryVerificationTrackingMigrations(replicators: readonly ReplicatorDefinition[]): Migration[] {
  return replicators.map(secondaryVerificationIndexesMigration);
}
