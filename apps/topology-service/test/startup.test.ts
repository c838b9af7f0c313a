import path from 'node:path';
import { topologyMigrationSet } from '@meridian/claims/rules';
import { createSql, migrate } from '@meridian/db';
import { createTestDatabase, spawnTs, waitFor, type SpawnedTs, type TestDatabase } from '@meridian/testing';

// The real entry point, in its own process: it refuses an unmigrated database with the command
// to run, serves once migrated, and stops cleanly on SIGTERM.

const main = path.resolve(__dirname, '../src/main.ts');
let db: TestDatabase;
const children: SpawnedTs[] = [];

beforeAll(async () => {
  db = await createTestDatabase('topostart');
});
afterAll(async () => {
  for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGKILL');
  await db.drop();
});

const env = () => ({ TOPOLOGY_DATABASE_URL: db.url, TOPOLOGY_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });

test('refuses to start on an unmigrated database, naming the command', async () => {
  const child = spawnTs(main, env());
  children.push(child);
  expect(await child.exited).toBe(1);
  expect(child.output()).toContain('meridian db migrate');
});

test('reports every bad variable at once', async () => {
  const child = spawnTs(main, { ...env(), TOPOLOGY_CELLS: 'nonsense', TOPOLOGY_ADMIN_TOKEN: 'short' });
  children.push(child);
  expect(await child.exited).toBe(1);
  expect(child.output()).toContain('TOPOLOGY_CELLS');
  expect(child.output()).toContain('TOPOLOGY_ADMIN_TOKEN');
  expect(child.output()).not.toContain('short');
});

test('serves once migrated and shuts down on SIGTERM', async () => {
  const sql = createSql(db.url, { max: 1 });
  await migrate(sql, topologyMigrationSet());
  await sql.end();
  const child = spawnTs(main, env());
  children.push(child);
  const url = await waitFor(() => /"url":"(http:[^"]+)"/.exec(child.output())?.[1], { message: 'listening line' });
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  expect(child.output()).toContain('using the public demo credential');
  child.child.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  expect(child.output()).toContain('"msg":"stopped"');
});
