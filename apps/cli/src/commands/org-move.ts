import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '@meridian/config';
import { createSql, type Sql } from '@meridian/db';
import type { ReplicatorDefinition } from '@meridian/geo';
import {
  doubleCheckJson,
  lapReport,
  NoCompletedLapError,
  OrganizationScopeError,
  readinessJson,
  readinessReport,
  runDoubleCheck,
  setMaintenance,
  type ReadinessReport,
  type TypeDoubleCheck,
} from '@meridian/org-move';
import { claimsModelStates, siteReplicators } from '@meridian/runtime';
import { printTable, UsageError, type CliIo } from '../io';

// `meridian geo double-check | geo laps` and `meridian org readiness | org maintenance`: an org
// move's cutover safety, run on the target site (a secondary: it holds the registries and reads
// the source's main database through its read-only view).

/** Ids printed per type without --json (the full list is in --json). */
const IDS_SHOWN = 20;
const EXIT_FOUND = 1;

interface Target {
  config: Config;
  main: Sql;
  tracking: Sql;
}

async function onTarget<T>(io: CliIo, run: (target: Target) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  if (config.SITE_ROLE !== 'secondary') throw new UsageError('this command runs on the target site: a secondary (SITE_ROLE=secondary, GEO_TRACKING_DATABASE_URL)');
  const main = createSql(config.DATABASE_URL, { max: 2, applicationName: 'meridian-cli' });
  const tracking = createSql(config.GEO_TRACKING_DATABASE_URL, { max: 2, applicationName: 'meridian-cli' });
  try {
    return await run({ config, main, tracking });
  } finally {
    await Promise.all([main.end({ timeout: 1 }), tracking.end({ timeout: 1 })]);
  }
}

function organizationId(value: string): bigint {
  if (!/^[1-9]\d{0,18}$/.test(value)) throw new InvalidArgumentError('expected a positive organization id');
  return BigInt(value);
}

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 365) throw new InvalidArgumentError('expected a number of hours in (0, 8760]');
  return n;
}

function typesFor(name: string | undefined): readonly ReplicatorDefinition[] {
  const all = siteReplicators();
  if (name === undefined) return all;
  if (name === 'all') return all;
  const found = all.filter((r) => r.name === name);
  if (found.length === 0) throw new UsageError(`unknown replicable "${name}" (known: ${all.map((r) => r.name).join(', ')}, or all)`);
  return found;
}

function printDoubleCheck(io: CliIo, results: readonly TypeDoubleCheck[]): void {
  for (const r of results) {
    const window = `${r.since.toISOString()} .. ${r.until.toISOString()}${r.windowSource === 'last_lap' ? ' (since the start of the last completed consistency lap)' : ''}`;
    io.out(`${r.type}: checked ${r.checked} rows created ${window}${r.organizationId ? ` in organization ${r.organizationId}` : ''}\n`);
    const verb = r.dryRun ? 'would create registries for' : 'created pending registries for';
    if (r.missingIds.length === 0) io.out('  missing: none\n');
    else {
      const shown = r.missingIds.slice(0, IDS_SHOWN).join(', ');
      io.out(`  missing: ${r.missingIds.length} (${verb} them): ${shown}${r.missingIds.length > IDS_SHOWN ? `, … (${r.missingIds.length - IDS_SHOWN} more, see --json)` : ''}\n`);
    }
    if (r.orphanedIds.length > 0) {
      const shown = r.orphanedIds.slice(0, IDS_SHOWN).join(', ');
      io.out(`  registries whose source row is gone (dropped deletes, reported only): ${r.orphanedIds.length}: ${shown}${r.orphanedIds.length > IDS_SHOWN ? ', …' : ''}\n`);
    }
  }
}

function printReadiness(io: CliIo, report: ReadinessReport): void {
  const m = report.maintenance;
  io.out(`organization ${report.organizationId}\n`);
  io.out(`maintenance mode: ${m.enabled ? `on since ${m.enabledAt!.toISOString()} (${m.enabledBy})` : 'off'}\n\n`);
  printTable(
    io,
    report.types.map((t) => ({
      type: t.type,
      rows: t.rows,
      unregistered: t.unregistered,
      pending: t.pending + t.started,
      failed: t.failed,
      synced: t.synced,
      verified: t.verified,
      'double check': t.doubleCheck ? `${t.doubleCheck.dryRun ? 'dry run, ' : ''}${t.doubleCheck.missing} missing, ${t.doubleCheck.open} open, ${Math.round(t.doubleCheck.ageMs / 60_000)} min ago` : 'never',
    })),
    false,
  );
  io.out('\n');
  printTable(
    io,
    report.claims.map((c) => ({
      'claims model': c.model,
      verification: c.enabled ? 'on' : 'off',
      'last pass': c.lastPass?.finishedAt,
      conflicts: c.lastPass?.conflicts,
    })),
    false,
  );
  for (const warning of report.warnings) io.out(`warning: ${warning}\n`);
  io.out(`\n${report.ready ? 'READY' : 'NOT READY'}\n`);
  for (const reason of report.reasons) io.out(`  - ${reason}\n`);
}

