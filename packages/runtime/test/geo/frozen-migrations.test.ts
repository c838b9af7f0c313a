import { siteMigrationSet } from '../../src';

// Released geo migration steps are frozen: each generated step's SQL, for every replicator the site
// runs, is pinned by a snapshot, so editing a released step (or a replicator definition in a way
// that changes released SQL) fails here, as it would in the migration runner's checksum check on a
// live site. New behaviour arrives as a new step appended after the released ones; add its name
// below and its snapshot then.

/** Geo step names released so far, in apply order; a new step is appended, never inserted. */
const RELEASED = {
  main: [
    'geo/0001_events',
    'geo/package_file/0001_states_and_events',
    'geo/packages_helm_metadata_cache/0001_states_and_events',
    'geo/0002_retry_delay',
    'geo/package_file/0002_verification_indexes',
    'geo/packages_helm_metadata_cache/0002_verification_indexes',
    'geo/0003_verification_counts',
    'geo/package_file/0003_verification_counts',
    'geo/packages_helm_metadata_cache/0003_verification_counts',
    'geo/0004_counter_slots',
    'geo/package_file/0004_counter_slots',
    'geo/packages_helm_metadata_cache/0004_counter_slots',
    'geo/packages_helm_metadata_cache/0004_rewrite_pending',
  ],
  geo_tracking: [
    'geo/0001_core',
    'geo/package_file/0001_registry',
    'geo/packages_helm_metadata_cache/0001_registry',
    'geo/package_file/0002_sync_job_id',
    'geo/packages_helm_metadata_cache/0002_sync_job_id',
    'geo/0002_unknown_events',
    'geo/0003_registry_bulk_operations',
    'geo/package_file/0003_verification_indexes',
    'geo/packages_helm_metadata_cache/0003_verification_indexes',
    'geo/0003_registry_verification_counts',
    'geo/package_file/0003_status_counters',
    'geo/packages_helm_metadata_cache/0003_status_counters',
    'geo/0004_counter_slots',
    'geo/package_file/0004_counter_slots',
    'geo/packages_helm_metadata_cache/0004_counter_slots',
  ],
};

describe.each(Object.keys(RELEASED) as Array<keyof typeof RELEASED>)('%s database: generated geo steps', (database) => {
  const steps = siteMigrationSet(database).migrations.filter((m) => m.name.startsWith('geo/'));

  it('keep every released step, in its released order, ahead of newer steps', () => {
    expect(steps.slice(0, RELEASED[database].length).map((m) => m.name)).toEqual(RELEASED[database]);
  });

  it.each(steps.map((m) => [m.name, m.sql] as const))('step %s keeps its released SQL', (_name, sql) => {
    expect(sql).toMatchSnapshot();
  });
});
