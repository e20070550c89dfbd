import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Two cores: run files in parallel but not more than the machine has, so the e2e tests keep their timing.
    maxWorkers: 2,
  },
});
