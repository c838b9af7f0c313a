import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { createSql, migrate, type MigrationSet, type Sql } from '../src';

/** A fresh database with a pool on it, optionally migrated with `set`. */
export async function openTestDatabase(set?: MigrationSet): Promise<TestDatabase & { sql: Sql; close(): Promise<void> }> {
  const db = await createTestDatabase();
  const sql = createSql(db.url, { max: 5 });
  if (set) await migrate(sql, set);
  return {
    ...db,
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await db.drop();
    },
  };
}
