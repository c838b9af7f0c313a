import type { Command } from 'commander';
import { loadConfig } from '@meridian/config';
import { createSql } from '@meridian/db';
import { printTable, type CliIo } from '../io';

export function registerStatusCommand(program: Command, io: CliIo): void {
  program
    .command('status')
    .description("this site's liveness: when its scheduler and workers last beat")
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig(io.env);
      const url = config.SITE_ROLE === 'primary' ? config.DATABASE_URL : config.GEO_TRACKING_DATABASE_URL;
      const sql = createSql(url, { max: 1, applicationName: 'meridian-cli' });
      try {
        const rows = await sql<{ site_name: string; role: string; beat_at: Date; age_s: number }[]>`
          select site_name, role, beat_at, extract(epoch from now() - beat_at)::int as age_s
          from site_heartbeats order by site_name`;
        printTable(
          io,
          rows.map((r) => ({ site: r.site_name, role: r.role, last_beat: r.beat_at, age_s: r.age_s, healthy: r.age_s < 120 })),
          Boolean(options.json),
        );
      } finally {
        await sql.end({ timeout: 1 });
      }
    });
}