export function registerOrgMoveCommands(program: Command, io: CliIo): void {
  const geo = program.commands.find((c) => c.name() === 'geo');
  if (!geo) throw new Error('the geo command group must be registered first');

  geo
    .command('double-check')
    .description('org move: give rows created on the source in a window that have no registry here a pending registry (exit 1 when some were missing)')
    .requiredOption('--type <replicable>', 'a replicable name, or all')
    .option('--since-hours <hours>', 'the window (default: since the start of the last completed consistency lap)', hours)
    .option('--organization <id>', 'only rows of this organization', organizationId)
    .option('--dry-run', 'report only, create nothing')
    .option('--json', 'machine-readable output (every id)')
    .action(async (options: { type: string; sinceHours?: number; organization?: bigint; dryRun?: boolean; json?: boolean }) => {
      const types = typesFor(options.type);
      const results = await onTarget(io, async ({ main, tracking }) => {
        const bar = io.isTty && !options.json ? new SingleBar({ format: ' {type} |{bar}| {value}/{total} rows  {missing} missing', stream: process.stderr }, Presets.shades_classic) : undefined;
        let current: string | undefined;
        try {
          return await runDoubleCheck({
            main,
            tracking,
            replicators: types,
            sinceHours: options.sinceHours,
            organizationId: options.organization,
            dryRun: Boolean(options.dryRun),
            onProgress: (p) => {
              io.progress?.();
              if (!bar) return;
              if (current !== p.type) {
                if (current) bar.stop();
                bar.start(p.total, 0, { type: p.type.padEnd(22), missing: 0 });
                current = p.type;
              }
              bar.update(p.checked, { missing: p.missing });
            },
          });
        } catch (error) {
          if (error instanceof NoCompletedLapError || error instanceof OrganizationScopeError) throw new UsageError(error.message);
          throw error;
        } finally {
          bar?.stop();
        }
      });
      if (options.json) io.out(`${JSON.stringify(doubleCheckJson(results), null, 2)}\n`);
      else printDoubleCheck(io, results);
      if (results.some((r) => r.missingIds.length > 0)) io.exitCode = EXIT_FOUND;
    });

  geo
    .command('laps')
    .description('per type: the last complete consistency lap (start, end, duration, registries created and removed) and the current lap\'s progress')
    .option('--type <replicable>', 'one replicable (default: all)')
    .option('--json', 'machine-readable output')
    .action(async (options: { type?: string; json?: boolean }) => {
      const types = typesFor(options.type);
      const laps = await onTarget(io, ({ main, tracking }) => lapReport(main, tracking, types));
      printTable(
        io,
        laps.map((l) => ({
          type: l.type,
          'last lap started': l.last?.startedAt,
          'last lap finished': l.last?.finishedAt,
          'duration s': l.last ? Math.round(l.last.durationMs / 100) / 10 : undefined,
          created: l.last?.created,
          removed: l.last?.removed,
          'current lap': `${(l.current.fraction * 100).toFixed(1)} %`,
          'current started': l.current.startedAt,
        })),
        Boolean(options.json),
      );
    });

  const org = program.command('org').description('org moves: maintenance mode and the cutover readiness report');
  org
    .command('readiness <organization-id>')
    .description('one report before a cutover: registries, the last double check, claims verification, maintenance mode; exits 0 only when READY')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const organization = parseOrganization(id);
      const report = await onTarget(io, async ({ main, tracking }) =>
        readinessReport({ main, tracking, replicators: siteReplicators(), organizationId: organization, claims: await claimsModelStates(main) }),
      );
      if (options.json) io.out(`${JSON.stringify(readinessJson(report), null, 2)}\n`);
      else printReadiness(io, report);
      if (!report.ready) io.exitCode = 1;
    });
  org
    .command('maintenance <organization-id> <state>')
    .description('on the source (primary): put an organization in maintenance mode for its cutover (on) or take it out (off)')
    .action(async (id: string, state: string) => {
      const organization = parseOrganization(id);
      if (state !== 'on' && state !== 'off') throw new UsageError('state must be on or off');
      const config = loadConfig(io.env);
      if (config.SITE_ROLE !== 'primary') throw new UsageError('maintenance mode is set on the source site: a primary (SITE_ROLE=primary)');
      const main = createSql(config.DATABASE_URL, { max: 1, applicationName: 'meridian-cli' });
      try {
        await setMaintenance(main, organization, state === 'on', `cli@${config.SITE_NAME}`);
      } finally {
        await main.end({ timeout: 1 });
      }
      io.out(`organization ${organization}: maintenance mode ${state}\n`);
    });
}

function parseOrganization(value: string): bigint {
  try {
    return organizationId(value);
  } catch (error) {
    throw new UsageError(`organization id: ${(error as Error).message}`);
  }
}
