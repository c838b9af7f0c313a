import type { Config } from '@meridian/config';
import { createSql, databaseName, ensureDatabase, migrate, type DatabaseKind } from '@meridian/db';
import { siteMigrationSet } from './site-catalog';
import type { Logger } from '@meridian/logger';

export interface MigrateResult {
  database: DatabaseKind;
  name: string;
  created: boolean;
  applied: string[];
}

/**
 * `meridian db migrate`: creates (when missing) and migrates every database the configuration
 * names — main, geo tracking and topology — or only those listed in `only`.
 */
export async function migrateSite(
  config: Config,
  logger: Logger,
  only?: readonly DatabaseKind[],
): Promise<MigrateResult[]> {
  const targets: Array<[DatabaseKind, string]> = [
    ['main', config.DATABASE_URL],
    ['geo_tracking', config.GEO_TRACKING_DATABASE_URL],
    ['topology', config.TOPOLOGY_DATABASE_URL],
  ];
  const results: MigrateResult[] = [];
  for (const [kind, url] of targets) {
    if (only && !only.includes(kind)) continue;
    const created = await ensureDatabase(url);
    const sql = createSql(url, { max: 1, applicationName: 'meridian-migrate' });
    try {
      const { applied } = await migrate(sql, siteMigrationSet(kind), { logger, label: databaseName(url) });
      results.push({ database: kind, name: databaseName(url), created, applied });
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
  return results;
}
