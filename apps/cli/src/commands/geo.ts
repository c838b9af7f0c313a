import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '@meridian/config';
import { createSql, type Sql } from '@meridian/db';
import { cursorStatus, primaryStatus, primaryStatusFields, selectiveSyncOrganizations, setSelectiveSyncOrganizations, statusFields, typeStatuses } from '@meridian/geo';
import type { PrimaryStatus } from '@meridian/geo';
import { siteReplicators } from '@meridian/runtime';
import { printTable, UsageError, type CliIo } from '../io';
import { watchGeoProgress } from '../geo-progress';
import { registerGeoRegistriesCommands } from './geo-registries';

interface Databases {
  config: Config;
  main: Sql;
  tracking: Sql | undefined;
}

async function withDatabases<T>(io: CliIo, run: (db: Databases) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  const main = createSql(config.DATABASE_URL, { max: 2, applicationName: 'meridian-cli' });
  const tracking = config.SITE_ROLE === 'secondary' ? createSql(config.GEO_TRACKING_DATABASE_URL, { max: 2, applicationName: 'meridian-cli' }) : undefined;
  try {
    return await run({ config, main, tracking });
  } finally {
    await Promise.all([main.end({ timeout: 1 }), tracking?.end({ timeout: 1 })]);
  }
}

function requireSecondary(db: Databases): Sql {
  if (!db.tracking) throw new UsageError('this command runs against a secondary site (set SITE_ROLE=secondary and GEO_TRACKING_DATABASE_URL)');
  return db.tracking;
}

function parseIds(value: string): bigint[] {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0 || parts.some((p) => !/^[1-9]\d{0,18}$/.test(p))) throw new UsageError('expected comma-separated positive organization ids');
  return parts.map((p) => BigInt(p));
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

