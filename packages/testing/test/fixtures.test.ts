import postgres from 'postgres';
import { createTestDatabase, uniqueName, waitFor } from '../src';

describe('testing fixtures', () => {
  it('waitFor resolves with the first truthy value and times out with the reason', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1 })).toBe(3);
    await expect(
      waitFor(() => {
        throw new Error('still broken');
      }, { timeoutMs: 50, intervalMs: 5, message: 'the thing' }),
    ).rejects.toThrow(/timed out waiting for the thing: last error still broken/);
  });

  it('creates an isolated database and drops it', async () => {
    const db = await createTestDatabase();
    const sql = postgres(db.url, { max: 1 });
    const [row] = await sql<{ name: string }[]>`select current_database() as name`;
    expect(row?.name).toBe(db.name);
    await sql.end();
    await db.drop();
    const admin = postgres(db.url.replace(db.name, 'postgres'), { max: 1 });
    expect(await admin`select 1 from pg_database where datname = ${db.name}`).toHaveLength(0);
    await admin.end();
  });

  it('makes unique names', () => {
    expect(uniqueName('a')).not.toBe(uniqueName('a'));
  });
});
