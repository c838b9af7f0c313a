// `npm test`: servers (found or started), then generated-code check, typecheck, lint and every
// package's jest suite through turbo, then one summary line over all suites.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { leftovers, snapshot, type Snapshot } from './test-leftovers';
import { root, runWithServices } from './with-services';

interface JestSummary {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTestSuites: number;
  numRuntimeErrorTestSuites?: number;
}

/** Workspace package directories (apps/*, packages/*, packages/replicators/*). */
function packageDirs(): string[] {
  return ['apps', 'packages', 'packages/replicators']
    .flatMap((parent) => {
      const full = path.join(root, parent);
      return existsSync(full) ? readdirSync(full).map((name) => path.join(full, name)) : [];
    })
    .filter((dir) => existsSync(path.join(dir, 'package.json')));
}

/** Packages with a jest `test` script: each must leave a summary (jest-summary-reporter.cjs). */
function testedPackages(): string[] {
  return packageDirs().filter((dir) => {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return /\bjest\b/.test(manifest.scripts?.test ?? '') && existsSync(path.join(dir, 'test'));
  });
}

function resultFiles(): string[] {
  return packageDirs()
    .flatMap((dir) => [path.join(dir, '.jest-summary.json'), path.join(dir, '.jest-results.json')])
    .filter((file) => existsSync(file));
}

async function main(): Promise<number> {
  for (const stale of resultFiles()) rmSync(stale);
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  // a filtered run (turbo --filter) tests fewer packages on purpose; a full run must count them all
  const filtered = process.argv.slice(2).some((arg) => arg.startsWith('--filter') || arg.startsWith('-F'));
  let before: Snapshot | undefined;
  const code = await runWithServices('test', turbo, [
    'run', 'check:generated', 'typecheck', 'lint', 'test', '--concurrency=2', '--output-logs=new-only',
    // every package runs even after one fails, so one run shows every failure
    '--continue', ...process.argv.slice(2),
  ], {}, {
    before: async (urls) => {
      before = await snapshot(urls, root, packageDirs());
    },
    // tests leave nothing behind: what is new after the run is named, and fails a full run in CI
    // (elsewhere other runs may share these servers, so it only warns)
    after: async (urls, exit) => {
      if (!before) return exit;
      const found = leftovers(before, await snapshot(urls, root, packageDirs()));
      if (found.length === 0) {
        process.stdout.write('leftovers: none (no new database, Redis key or .meridian entry)\n');
        return exit;
      }
      for (const line of found) process.stderr.write(`leftovers: ${line}\n`);
      return process.env.CI && !filtered && exit === 0 ? 1 : exit;
    },
  });
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let suites = 0;
  let broken = 0;
  const counted: string[] = [];
  for (const dir of testedPackages()) {
    const file = path.join(dir, '.jest-summary.json');
    if (!existsSync(file)) continue;
    const result = JSON.parse(readFileSync(file, 'utf8')) as JestSummary;
    passed += result.numPassedTests;
    failed += result.numFailedTests;
    skipped += result.numPendingTests;
    suites += result.numTotalTestSuites;
    broken += result.numRuntimeErrorTestSuites ?? 0;
    counted.push(path.relative(root, dir));
  }
  const missing = testedPackages().map((dir) => path.relative(root, dir)).filter((dir) => !counted.includes(dir));
  process.stdout.write(`\n${suites} test suites in ${counted.length} packages${broken ? ` (${broken} could not run)` : ''}\n`);
  // a suite that could not run counts as failed: the closing line must never read 0 failed then
  process.stdout.write(`${passed} passed, ${failed + broken} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  if (missing.length > 0 && code === 0 && !filtered) {
    process.stderr.write(`no test results from: ${missing.join(', ')}\n`);
    return 1;
  }
  if (code === 0 && passed === 0) {
    process.stderr.write('no test ran: treating as a failure\n');
    return 1;
  }
  return code !== 0 ? code : failed > 0 || broken > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
