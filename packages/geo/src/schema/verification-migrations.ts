import type { Migration } from '@meridian/db';
import { derive, type ReplicatorDefinition } from '../replicator';
import { RETRY_DELAY_FUNCTION_SQL } from './retry-delay';

// Main-database steps for primary verification, appended after the released 0001 steps.

/** The shared backoff function, from the same text the tracking database uses. */
export const retryDelayMainMigration: Migration = {
  name: 'geo/0002_retry_delay',
  // `or replace`: a development site may keep main and tracking tables in one database
  sql: RETRY_DELAY_FUNCTION_SQL.replace('create function', 'create or replace function'),
};

/** Indexes for the timeout sweep (started rows) and reverification (succeeded rows by age). */
export function verificationIndexesMigration(r: ReplicatorDefinition): Migration {
  const s = derive(r).statesTable;
  return {
    name: `geo/${r.name}/0002_verification_indexes`,
    sql: `
      create index ${s}_started on ${s} (verification_started_at) where verification_state = 1;
      create index ${s}_succeeded on ${s} (verified_at) where verification_state = 2;`,
  };
}
