import { createSql, composeMigrations, migrate, pendingMigrations, assertMigrated, MigrationHistoryError, NotMigratedError } from '../src';
import { openTestDatabase } from './helpers';

const set = composeMigrations(
  'main',
  [
    { name: '0001_things', sql: 'create table things (id bigserial primary key, n int not null)' },
    { name: '0002_more', sql: 'alter table things add column label text' },
  ],
  [{ name: 'extra/0001_counter', sql: 'create table apply_counter (n int); insert into apply_counter values (1)' }],
);

describe('migrate', () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeEach(async () => {
    db = await openTestDatabase();
  });
  afterEach(async () => {
    await db.close();
  });

  it('applies each migration exactly once when ten processes start together', async () => {
    const pools = Array.from({ length: 10 }, () => createSql(db.url, { max: 2 }));
    try {
      const results = await Promise.all(pools.map((sql) => migrate(sql, set)));
      const appliedCounts = results.map((r) => r.applied.length);
      expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(3);
      const rows = await db.sql`select count(*)::int as n from apply_counter`;
      expect(rows[0]?.n).toBe(1);
      const history = await db.sql`select name from meridian_migrations order by name`;
      expect(history.map((r) => r.name)).toEqual(['0001_things', '0002_more', 'extra/0001_counter']);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('reports pending migrations and refuses with the command to run', async () => {
    expect(await pendingMigrations(db.sql, set)).toHaveLength(3);
    await expect(assertMigrated(db.sql, set)).rejects.toThrow(NotMigratedError);
    await expect(assertMigrated(db.sql, set)).rejects.toThrow(/meridian db migrate/);
    await migrate(db.sql, set);
    await expect(assertMigrated(db.sql, set)).resolves.toBeUndefined();
  });

  it('refuses a tampered history', async () => {
    await migrate(db.sql, set);
    const edited = composeMigrations('main', [
      { name: '0001_things', sql: 'create table things (id bigserial primary key)' },
      { name: '0002_more', sql: 'alter table things add column label text' },
      { name: 'extra/0001_counter', sql: 'create table apply_counter (n int); insert into apply_counter values (1)' },
    ]);
    await expect(migrate(db.sql, edited)).rejects.toThrow(MigrationHistoryError);
    await expect(pendingMigrations(db.sql, edited)).rejects.toThrow(/different checksum/);
    const older = composeMigrations('main', [set.migrations[0]!]);
    await expect(migrate(db.sql, older)).rejects.toThrow(/does not know/);
  });

  it('rolls a failing migration back whole', async () => {
    const broken = composeMigrations('main', [
      { name: '0001_ok', sql: 'create table ok_table (id int)' },
      { name: '0002_bad', sql: 'create table half (id int); select * from missing_table' },
    ]);
    await expect(migrate(db.sql, broken)).rejects.toThrow(/missing_table/);
    expect(await pendingMigrations(db.sql, broken)).toEqual(['0002_bad']);
    const [half] = await db.sql`select to_regclass('half') is null as gone`;
    expect(half?.gone).toBe(true);
  });

  it('rejects badly named or duplicate migrations', () => {
    expect(() => composeMigrations('main', [{ name: 'x', sql: '' }])).toThrow(/must look like/);
    expect(() =>
      composeMigrations('main', [{ name: '0001_a', sql: '' }], [{ name: '0001_a', sql: '' }]),
    ).toThrow(/duplicate/);
  });
});
