#!/usr/bin/env node
// `npm test`: every check CI runs, with one summary line at the end: typecheck of each layer
// and lint with the layer rules (side by side), the build, then unit, integration and e2e tests
// (vitest). Each typecheck, the lint and the build count as one check each; vitest's
// tests are counted from its JSON report. The last line is always `N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
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

/** Runs a check with its output held back; resolves to its label, result and output. */
function quietly(label, command, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const output = [];
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (error) => output.push(Buffer.from(`${error.message}\n`)));
    child.on('close', (code) => resolve({ label, ok: code === 0, output: Buffer.concat(output), seconds: (Date.now() - started) / 1000 }));
  });
}

/** Runs checks one after the other. */
async function lane(checks) {
  const results = [];
  for (const [label, command, args] of checks) results.push(await quietly(label, command, args));
  return results;
}

const only = process.argv.slice(2);
const layers = ['core', 'node', 'preload', 'web', 'test'];
// Two lanes on two cores: the lint (the longest check) beside the typechecks and the builds.
// Each check's output is printed whole when it ends, in this order.
const [lintResults, typecheckResults] = await Promise.all([
  lane([['lint (layer rules)', bin('eslint'), ['--max-warnings', '0', '.']]]),
  lane([
    ...layers.map((layer) => [`typecheck ${layer} (tsconfig.${layer}.json)`, bin('tsc'), ['-p', `tsconfig.${layer}.json`]]),
    ['build (electron-vite: main, preload, renderer, host, workers)', bin('electron-vite'), ['build']],
    ['build (native chain check: out/native)', process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--require']],
  ]),
]);
for (const { label, ok, output, seconds } of [...typecheckResults.slice(0, layers.length), ...lintResults, ...typecheckResults.slice(layers.length)]) {
  process.stdout.write(`\n▶ ${label}\n`);
  process.stdout.write(output);
  process.stdout.write(`${ok ? '✔' : '✘'} ${label} (${seconds.toFixed(1)} s)\n`);
  if (ok) passed += 1;
  else {
    failed += 1;
    failures.push(label);
  }
}

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
