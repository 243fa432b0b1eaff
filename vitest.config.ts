import { defineConfig } from 'vitest/config';

// Three runs, in this order (see package.json "test"): the unit suites, then the Pact
// consumer tests that write contracts/pacts/, then provider verification against them.
// Pact's native core is not safe to share across parallel consumer and provider runs.
const PACT_CONSUMER = 'test/contracts/**/*.consumer.test.ts';
const PACT_PROVIDER = 'test/contracts/**/*.provider.test.ts';
// The package as users install it (npm pack, installs into temp projects): minutes, not
// seconds, so a project of its own that `npm test` runs once, last.
const PACKAGING = 'test/packaging/**/*.test.ts';

export default defineConfig({
  test: {
    env: { PACT_DO_NOT_TRACK: 'true' },
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [PACT_CONSUMER, PACT_PROVIDER, PACKAGING, '**/node_modules/**'] },
      },
      { extends: true, test: { name: 'pact-consumer', include: [PACT_CONSUMER], fileParallelism: false } },
      { extends: true, test: { name: 'pact-provider', include: [PACT_PROVIDER], fileParallelism: false } },
      { extends: true, test: { name: 'packaging', include: [PACKAGING], fileParallelism: false, testTimeout: 600_000, hookTimeout: 900_000 } },
    ],
  },
});
