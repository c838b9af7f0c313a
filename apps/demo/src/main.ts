import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@meridian/config';
import { databaseUrl, ensureServices, freePort, NoServiceError, portAnswers } from '@meridian/dev-services';
import { createLogger } from '@meridian/logger';
import { watchGeoProgress } from '@meridian/cli';
import { waitForVerification } from './verification-wait';
import { createSql } from '@meridian/db';
import { migrateSite, siteReplicators } from '@meridian/runtime';
import { createFilesystemStorage } from '@meridian/storage';
import { seedPrimary } from './seed';
import { enableClaims, prepareCell2, runClaimsDemo } from './claims-demo';
import { cliEnvironment, demoProcesses, type DemoCell, type DemoSettings } from './demo-processes';
import { earlierSeed, removeStateDir, resetDemo } from './demo-state';
import { startProcesses, waitUntilReady } from './supervisor';

const USAGE = `Usage: npm run demo -- [options]

Starts a primary site (cell 1), a secondary site, the Topology Service, their schedulers, workers
and site APIs (with Bull Board) on embedded defaults, and stops everything on Ctrl-C. Claims are
on: it signs up users in cell 1 and in a second cell (cell 2, a database this process writes),
shows a username both want refused in cell 2, and seeds a drift for \`claims verify all\`.

Options:
  --exit-when-converged  exit 0 once the secondary has every blob of every type synced and verified
                         (checksummed on the primary, the copy's SHA-256 equal on the secondary)
  --timeout <s>          give up (exit 1) when not ready/converged within s seconds (default 120)
  --no-seed              do not write demo data (blobs, users) to the cells
  --smoke                start everything, check every process answers, then stop (exit 0)
  --reset                remove what earlier demo runs created (databases, Redis keys, files), then exit
  -h, --help             this text
`;

const root = path.resolve(__dirname, '../../..');
// MERIDIAN_DEMO_NAME isolates a demo's databases, key prefixes and state (the smoke test uses it).
const demoName = process.env.MERIDIAN_DEMO_NAME ?? 'demo';
const stateDir = path.join(root, '.meridian', demoName);

async function choosePort(preferred: number): Promise<number> {
  if (process.env.MERIDIAN_DEMO_PORTS === 'auto') return freePort();
  return (await portAnswers('127.0.0.1', preferred, 300)) ? freePort() : preferred;
}

