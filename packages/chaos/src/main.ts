// `npm run chaos -- [--scenario N] [--seed S | --seeds 1,2,3] [--short] [--json]`
// Every scenario starts its own private redis-servers and PostgreSQL; exit 1 when any run did not
// converge with zero loss, 2 on bad usage.
import { FULL, runScenario, SHORT, type RunResult } from './run-scenario';
import { SCENARIOS } from './scenarios';

const USAGE = `usage: npm run chaos -- [--scenario 1-${SCENARIOS.length}] [--seed S | --seeds S1,S2,…] [--short] [--json]
  --scenario N   run one scenario (default: all)
  --seed S       replay one seed (default: 1)
  --seeds a,b,c  run each scenario with each seed
  --short        one seed, small workload, short fault window (what CI runs)
  --json         one JSON line per run on stdout`;

function usage(message: string): never {
  process.stderr.write(`chaos: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse(argv: string[]) {
  const options = { scenarios: SCENARIOS.map((s) => s.id), seeds: [1], short: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    const integer = (raw: string) => (/^\d{1,9}$/.test(raw) ? Number(raw) : usage(`${arg}: "${raw}" is not a non-negative integer`));
    if (arg === '--scenario') {
      const id = integer(value());
      if (!SCENARIOS.some((s) => s.id === id)) usage(`no scenario ${id}`);
      options.scenarios = [id];
    } else if (arg === '--seed') options.seeds = [integer(value())];
    else if (arg === '--seeds') options.seeds = value().split(',').map(integer);
    else if (arg === '--short') options.short = true;
    else if (arg === '--json') options.json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else usage(`unknown argument ${arg}`);
  }
  return options;
}

function describe(result: RunResult): string {
  const loss = Object.entries(result.loss).map(([k, v]) => `${k}=${v}`).join(' ');
  const faults = Object.entries(result.faults).map(([k, v]) => `${v}× ${k}`).join(', ') || 'none';
  return [
    `scenario ${result.scenario} seed ${result.seed}: ${result.converged ? 'CONVERGED, zero loss' : 'FAILED'}`,
    `  work: ${result.workload ?? `${result.work.blobsWritten} blobs written (${result.work.mib} MiB), ${result.work.rowsDeleted} rows deleted, ${result.work.liveBlobs} live`}`,
    `  faults: ${faults} (${result.syncsInFlightAtFaults} ${result.workload ? 'writes' : 'syncs'} in flight at those moments)`,
    `  converged ${result.convergeSeconds} s after the faults stopped (run ${result.totalSeconds} s)`,
    `  loss: ${loss}`,
    `  unexpected process exits: ${result.crashes.length}${result.crashes.length ? `\n    ${result.crashes.map((c) => c.split('\n')[0]).join('\n    ')}` : ''}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const size = options.short ? SHORT : FULL;
  const results: RunResult[] = [];
  for (const id of options.scenarios) {
    const scenario = SCENARIOS.find((s) => s.id === id)!;
    for (const seed of options.seeds) {
      process.stderr.write(`chaos: scenario ${id} (${scenario.title}), seed ${seed}${options.short ? ', short' : ''}\n`);
      const result = await runScenario(scenario, seed, size, (line) => process.stderr.write(`${line}\n`));
      results.push(result);
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
      for (const crash of result.crashes) process.stderr.write(`${crash}\n`);
    }
  }
  const failed = results.filter((r) => !r.converged);
  process.stderr.write(`chaos: ${results.length - failed.length}/${results.length} runs converged with zero loss\n`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
