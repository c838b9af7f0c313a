import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../src';

// `npm test`'s summary adds up one `.jest-summary.json` per package. The preset's reporter writes
// it, so a package whose test script passes no --json/--outputFile flags is still counted.
describe('jest summary reporter (from jest.preset.cjs)', () => {
  const project = path.join(__dirname, 'fixtures', 'summary-project');
  const summary = path.join(project, '.jest-summary.json');
  afterAll(() => rmSync(summary, { force: true }));

  it('writes the totals of a run made with plain `jest --passWithNoTests`', () => {
    rmSync(summary, { force: true });
    const jest = path.join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js');
    const run = spawnSync(process.execPath, [jest, '--passWithNoTests', '--config', path.join(project, 'jest.config.cjs')], { cwd: project, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(existsSync(summary)).toBe(true);
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ numTotalTestSuites: 1, numPassedTests: 2, numFailedTests: 0, numPendingTests: 1 });
  });
});
