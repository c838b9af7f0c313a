import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '@meridian/config';
import { createSql, type Sql } from '@meridian/db';
import { collectGeoStatus, selectiveSyncOrganizations, setSelectiveSyncOrganizations, type GeoStatusSnapshot, type TypeSnapshot } from '@meridian/geo';
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

const num = (value: number | null | undefined) => (value === null || value === undefined ? '-' : value);
const percent = (value: number | null | undefined) => (value === null || value === undefined ? '-' : value.toFixed(2));

/** Checksummed share of a primary type (not an upstream field: derived for the table only). */
function checksummedPercentage(t: TypeSnapshot): number | null {
  const total = t.values._checksum_total_count;
  const done = t.values._checksummed_count;
  if (typeof total !== 'number' || typeof done !== 'number') return null;
  return total === 0 ? 0 : Math.floor((done / total) * 10_000) / 100;
}

/** `--json`: the declared fields of the role (upstream names), flat, plus each secondary's report on a primary. */
function statusJson(status: GeoStatusSnapshot): Record<string, unknown> {
  const failed = status.sources.filter((s) => !s.ok);
  return {
    site: status.site,
    role: status.role,
    ...status.fields,
    ...(status.role === 'primary'
      ? {
          secondaries: status.secondaries.map((s) => ({ site: s.site, reported_at: s.reportedAt, ...s.fields })),
        }
      : {}),
    ...(failed.length > 0 ? { sources_failed: failed.map((s) => ({ source: s.name, error: s.error })) } : {}),
  };
}

/** A primary has no registries: rows, checksums, outbox events and each secondary's last report. */
function printPrimaryTable(io: CliIo, status: GeoStatusSnapshot): void {
  io.out(`primary site ${status.site}: what this primary holds (sync progress is on each secondary: run this there)\n\n`);
  printTable(
    io,
    status.types.map((t) => ({
      type: t.title,
      rows: num(t.values._count),
      checksummed: num(t.values._checksummed_count),
      'checksum failed': num(t.values._checksum_failed_count),
      'events in outbox': num(t.values._events_count),
      'checksummed %': t.verificationEnabled === false ? 'off' : percent(checksummedPercentage(t)),
    })),
    false,
  );
  io.out(`\nnewest event id: ${num(status.site_fields.event_log_max_id)}\n`);
  if (status.secondaries.length === 0) io.out('secondaries: none has reported yet\n');
  for (const s of status.secondaries) {
    const f = s.fields;
    io.out(
      `secondary ${s.site}: event cursor ${num(f.cursor_event_id)} of ${num(status.site_fields.event_log_max_id)} (${num(f.events_behind)} behind), reported ${num(f.report_age_seconds)} s ago, ${f.healthy === 1 ? 'Healthy' : 'Unhealthy'}\n`,
    );
  }
}

function printSecondaryTable(io: CliIo, status: GeoStatusSnapshot): void {
  printTable(
    io,
    status.types.map((t) => {
      const v = t.values;
      const off = t.verificationEnabled === false ? 'off' : undefined;
      return {
        type: t.title,
        primary: num(v._count),
        registry: num(v._registry_count),
        pending: num(v._pending_count),
        started: num(v._started_count),
        synced: num(v._synced_count),
        failed: num(v._failed_count),
        'synced %': percent(v._synced_in_percentage),
        verified: off ?? num(v._verified_count),
        'verified %': off ?? percent(v._verified_in_percentage),
        'verification failed': off ?? num(v._verification_failed_count),
      };
    }),
    false,
  );
  const f = status.site_fields;
  io.out(
    `\nevent cursor: ${num(f.cursor_last_event_id)} of ${num(f.event_log_max_id)} (${num(f.cursor_lag_events)} behind, ${num(f.cursor_lag_seconds === null ? null : Math.round(f.cursor_lag_seconds ?? 0))} s); open gaps ${num(f.event_gaps_open)}, dropped ${num(f.event_gaps_dropped)}\n`,
  );
}

export function registerGeoCommands(program: Command, io: CliIo): void {
  const geo = program.command('geo').description('Geo replication: status, selective sync, laps, secondary sites, registries');
  registerGeoRegistriesCommands(geo, io);

  geo
    .command('status')
    .description('per type: counts, synced and verified %, failures (secondary) or checksums (primary); event cursor lag')
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
        const status = await collectGeoStatus({
          role: db.config.SITE_ROLE,
          siteName: db.config.SITE_NAME,
          replicators: siteReplicators(),
          mainSql: db.main,
          trackingSql: db.tracking,
        });
        if (options.json) io.out(`${JSON.stringify(statusJson(status), null, 2)}\n`);
        else if (status.role === 'primary') printPrimaryTable(io, status);
        else printSecondaryTable(io, status);
        const failed = status.sources.filter((s) => !s.ok);
        // the figures of every other source are printed above; the command still says it is incomplete
        if (failed.length > 0) throw new Error(`status incomplete: ${failed.map((s) => `${s.name} (${s.error ?? 'failed'})`).join(', ')}`);
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
