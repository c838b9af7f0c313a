import { defineReplicator, geoMainMigrations, geoTrackingMigrations } from '../../src';

// Released migration steps are frozen: each step's SQL is pinned per replicator shape, so editing a
// released step fails here (and, on a live site, in the migration runner's checksum check). New
// behaviour arrives as a new step appended after the released ones; add its snapshot then.

// The two shapes the site runs: an immutable, organization-scoped type and a mutable one.
const immutable = defineReplicator({
  name: 'package_file',
  plural: 'package_files',
  titles: { singular: 'Package File', plural: 'Package Files' },
  table: 'packages_package_files',
  blobPathColumn: 'file_path',
  checksumColumn: 'file_sha256',
  mutable: false,
  organizationIdSql: (alias) =>
    `(select p.organization_id from packages_packages pk join projects p on p.id = pk.project_id where pk.id = ${alias}.package_id)`,
});
const mutable = defineReplicator({
  name: 'packages_helm_metadata_cache',
  plural: 'packages_helm_metadata_caches',
  titles: { singular: 'Helm Metadata Cache', plural: 'Helm Metadata Caches' },
  table: 'packages_helm_metadata_caches',
  blobPathColumn: 'file_path',
  checksumColumn: 'file_sha256',
  mutable: true,
});

/** Step names released so far, in apply order; a new step is appended, never inserted. */
const RELEASED = {
  main: [
    'geo/0001_events',
    'geo/package_file/0001_states_and_events',
    'geo/packages_helm_metadata_cache/0001_states_and_events',
    'geo/0002_retry_delay',
    'geo/package_file/0002_verification_indexes',
    'geo/packages_helm_metadata_cache/0002_verification_indexes',
  ],
  tracking: [
    'geo/0001_core',
    'geo/package_file/0001_registry',
    'geo/packages_helm_metadata_cache/0001_registry',
    'geo/package_file/0002_sync_job_id',
    'geo/packages_helm_metadata_cache/0002_sync_job_id',
    'geo/0002_unknown_events',
  ],
};

const sets = {
  main: geoMainMigrations([immutable, mutable]),
  tracking: geoTrackingMigrations([immutable, mutable]),
};

describe.each(Object.keys(sets) as Array<keyof typeof sets>)('%s database steps', (database) => {
  const steps = sets[database];

  it('keeps every released step, in its released order, ahead of newer steps', () => {
    expect(steps.slice(0, RELEASED[database].length).map((m) => m.name)).toEqual(RELEASED[database]);
  });

  it.each(steps.map((m) => [m.name, m.sql] as const))('step %s keeps its released SQL', (_name, sql) => {
    expect(sql).toMatchSnapshot();
  });
});
