// A jest reporter every package gets from jest.preset.cjs: it writes the run's totals to
// `<rootDir>/.jest-summary.json`, which `npm test` adds up. Being in the preset (not in each
// package's `test` script) means no package's results can be left out of the summary.
const { writeFileSync } = require('node:fs');
const path = require('node:path');

class JestSummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const summary = {
      numTotalTestSuites: results.numTotalTestSuites,
      numFailedTestSuites: results.numFailedTestSuites,
      numRuntimeErrorTestSuites: results.numRuntimeErrorTestSuites,
      numPassedTests: results.numPassedTests,
      numFailedTests: results.numFailedTests,
      numPendingTests: results.numPendingTests,
      numTotalTests: results.numTotalTests,
    };
    writeFileSync(path.join(this.rootDir, '.jest-summary.json'), `${JSON.stringify(summary)}\n`);
  }
}

module.exports = JestSummaryReporter;
