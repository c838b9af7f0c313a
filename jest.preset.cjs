// Shared jest settings: @swc/jest transpiles TypeScript (type checking is the `typecheck` task),
// tests live in test/ and talk to real Redis and PostgreSQL, so they get generous timeouts.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
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
