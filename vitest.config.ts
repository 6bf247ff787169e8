import { defineConfig } from 'vitest/config';

/**
 * Three layers, as in STYLE.md: unit (pure, no I/O), integration (real Postgres and Redis),
 * e2e (real Asterisk, SIPp and baresip as well). Each project's globalSetup provisions only
 * what it needs; e2e files run one at a time because they share one Asterisk.
 */
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/services.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/services.ts', 'test/setup/asterisk.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