/** `env KEY=value …` for the CLI to act as one demo site (every command reads the same variables). */
function cliLine(settings: DemoSettings, site: DemoCell): string {
  return `env ${Object.entries(cliEnvironment(settings, site)).map(([key, value]) => `${key}=${value}`).join(' ')}`;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        smoke: { type: 'boolean' },
        reset: { type: 'boolean' },
        'exit-when-converged': { type: 'boolean' },
        'no-seed': { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const timeoutS = Number(args.timeout ?? 120);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    process.stderr.write(`demo: --timeout must be a positive number of seconds\n\n${USAGE}`);
    return 2;
  }

  let services;
  try {
    services = await ensureServices({ env: process.env, dataDir: path.join(stateDir, 'services') });
  } catch (error) {
    // ensureServices stopped whatever it had started; NoServiceError carries the fix
    const stopped = error instanceof NoServiceError && error.stopped.length > 0 ? ` (stopped again: ${error.stopped.map((url) => `${new URL(url).protocol}//${new URL(url).host}`).join(', ')})` : '';
    process.stderr.write(`demo: ${error instanceof NoServiceError ? error.message : String(error)}${stopped}\n`);
    return 1;
  }
  const settings: DemoSettings = {
    root: stateDir,
    name: demoName,
    redisUrl: services.redisUrl,
    databases: {
      main: databaseUrl(services.postgresUrl, `meridian_${demoName}_main`),
      tracking: databaseUrl(services.postgresUrl, `meridian_${demoName}_geo_tracking`),
      topology: databaseUrl(services.postgresUrl, `meridian_${demoName}_topology`),
      cell2Main: databaseUrl(services.postgresUrl, `meridian_${demoName}_cell2_main`),
    },
    ports: { primary: await choosePort(3000), secondary: await choosePort(3001), topology: await choosePort(9090), cell2: await choosePort(3002) },
    secrets: {
      adminToken: `admin-${randomBytes(12).toString('hex')}`,
      viewerToken: `viewer-${randomBytes(12).toString('hex')}`,
      geoSharedSecret: randomBytes(32).toString('hex'),
      topologyCellToken: `cell-1-${randomBytes(12).toString('hex')}`,
      topologyCell2Token: `cell-2-${randomBytes(12).toString('hex')}`,
      topologyAdminToken: `topology-admin-${randomBytes(12).toString('hex')}`,
      topologyRouterToken: `topology-router-${randomBytes(12).toString('hex')}`,
    },
    logLevel: process.env.LOG_LEVEL ?? 'info',
  };
  for (const note of services.notes) process.stdout.write(`• ${note}\n`);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  if (args.reset) {
    try {
      await resetDemo(settings, say);
    } finally {
      await services.stop();
    }
    removeStateDir(stateDir, say);
    say('demo state removed: the next `npm run demo` starts clean.');
    return 0;
  }

  const config = loadConfig({
    DATABASE_URL: settings.databases.main,
    GEO_TRACKING_DATABASE_URL: settings.databases.tracking,
    TOPOLOGY_DATABASE_URL: settings.databases.topology,
  });
  let reused: Map<string, number>;
  try {
    const migrateLogger = createLogger({ name: 'demo', level: 'warn' });
    const results = [...(await migrateSite(config, migrateLogger)), await prepareCell2(settings, migrateLogger)];
    for (const r of results) {
      say(`• database ${r.name}: ${r.created ? 'created, ' : ''}${r.applied.length} migration(s) applied`);
    }
    const probe = createSql(settings.databases.main, { max: 1, applicationName: 'meridian-demo' });
    try {
      reused = await earlierSeed(probe);
    } finally {
      await probe.end({ timeout: 1 });
    }
    await enableClaims(settings);
    say('• claims on in cell 1 and cell 2 (flags cells_unique_claims and cells_claims_verification_worker_*)');
  } catch (error) {
    process.stderr.write(`demo: cannot prepare the demo databases: ${(error as Error).message}\n`);
    await services.stop();
    return 1;
  }
  if (reused.size > 0) {
    say(`• reusing the demo state of an earlier run (${siteReplicators().filter((r) => reused.has(r.name)).map((r) => `${reused.get(r.name)} ${r.titles.plural}`).join(', ')}): not seeding again; \`npm run demo -- --reset\` starts clean`);
  }

  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  const logDir = path.join(stateDir, 'logs');
  let gaveUp = false;
  const supervisor = startProcesses(demoProcesses(settings), {
    root,
    logDir,
    onRestart: (p, code, delayMs) => {
      process.stderr.write(`\n↻ ${p.spec.name} exited (${code}); restarting in ${(delayMs / 1000).toFixed(0)} s (restart ${p.restarts + 1}). Last lines of ${p.logFile}:\n${p.tail().slice(-5).join('\n')}\n`);
    },
    onGiveUp: (p, code) => {
      process.stderr.write(`\n✗ ${p.spec.name} keeps exiting (${code}); giving up. Last lines of ${p.logFile}:\n${p.tail().join('\n')}\n`);
      gaveUp = true;
      exitCode = 1;
      void stop();
    },
  });
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.stdout.write('\nstopping every process…\n');
      await supervisor.stopAll(20_000);
      await services.stop();
      process.stdout.write('stopped.\n');
    })();
    return stopping;
  };
  // read through a function: TypeScript would otherwise narrow `stopping` to its value at the check above
  const currentStop = (): Promise<void> | undefined => stopping;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
  // Started by scripts/bootstrap.mjs (npm run demo): when that parent dies, stop everything.
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => void stop());
  }

  try {
    await Promise.all(supervisor.processes.map((p) => waitUntilReady(p, timeoutS * 1_000, () => gaveUp)));
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    await stop();
    return 1;
  }
  if (stopping) {
    await stopping;
    return exitCode || 1;
  }

  const { ports, secrets } = settings;
  const topology = supervisor.processes.some((p) => p.spec.name === 'topology-service');
  process.stdout.write(`
Meridian demo is up (${supervisor.processes.length} processes, logs in ${path.relative(process.cwd(), logDir)}/)

  primary site (cell 1)   http://127.0.0.1:${ports.primary}
    Bull Board            http://127.0.0.1:${ports.primary}/admin/queues
    metrics               http://127.0.0.1:${ports.primary}/metrics
  secondary site          http://127.0.0.1:${ports.secondary}
    Bull Board            http://127.0.0.1:${ports.secondary}/admin/queues
    metrics               http://127.0.0.1:${ports.secondary}/metrics
${topology ? `  topology service        http://127.0.0.1:${ports.topology}  (health /healthz, metrics /metrics)
    credentials           cell 1: ${secrets.topologyCellToken}   cell 2: ${secrets.topologyCell2Token}   admin: ${secrets.topologyAdminToken}\n` : ''}
  Bull Board login        user admin,  password ${secrets.adminToken}   (full access)
                          user viewer, password ${secrets.viewerToken}  (read-only)

  CLI as the secondary:   ${cliLine(settings, 'secondary')} npm run meridian -- geo status
  CLI as the primary:     ${cliLine(settings, 'primary')} npm run meridian -- geo status
  CLI as cell 2:          ${cliLine(settings, 'cell-2')} npm run meridian -- claims passes

Press Ctrl-C to stop everything.

`);
  if (args.smoke) {
    await stop();
    return exitCode;
  }

  // The primary's application writes blobs; the secondary replicates them.
  const primaryStorage = createFilesystemStorage(path.join(stateDir, 'storage', 'primary'));
  const main = createSql(settings.databases.main, { max: 2, applicationName: 'meridian-demo' });
  const tracking = createSql(settings.databases.tracking, { max: 2, applicationName: 'meridian-demo' });
  try {
    if (!args['no-seed'] && topology) {
      try {
        const { refused } = await runClaimsDemo(settings, createLogger({ name: 'demo', level: 'warn' }), say);
        if (!refused) exitCode = 1;
      } catch (error) {
        process.stderr.write(`demo: the claims demo failed: ${(error as Error).message}\n`);
        exitCode = 1;
      }
    }
    if (!args['no-seed'] && reused.size === 0) {
      process.stdout.write('seeding the primary: organizations, projects, package files, Helm metadata caches…\n');
      const seeded = await seedPrimary(main, primaryStorage, { cancelled: () => stopping !== undefined });
      process.stdout.write(`seeded ${seeded.organizations} organizations, ${seeded.projects} projects, ${seeded.packageFiles} package files, ${seeded.helmCaches} Helm metadata caches\n\nsecondary progress:\n`);
    }
    const started = Date.now();
    const done = await watchGeoProgress({
      replicators: siteReplicators(),
      main,
      tracking,
      timeoutMs: timeoutS * 1_000,
      tty: Boolean(process.stdout.isTTY),
      write: (text) => process.stdout.write(text),
      cancelled: () => stopping !== undefined,
    });
    const interrupted = currentStop();
    if (interrupted) {
      await interrupted; // Ctrl-C while seeding or watching: a normal stop
      return exitCode;
    }
    let verified = false;
    if (done) {
      process.stdout.write(`\n✓ secondary converged: every blob synced (${((Date.now() - started) / 1000).toFixed(1)} s)\n\nverification (SHA-256 on both sites):\n`);
      verified = await waitForVerification({
        replicators: siteReplicators(),
        main,
        tracking,
        timeoutMs: Math.max(1_000, timeoutS * 1_000 - (Date.now() - started)),
        write: (text) => process.stdout.write(text),
        cancelled: () => stopping !== undefined,
      });
      const interruptedNow = currentStop();
      if (interruptedNow) {
        await interruptedNow;
        return exitCode;
      }
      if (verified) process.stdout.write(`✓ verified: every blob checksummed on the primary and verified on the secondary (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      else process.stdout.write(`✗ not verified within ${timeoutS} s (see \`npm run meridian -- geo status\` and /admin/geo)\n`);
    } else process.stdout.write(`\n✗ not converged within ${timeoutS} s (see \`npm run meridian -- geo status\` and the worker logs)\n`);
    if (args['exit-when-converged']) {
      await stop();
      return done && verified ? exitCode : 1;
    }
    process.stdout.write('\nstill running: Ctrl-C stops everything.\n');
  } finally {
    await Promise.all([main.end({ timeout: 1 }), tracking.end({ timeout: 1 })]);
  }
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        void stopping.then(resolve);
      }
    }, 200);
  });
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
