import { createSql } from './create-sql';
import { migrate } from './migrate';
import { checksumOf, type MigrationSet } from './migration';

/**
 * What `createTestDatabase({ template })` (in @meridian/testing) needs to clone test databases
 * from one migrated template per schema: a fingerprint that changes with any migration's SQL, and
 * the migration itself (closing its pool, since a template must have no open session).
 */
export function migrationTemplate(...sets: MigrationSet[]): { fingerprint: string; migrate(url: string): Promise<void> } {
  return {
    fingerprint: sets.map((set) => `${set.database}:${set.migrations.map((m) => `${m.name}=${checksumOf(m)}`).join(',')}`).join(';'),
    async migrate(url) {
      const sql = createSql(url, { max: 1, applicationName: 'meridian-test-template' });
      try {
        for (const set of sets) await migrate(sql, set);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}
