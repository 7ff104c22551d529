import { defineConfig } from 'vitest/config';

/** Tiers, named by file suffix: *.unit.spec.ts, *.int.spec.ts, *.e2e.spec.ts. */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.unit.spec.ts'] } },
      { test: { name: 'int', include: ['test/int/**/*.int.spec.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.e2e.spec.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
});
