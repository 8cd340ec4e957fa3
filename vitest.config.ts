import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (service and workflow tests next to the code, against real PostgreSQL,
 * Redis, FerretDB and a Temporal dev server) and `e2e` (test/, against the whole stack started
 * the way `scripts/velora up` starts it). Each has its own global setup.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    // The JSON report feeds the one-line summary `npm test` prints last (scripts/velora).
    reporters: ['default', 'json'],
    outputFile: { json: '.stack/test-results/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            '{auth,wallet,workflows,activities,workers,gateway,payout-sim,lib,temporal-config,scripts,bench,fuzz}/**/*.test.ts',
          ],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts', 'test/support/stack-setup.ts'],
          // The e2e files share one running stack; run them one after another.
          fileParallelism: false,
          // After the unit project: test/e2e/stack-supervision.test.ts SIGKILLs the Temporal
          // server and the MongoDB wire server that the unit tests share with this stack.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
