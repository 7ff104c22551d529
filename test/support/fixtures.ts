import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const helloScenarioPath = join(repoRoot, 'scenarios', 'hello.yaml');
export const helloScenarioText = readFileSync(helloScenarioPath, 'utf8');

/** A temporary directory removed after the test (pass the returned cleanup to onTestFinished/afterEach). */
export function temporaryDirectory(prefix = 'aura-lab-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Cleanups run after each test of the calling spec file, last registered first, and temporary
 * directories (with `prefix`) that are among them. Call once, at the top level of a spec file.
 */
export function cleanupsAfterEach(prefix: string): { readonly cleanups: (() => Promise<void> | void)[]; tempDir: () => string } {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    cleanups,
    tempDir: () => {
      const dir = temporaryDirectory(prefix);
      cleanups.push(dir.remove);
      return dir.path;
    },
  };
}

/** A small scenario for fast tests. */
export function tinyScenarioText(options: { name?: string; seconds?: number; perSecond?: number; seed?: number } = {}): string {
  return `version: 1
name: ${options.name ?? 'tiny'}
seed: ${options.seed ?? 7}
duration: ${options.seconds ?? 5}s
workload:
  - name: orders
    streams: { prefix: "order-", count: 3 }
    rate: { profile: constant, perSecond: ${options.perSecond ?? 20} }
    events:
      - type: OrderPlaced
        weight: 2
        payload:
          amount: { int: [1, 100] }
          note: { text: { length: 4 } }
      - type: OrderShipped
        payload:
          carrier: { oneOf: [post, courier] }
  - name: payments
    streams: { prefix: "payment-", count: 1 }
    rate: { profile: constant, perSecond: 7 }
    events:
      - type: PaymentCaptured
        payload:
          sequence: { sequence: { start: 1 } }
`;
}
