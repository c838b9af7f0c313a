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
  // Node's environment plus a check that each test file closed what it opened (see the file);
  // packages that pass it set leakCheck: 'fail', the others are told what they leak
  testEnvironment: path.join(__dirname, 'scripts', 'jest-leak-environment.cjs'),
  testEnvironmentOptions: { leakCheck: 'warn' },
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
  maxWorkers: 2,
};
