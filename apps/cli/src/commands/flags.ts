import type { Command } from 'commander';
import { loadConfig } from '@meridian/config';
import { createSql, listFlags, setFlag, type Sql } from '@meridian/db';
import { siteFlags } from '@meridian/runtime';
import { printTable, type CliIo } from '../io';

async function withMainDb<T>(io: CliIo, run: (sql: Sql) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  const sql = createSql(config.DATABASE_URL, { max: 1, applicationName: 'meridian-cli' });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export function registerFlagCommands(program: Command, io: CliIo): void {
  const flags = program.command('flags').description('feature flags (stored in the main database)');

  flags
    .command('list')
    .description('every declared flag with its state')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const states = await withMainDb(io, (sql) => listFlags(sql, siteFlags()));
      printTable(
        io,
        states.map((s) => ({ name: s.name, enabled: s.enabled, default: s.defaultEnabled, overridden: s.overridden, description: s.description })),
        Boolean(options.json),
      );
    });

  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    flags
      .command(`${verb} <name>`)
      .description(`${verb} a flag on this site`)
      .action(async (name: string) => {
        await withMainDb(io, (sql) => setFlag(sql, siteFlags(), name, enabled));
        io.out(`${name}: ${enabled ? 'enabled' : 'disabled'}\n`);
      });
  }
}
