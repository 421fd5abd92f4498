/** Jest runs every spec against one real PostgreSQL started by test/support/global-setup.ts. */
const { readFileSync } = require('node:fs');
const swc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));

module.exports = {
  rootDir: __dirname,
  testEnvironment: '<rootDir>/test/support/herald-environment.ts',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }] },
  moduleNameMapper: {
    '^@herald/broker$': '<rootDir>/libs/broker/src/index.ts',
    '^@herald/embedded-pg$': '<rootDir>/libs/embedded-pg/src/index.ts',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  maxWorkers: 2,
  testTimeout: 60_000,
  // A leaked broker fails its test (herald-environment.ts); this only keeps CI from hanging on it.
  forceExit: true,
};
