// Two projects: `unit` (pure logic, no servers) and `integration` (the real local stack:
// Kafka, Temporal, MinIO, DuckDB). Type-checking runs separately in `npm test` (tsc --noEmit),
// so the transform only strips types (swc) and stays fast.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  // jose 6 ships ES modules only; jest's CommonJS runtime needs them transformed like our sources
  '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];
const setupFiles = ['<rootDir>/scripts/quiet-warnings.cjs'];

module.exports = {
  // Suites that measure the process (the ingestion fuzz run) first: see test/sequencer.cjs.
  testSequencer: '<rootDir>/test/sequencer.cjs',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      setupFiles,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      setupFiles,
      testMatch: ['<rootDir>/test/integration/**/*.integration.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration/timeout.ts'],
      // Integration suites share one local stack; running them one at a time keeps a 2-core
      // machine from starving the brokers and makes failures readable.
      maxWorkers: 1,
    },
  ],
};
