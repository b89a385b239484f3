import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code (*.test.ts); integration tests under test/
// start real processes and sockets, so they run one file at a time on our
// two-core machines to keep timings honest.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{core,controller,gateway,activator,autoscaler,eventing,functions,cli,bench}/**/*.test.ts'],
          exclude: ['node_modules/**', 'dist/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['node_modules/**', 'dist/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
