import { migrationSet } from '../src';

describe('migrationSet', () => {
  it('refuses a set with no steps, which would let assertMigrated pass on an empty database', () => {
    expect(() => migrationSet('topology')).toThrow(/topologyMigrationSet\(\) from @meridian\/claims/);
  });

  it('puts core steps first, then contributions', () => {
    const set = migrationSet('topology', [[{ name: 'x/0001_a', sql: 'select 1' }]]);
    expect(set.migrations.map((m) => m.name)).toEqual(['x/0001_a']);
    expect(migrationSet('main', [[{ name: 'x/0001_a', sql: 'select 1' }]]).migrations.map((m) => m.name)).toEqual(['0001_feature_flags', '0002_site_heartbeats', 'x/0001_a']);
  });
});
