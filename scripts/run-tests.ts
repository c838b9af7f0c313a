// `npm test`: servers (found or started), then generated-code check, typecheck, lint and every
// package's jest suite through turbo, then one summary line over all suites.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { root, runWithServices } from './with-services';

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTestSuites: number;
}

/** `.jest-results.json` of every workspace package (apps/*, packages/*, packages/replicators/*). */
function resultFiles(): string[] {
  const dirs = ['apps', 'packages', 'packages/replicators'].flatMap((parent) => {
    const full = path.join(root, parent);
    return existsSync(full) ? readdirSync(full).map((name) => path.join(full, name)) : [];
  });
  return dirs.map((dir) => path.join(dir, '.jest-results.json')).filter((file) => existsSync(file));
}

async function main(): Promise<number> {
  for (const stale of resultFiles()) rmSync(stale);
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  const code = await runWithServices('test', turbo, [
    'run', 'check:generated', 'typecheck', 'lint', 'test', '--concurrency=2', '--output-logs=new-only', ...process.argv.slice(2),
  ]);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let suites = 0;
  for (const file of resultFiles()) {
    const result = JSON.parse(readFileSync(file, 'utf8')) as JestJson;
    passed += result.numPassedTests;
    failed += result.numFailedTests;
    skipped += result.numPendingTests;
    suites += result.numTotalTestSuites;
  }
  process.stdout.write(`\n${suites} test suites\n`);
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  if (code === 0 && passed === 0) {
    process.stderr.write('no test ran: treating as a failure\n');
    return 1;
  }
  return code !== 0 ? code : failed > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
