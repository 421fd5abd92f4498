/**
 * Jest runs every spec against one real PostgreSQL started by test/support/global-setup.ts.
 *
 * Two projects: broker-level specs run in Jest's usual sandbox (with the leak check of
 * herald-environment.ts); specs that load NestJS 12, which ships ES modules only, run in
 * bare Node through jest-light-runner (see test/support/nest-runtime.mjs).
 */
const { readFileSync } = require('node:fs');
const swc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));

const NEST_SPECS = ['<rootDir>/libs/transaction/', '<rootDir>/apps/', '<rootDir>/test/e2e/'];

module.exports = {
  rootDir: __dirname,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  maxWorkers: 2,
  testTimeout: 60_000,
  // A leaked broker fails its test (herald-environment.ts); this only keeps CI from hanging on it.
  forceExit: true,
  projects: [
    {
      displayName: 'broker',
      rootDir: __dirname,
      testEnvironment: '<rootDir>/test/support/herald-environment.ts',
      roots: ['<rootDir>/libs', '<rootDir>/test'],
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...NEST_SPECS],
      transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }] },
      testTimeout: 60_000,
    },
    {
      displayName: 'nest',
      rootDir: __dirname,
      runner: 'jest-light-runner/child-process',
      roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
      testMatch: NEST_SPECS.map((dir) => `${dir}**/*.spec.ts`),
      setupFiles: ['<rootDir>/test/support/nest-runtime.mjs'],
      // Not used by the light runner; Jest compiles the shared global setup with it.
      transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }] },
      testTimeout: 60_000,
    },
  ],
};