/** A primary has no registries: it reports rows, checksums, outbox events and each secondary's last report. */
function printPrimaryStatus(io: CliIo, config: Config, status: PrimaryStatus, json: boolean): void {
  const now = Date.now();
  if (json) {
    const fields = Object.assign({}, ...status.types.map(primaryStatusFields)) as Record<string, number>;
    const out = {
      site: config.SITE_NAME,
      role: config.SITE_ROLE,
      ...fields,
      event_log_max_id: Number(status.newestEventId),
      secondaries: status.secondaries.map((s) => ({
        site: s.siteName,
        cursor_event_id: Number(s.cursorEventId),
        events_behind: Number(status.newestEventId - s.cursorEventId),
        reported_at: s.reportedAt.toISOString(),
      })),
    };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  io.out(`primary site ${config.SITE_NAME}: what this primary holds (sync progress is on each secondary: run this there)\n\n`);
  printTable(
    io,
    status.types.map((t) => ({ type: t.title, rows: t.count, checksummed: t.checksummed, 'checksum failed': t.checksumFailed, 'events in outbox': t.events })),
    false,
  );
  io.out(`\nnewest event id: ${status.newestEventId}\n`);
  if (status.secondaries.length === 0) io.out('secondaries: none has reported yet\n');
  for (const s of status.secondaries) {
    const age = Math.max(0, Math.round((now - s.reportedAt.getTime()) / 1000));
    io.out(`secondary ${s.siteName}: event cursor ${s.cursorEventId} of ${status.newestEventId} (${status.newestEventId - s.cursorEventId} behind), reported ${age} s ago\n`);
  }
}

export function registerGeoCommands(program: Command, io: CliIo): void {
  const geo = program.command('geo').description('Geo replication: status, selective sync, laps, secondary sites, registries');
  registerGeoRegistriesCommands(geo, io);

  geo
    .command('status')
    .description('per type: primary count, registry count, pending, started, synced, failed, synced %')
    .option('--json', 'machine-readable output (upstream field names)')
    .option('--watch', 'show progress bars until every type is 100 % synced')
    .option('--timeout <seconds>', 'with --watch: give up (exit 1) after this long', positiveSeconds, 600)
    .action(async (options: { json?: boolean; watch?: boolean; timeout: number }) => {
      await withDatabases(io, async (db) => {
        if (options.watch) {
          const done = await watchGeoProgress({
            replicators: siteReplicators(),
            main: db.main,
            tracking: requireSecondary(db),
            timeoutMs: options.timeout * 1000,
            tty: io.isTty,
            write: io.out,
          });
          if (!done) throw new Error(`not converged after ${options.timeout} s`);
          return;
        }
        if (!db.tracking) {
          printPrimaryStatus(io, db.config, await primaryStatus(siteReplicators(), db.main), Boolean(options.json));
          return;
        }
        const statuses = await typeStatuses(siteReplicators(), db.main, db.tracking);
        const cursor = await cursorStatus({ mainSql: db.main, trackingSql: db.tracking });
        if (options.json) {
          const fields = Object.assign({}, ...statuses.map(statusFields)) as Record<string, number>;
          const out = {
            site: db.config.SITE_NAME,
            role: db.config.SITE_ROLE,
            ...fields,
            ...(cursor
              ? { cursor_last_event_id: Number(cursor.lastEventId), event_log_max_id: Number(cursor.primaryMaxEventId), event_gaps_open: cursor.openGaps, event_gaps_dropped: Number(cursor.gapsDropped) }
              : {}),
          };
          io.out(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        printTable(
          io,
          statuses.map((s) => ({
            type: s.title,
            primary: s.count,
            registry: s.registryCount,
            pending: s.pending,
            started: s.started,
            synced: s.synced,
            failed: s.failed,
            'synced %': s.syncedInPercentage.toFixed(2),
          })),
          false,
        );
        if (cursor) {
          io.out(`\nevent cursor: ${cursor.lastEventId} of ${cursor.primaryMaxEventId}; open gaps ${cursor.openGaps}, dropped ${cursor.gapsDropped}\n`);
        }
      });
    });

  const selective = geo.command('selective-sync').description("this secondary's organization scope (empty = everything)");
  selective
    .command('show')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      await withDatabases(io, async (db) => {
        const ids = await selectiveSyncOrganizations(requireSecondary(db));
        if (options.json) io.out(`${JSON.stringify({ organizationIds: ids.map(Number) })}\n`);
        else io.out(ids.length ? `organizations: ${ids.join(', ')}\n` : 'every organization (no selective sync)\n');
      });
    });
  selective
    .command('set <organizationIds>')
    .description('replicate only these organizations (comma-separated ids); blobs outside are removed')
    .action(async (value: string) => {
      const ids = parseIds(value);
      await withDatabases(io, (db) => setSelectiveSyncOrganizations(requireSecondary(db), ids));
      io.out(`selective sync: organizations ${ids.join(', ')}; the consistency job applies it on its next pass\n`);
    });
  selective
    .command('clear')
    .description('replicate every organization again')
    .action(async () => {
      await withDatabases(io, (db) => setSelectiveSyncOrganizations(requireSecondary(db), []));
      io.out('selective sync cleared: every organization replicates\n');
    });

  const sites = geo.command('sites').description('secondaries known to this primary (they gate event pruning)');
  sites
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      await withDatabases(io, async (db) => {
        const rows = await db.main<{ site_name: string; cursor_event_id: bigint; reported_at: Date }[]>`
          select site_name, cursor_event_id, reported_at from geo_secondary_sites order by site_name`;
        printTable(io, rows.map((r) => ({ site: r.site_name, cursor: r.cursor_event_id, reported: r.reported_at })), Boolean(options.json));
      });
    });
  sites
    .command('remove <site>')
    .description('forget a secondary for good (its stale report no longer blocks pruning)')
    .action(async (site: string) => {
      const removed = await withDatabases(io, (db) => db.main`delete from geo_secondary_sites where site_name = ${site}`);
      if (removed.count === 0) throw new UsageError(`no secondary named "${site}"`);
      io.out(`removed ${site}\n`);
    });
}
