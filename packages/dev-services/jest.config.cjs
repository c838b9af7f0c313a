const preset = require('../../jest.preset.cjs');

// this package's test files must close everything they open (scripts/jest-leak-environment.cjs)
module.exports = { ...preset, testEnvironmentOptions: { ...preset.testEnvironmentOptions, leakCheck: 'fail' } };
