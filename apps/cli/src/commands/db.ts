import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadConfig } from '@meridian/config';
import { createSql, databaseName, pendingMigrations, type DatabaseKind } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { migrateSite, siteMigrationSet } from '@meridian/runtime';
import { printTable, type CliIo } from '../io';

const KINDS: DatabaseKind[] = ['main', 'geo_tracking', 'topology'];

function parseOnly(value: string): DatabaseKind[] {
  const kinds = value.split(',').map((v) => v.trim());
  for (const kind of kinds) {
    if (!KINDS.includes(kind as DatabaseKind)) throw new InvalidArgumentError(`expected a list of ${KINDS.join(', ')}`);
  }
  return kinds as DatabaseKind[];
}

export function registerDbCommands(program: Command, io: CliIo): void {
  const db = program.command('db').description('database migrations');

  db.command('migrate')
    .description('create (when missing) and migrate every database the configuration names')
    .option('--only <databases>', `comma-separated subset of ${KINDS.join(',')}`, parseOnly)
    .option('--json', 'machine-readable output')
    .action(async (options: { only?: DatabaseKind[]; json?: boolean }) => {
      const config = loadConfig(io.env);
      const logger = createLogger({ name: 'cli', level: options.json ? 'warn' : config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
      const results = await migrateSite(config, logger, options.only);
      printTable(
        io,
        results.map((r) => ({ database: r.database, name: r.name, created: r.created, applied: options.json ? r.applied : r.applied.length })),
        Boolean(options.json),
      );
    });

  db.command('status')
    .description('pending migrations per database')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig(io.env);
      const urls: Record<DatabaseKind, string> = {
        main: config.DATABASE_URL,
        geo_tracking: config.GEO_TRACKING_DATABASE_URL,
        topology: config.TOPOLOGY_DATABASE_URL,
      };
      const rows = [];
      for (const kind of KINDS) {
        const sql = createSql(urls[kind], { max: 1 });
        try {
          const pending = await pendingMigrations(sql, siteMigrationSet(kind));
          rows.push({ database: kind, name: databaseName(urls[kind]), pending: pending.length, state: pending.length ? 'needs migrate' : 'up to date' });
        } catch (error) {
          rows.push({ database: kind, name: databaseName(urls[kind]), pending: '?', state: (error as Error).message });
        } finally {
          await sql.end({ timeout: 1 });
        }
      }
      printTable(io, rows, Boolean(options.json));
      // a missing, unreachable or unmigrated database is a failure scripts must see
      if (rows.some((row) => row.pending !== 0)) {
        io.err(`meridian: ${rows.filter((row) => row.pending !== 0).map((row) => `${row.database} ${row.state}`).join('; ')}\n`);
        io.exitCode = 1;
      }
    });
}
