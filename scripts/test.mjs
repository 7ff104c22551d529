#!/usr/bin/env node
// `npm test`: every check CI runs, in order, with one summary line at the end:
// typecheck of each layer, lint with the layer rules, the build, then unit, integration and
// e2e tests (vitest). Each typecheck, the lint and the build count as one check each; vitest's
// tests are counted from its JSON report. The last line is always `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;
const failures = [];

function step(label, command, args) {
  process.stdout.write(`\n▶ ${label}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  const ok = result.status === 0;
  process.stdout.write(`${ok ? '✔' : '✘'} ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return ok;
}

function check(label, command, args) {
  if (step(label, command, args)) passed += 1;
  else {
    failed += 1;
    failures.push(label);
  }
}

const only = process.argv.slice(2);
const layers = ['core', 'node', 'preload', 'web', 'test'];
for (const layer of layers) check(`typecheck ${layer} (tsconfig.${layer}.json)`, bin('tsc'), ['-p', `tsconfig.${layer}.json`]);
check('lint (layer rules)', bin('eslint'), ['--max-warnings', '0', '.']);
check('build (electron-vite: main, preload, renderer, host, workers)', bin('electron-vite'), ['build']);
check('build (native chain check: out/native)', process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--require']);

const report = join(root, 'test-results', 'vitest.json');
mkdirSync(join(root, 'test-results'), { recursive: true });
rmSync(report, { force: true });
const vitestOk = step('tests: unit, integration, e2e (vitest)', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...only]);
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, 'utf8'));
  passed += results.numPassedTests;
  failed += results.numFailedTests;
  // A file that fails without a failed test (it does not load, or a hook before its tests
  // throws and they are skipped) is a failure all the same.
  for (const file of results.testResults ?? []) {
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed')) {
      failed += 1;
      failures.push(`test file ${file.name}: ${String(file.message ?? 'failed to load').split('\n')[0]}`);
    }
  }
  if (!vitestOk && failed === 0) {
    failed += 1;
    failures.push('vitest failed without a failed test in its report');
  }
  for (const file of results.testResults ?? []) {
    for (const test of file.assertionResults ?? []) if (test.status === 'failed') failures.push(`${test.ancestorTitles.join(' > ')} > ${test.title}`);
  }
} else {
  failed += 1;
  failures.push('vitest produced no report');
}

if (failures.length > 0) process.stdout.write(`\nFailed:\n${failures.map((name) => `  - ${name}`).join('\n')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
