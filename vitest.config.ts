import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Tiers, named by file suffix: *.unit.spec.ts, *.int.spec.ts, *.e2e.spec.ts. Unit and
 * integration files run side by side, one per core; then the e2e files, one at a time (each
 * drives a browser and a lab server of its own).
 */
const cores = Math.max(1, availableParallelism());
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.unit.spec.ts'], maxWorkers: cores, sequence: { groupOrder: 0 } } },
      { test: { name: 'int', include: ['test/int/**/*.int.spec.ts'], testTimeout: 60_000, hookTimeout: 60_000, maxWorkers: cores, sequence: { groupOrder: 0 } } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.e2e.spec.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
