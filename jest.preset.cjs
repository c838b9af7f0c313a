// Shared jest settings: @swc/jest transpiles TypeScript (type checking is the `typecheck` task),
// tests live in test/ and talk to real Redis and PostgreSQL, so they get generous timeouts.
const path = require('node:path');

/** @type {import('jest').Config} */
module.exports = {
  // totals for `npm test`'s summary line, whatever flags a package's test script passes
  reporters: ['default', path.join(__dirname, 'scripts', 'jest-summary-reporter.cjs')],
  // template databases of one run (createTestDatabase({ template })): named here, dropped at the end
  globalSetup: path.join(__dirname, 'scripts', 'jest-global-setup.cjs'),
  globalTeardown: path.join(__dirname, 'scripts', 'jest-global-teardown.cjs'),
  // Node's environment plus a check that each test file closed what it opened (see the file): a
  // file that leaves a pool, socket, server, timer or child process open fails, in every package
  testEnvironment: path.join(__dirname, 'scripts', 'jest-leak-environment.cjs'),
  testEnvironmentOptions: { leakCheck: 'fail' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  // jose ships ES modules only: transpile it like our sources (everything else in node_modules is CJS).
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testTimeout: 60_000,
  // A worker whose event loop is empty at the end (the leak check above proves it per file, and
  // its 'exit' event fires the moment jest asks it to end) can still take longer than jest's
  // default 500 ms to be reaped on a loaded 2-core machine, and jest then reports it as "failed to
  // exit gracefully". A real leak keeps the worker alive indefinitely and is still reported.
  workerGracefulExitTimeout: 5_000,
  maxWorkers: 2,
};
