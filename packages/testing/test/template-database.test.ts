import path from 'node:path';
import postgres from 'postgres';
import { createTestDatabase, repoRoot, TEMPLATE_PREFIX, TEMPLATE_RUN_ENV, testPostgresUrl, type TestDatabase } from '../src';

const onDatabase = async <T>(url: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> => {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
};

const databasesLike = (pattern: string) =>
  onDatabase(testPostgresUrl(), async (sql) => (await sql<{ datname: string }[]>`select datname from pg_database where datname like ${pattern}`).map((r) => r.datname));

// Test files clone a migrated template instead of migrating from scratch; the run drops its templates.
describe('createTestDatabase with a template', () => {
  const previousRun = process.env[TEMPLATE_RUN_ENV];
  const run = `t${process.pid}`;
  const created: TestDatabase[] = [];
  beforeAll(() => {
    process.env[TEMPLATE_RUN_ENV] = run; // this test's own run, so its teardown check sees only its templates
  });
  afterAll(async () => {
    for (const db of created) await db.drop();
    process.env[TEMPLATE_RUN_ENV] = previousRun;
  });

  it('migrates the template once, clones it per database, and the run’s teardown drops it', async () => {
    let migrations = 0;
    const spec = {
      fingerprint: `schema-${run}`,
      migrate: (url: string) => onDatabase(url, async (sql) => {
        migrations += 1;
        await sql`create table widgets (id bigint primary key, name text not null)`;
        await sql`insert into widgets values (1, 'from the template')`;
      }),
    };
    const [a, b] = await Promise.all([createTestDatabase('mtt', { template: spec }), createTestDatabase('mtt', { template: spec })]);
    created.push(a, b);
    expect(migrations).toBe(1);
    for (const db of [a, b]) {
      const rows = await onDatabase(db.url, (sql) => sql<{ name: string }[]>`select name from widgets`);
      expect(rows.map((r) => r.name)).toEqual(['from the template']);
    }
    // clones are independent
    await onDatabase(a.url, (sql) => sql`insert into widgets values (2, 'only in a')`);
    expect(await onDatabase(b.url, (sql) => sql`select count(*)::int as n from widgets`)).toEqual([{ n: 1 }]);

    expect(await databasesLike(`${TEMPLATE_PREFIX}${run}_%`)).toHaveLength(1);
    const teardown = (await import(path.join(repoRoot, 'scripts', 'jest-global-teardown.cjs'))) as { default: () => Promise<void> };
    await teardown.default();
    expect(await databasesLike(`${TEMPLATE_PREFIX}${run}_%`)).toEqual([]);
  });
});
