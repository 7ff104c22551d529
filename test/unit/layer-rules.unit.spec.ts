import { join } from 'node:path';
import { type ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { coreRules } from '../../eslint-rules/core-rules.js';
import layers from '../../eslint-rules/layers.js';
import { repoRoot } from '../support/fixtures.ts';

/** Lints a snippet as if it were the file at `path` (relative to the repository root). */
function lint(path: string, code: string): string[] {
  const linter = new Linter({ cwd: repoRoot });
  const messages = linter.verify(
    code,
    [
      {
        files: ['**/*.ts', '**/*.tsx'],
        languageOptions: { parser: tseslint.parser as Linter.Parser },
        plugins: { aura: layers as unknown as ESLint.Plugin },
        rules: { 'aura/layers': 'error' },
      },
      { files: ['src/core/**/*.ts'], rules: coreRules as unknown as Linter.RulesRecord },
    ],
    join(repoRoot, path),
  );
  return messages.map((message) => message.message);
}

describe('layer rules', () => {
  it('keep the core free of Node, other layers and packages', () => {
    expect(lint('src/core/sim/x.ts', "import { readFileSync } from 'node:fs';")[0]).toMatch(/core may not import the package node:fs/);
    expect(lint('src/core/sim/x.ts', "import { x } from '../../node/runtime.ts';")[0]).toMatch(/core may not import node/);
    expect(lint('src/core/sim/x.ts', "import { z } from 'zod';")[0]).toMatch(/core may not import the package zod/);
    expect(lint('src/core/sim/x.ts', "import { assert } from '../kernel/assert.ts';")).toEqual([]);
  });

  it('keep clocks, randomness and timers out of the core', () => {
    expect(lint('src/core/sim/x.ts', 'export const t = Date.now();')[0]).toMatch(/reads no clock/);
    expect(lint('src/core/sim/x.ts', 'export const t = new Date();')[0]).toMatch(/reads no clock/);
    expect(lint('src/core/sim/x.ts', 'export const r = Math.random();')[0]).toMatch(/seeded Random port/);
    expect(lint('src/core/sim/x.ts', 'setTimeout(() => 1, 5);')[0]).toMatch(/setTimeout must come through a port/);
    expect(lint('src/node/x.ts', 'export const t = Date.now();')).toEqual([]);
  });

  it('let the renderer use the contract and core types only', () => {
    expect(lint('src/renderer/src/x.ts', "import Database from 'better-sqlite3';")[0]).toMatch(/renderer may not import the package better-sqlite3/);
    expect(lint('src/renderer/src/x.ts', "import { readFileSync } from 'node:fs';")[0]).toMatch(/renderer may not import the package node:fs/);
    expect(lint('src/renderer/src/x.ts', "import { RunKernel } from '../../core/sim/kernel.ts';")[0]).toMatch(/for types only/);
    expect(lint('src/renderer/src/x.ts', "import type { RunKernel } from '../../core/sim/kernel.ts';")).toEqual([]);
    expect(lint('src/renderer/src/x.ts', "import { ApiClient } from '../../shared/client.ts';")).toEqual([]);
    expect(lint('src/renderer/src/x.ts', "import { Engine } from '../../host/engine.ts';")[0]).toMatch(/renderer may not import host/);
  });

  it('keep the contract free of logic layers and the Electron shell away from the engine internals', () => {
    expect(lint('src/shared/x.ts', "import { Engine } from '../host/engine.ts';")[0]).toMatch(/shared may not import host/);
    expect(lint('src/main/x.ts', "import { SqliteEventStore } from '../node/sqlite-event-store.ts';")[0]).toMatch(/main may not import node/);
    expect(lint('src/preload/x.ts', "import { readFileSync } from 'node:fs';")[0]).toMatch(/preload may not import the package node:fs/);
    expect(lint('src/workers/x.ts', "import { Engine } from '../host/engine.ts';")[0]).toMatch(/workers may not import host/);
  });
});
