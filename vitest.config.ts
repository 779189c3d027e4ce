import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The Temporal native bridge wants a process of its own, not a worker thread.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/temporal-server.ts'],
    setupFiles: ['test/support/quiet-sdk.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
