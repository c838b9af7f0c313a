import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import {
  listPasses,
  loadCursor,
  runVerification,
  verificationFlagName,
  VERIFICATION_STAGGER_MS,
  type Claimable,
  type Claims,
  type RunResult,
  type VerificationConflict,
} from '@meridian/claims';
import { loadConfig, type Config } from '@meridian/config';
import { createSql, isFlagEnabled } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { nextCronTime } from '@meridian/queue';
import { openClaims } from '@meridian/runtime';
import { printTable, UsageError, type CliIo } from '../io';

// `meridian claims verify | schedule | passes`: run a verification now, see when the weekly one
// runs, read the recorded passes.

async function withClaims<T>(io: CliIo, run: (claims: Claims, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  const sql = createSql(config.DATABASE_URL, { max: 4, applicationName: 'meridian-cli' });
  try {
    return await run(openClaims(config, sql, createSilentLogger()), config);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function modelsFor(claims: Claims, name: string): Claimable[] {
  if (name === 'all') return [...claims.models];
  const model = claims.models.find((m) => m.name === name || m.verificationName === name);
  if (!model) throw new UsageError(`unknown claimable model "${name}" (one of: all, ${claims.models.map((m) => m.name).join(', ')})`);
  return [model];
}

async function scopeSize(claims: Claims, model: Claimable): Promise<number> {
  const sql = claims.sql;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::float8 as n from ${sql(model.table)} where ${model.scope ? sql.unsafe(`(${model.scope})`) : sql`true`}`;
  return row?.n ?? 0;
}

function summary(result: RunResult) {
  return {
    model: result.model,
    status: result.status === 'skipped' ? `skipped: ${result.reason ?? ''}` : result.status,
    rows: result.counts.rows,
    created: result.counts.created,
    destroyed: result.counts.destroyed,
    replaced: result.counts.replaced,
    conflicts: result.counts.conflicts,
    skipped_recent: result.counts.skippedRecent,
  };
}

export function registerClaimsCommands(program: Command, io: CliIo): void {
  const claims = program.command('claims').description('Cells claims: verification against the Topology Service');

  claims
    .command('verify <model>')
    .description('verify a claimable model (or all) now: create missing claims, destroy orphaned ones, replace changed ones; exits 1 on conflicts')
    .option('--dry-run', 'report what would change, change nothing')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { dryRun?: boolean; json?: boolean }) => {
      await withClaims(io, async (context) => {
        if (!context.client) throw new UsageError('claims verification needs a primary with TOPOLOGY_CELL_CREDENTIAL (and TOPOLOGY_SERVICE_URL, CELL_ID)');
        const results: RunResult[] = [];
        const conflicts: VerificationConflict[] = [];
        for (const model of modelsFor(context, name)) {
          const bar = io.isTty && !options.json ? new SingleBar({ format: ` ${model.name.padEnd(22)} |{bar}| {value}/{total} rows  {created} created  {destroyed} destroyed`, stream: process.stderr }, Presets.shades_classic) : undefined;
          bar?.start(await scopeSize(context, model), 0, { created: 0, destroyed: 0 });
          try {
            const result = await runVerification(context, model.name, {
              budgetMs: Infinity,
              fromStart: true,
              trigger: 'cli',
              dryRun: Boolean(options.dryRun),
              onProgress: (p) => {
                io.progress?.();
                bar?.update(p.total.rows, { created: p.total.created, destroyed: p.total.destroyed });
              },
            });
            results.push(result);
            conflicts.push(...result.conflicts);
          } finally {
            bar?.stop();
          }
        }
        if (options.json) io.out(`${JSON.stringify({ dryRun: Boolean(options.dryRun), models: results.map(summary), conflicts }, null, 2)}\n`);
        else {
          if (options.dryRun) io.out('dry run: nothing was changed\n');
          printTable(io, results.map(summary), false);
          if (conflicts.length > 0) {
            io.out('\nconflicts (values held by another claim; they need an operator):\n');
            printTable(io, conflicts.map((c) => ({ model: c.model, record_id: c.recordId, bucket: c.bucketType, value: c.value, owning_cell: c.owningCell ?? 'unknown (open lease)' })), false);
          }
        }
        if (conflicts.length > 0) throw new Error(`${conflicts.length} conflict(s) need an operator`);
      });
    });

  claims
    .command('schedule')
    .description('when the weekly verification starts (or started), and per model its flag, pass in progress, last pass and slot')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      await withClaims(io, async (context, config) => {
        const now = new Date();
        const windowMs = config.CLAIMS_VERIFICATION_WINDOW_MS;
        // the latest start at or before now (if its window is still open) and the next one
        let previous: Date | undefined;
        let t = nextCronTime(config.CLAIMS_VERIFICATION_CRON, new Date(now.getTime() - 8 * 24 * 3_600_000));
        while (t.getTime() <= now.getTime()) {
          previous = t;
          t = nextCronTime(config.CLAIMS_VERIFICATION_CRON, t);
        }
        const open = previous !== undefined && now.getTime() < previous.getTime() + windowMs;
        const windowStart = open ? previous! : t;
        const passes = await listPasses(context.sql, { limit: 10_000 });
        const models = [];
        for (const [index, model] of context.models.entries()) {
          const flag = verificationFlagName(model.verificationName);
          const last = passes.find((p) => p.model === model.name);
          const cursor = await loadCursor(context.sql, model.name);
          models.push({
            model: model.name,
            flag,
            enabled: await isFlagEnabled(context.sql, { name: flag, description: '', defaultEnabled: false }),
            in_progress: cursor ? `after id ${cursor.lastId ?? '-'} (${cursor.rows} rows)` : '-',
            last_pass: last?.finishedAt,
            slot: `start + ${(index * VERIFICATION_STAGGER_MS) / 60_000} min`,
          });
        }
        const window = { cron: config.CLAIMS_VERIFICATION_CRON, windowStart, windowEnd: new Date(windowStart.getTime() + windowMs), open, claimsOn: Boolean(context.client && (await context.state())) };
        if (options.json) {
          io.out(`${JSON.stringify({ ...window, models }, null, 2)}\n`);
          return;
        }
        io.out(
          `weekly verification (${window.cron} UTC): ${open ? 'started' : 'starts'} at a random moment between ${window.windowStart.toISOString()} and ${window.windowEnd.toISOString()}` +
            `${window.claimsOn ? '' : ' (claims are off on this site: nothing will run)'}\n\n`,
        );
        printTable(io, models, false);
      });
    });

  claims
    .command('passes')
    .description('recorded verification passes, newest first')
    .option('--model <model>', 'only this model')
    .option('--json', 'machine-readable output')
    .action(async (options: { model?: string; json?: boolean }) => {
      await withClaims(io, async (context) => {
        const model = options.model === undefined || options.model === 'all' ? undefined : modelsFor(context, options.model)[0]!.name;
        const passes = await listPasses(context.sql, { model });
        printTable(
          io,
          passes.map((p) => ({
            model: p.model,
            trigger: p.trigger,
            started_at: p.startedAt,
            finished_at: p.finishedAt,
            rows: p.rows,
            created: p.counts.created,
            destroyed: p.counts.destroyed,
            replaced: p.counts.replaced,
            conflicts: p.counts.conflicts,
            skipped_recent: p.counts.skippedRecent,
            ...(options.json ? { drift: p.counts.drift } : {}),
          })),
          Boolean(options.json),
        );
      });
    });
}
