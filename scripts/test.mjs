#!/usr/bin/env node
// `npm test`: every check CI runs, with one summary line at the end: typecheck of each layer
// and lint with the layer rules (side by side), the build, then unit, integration and e2e tests
// (vitest). Each typecheck, the lint and the build count as one check each; vitest's
// tests are counted from its JSON report. The last line is always `N passed, N failed`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
let passed = 0;
let failed = 0;
const failures = [];

/** How a check ended, for its ✘ line: an exit code, a signal, or a failure to start. */
function ending(code, signal, error) {
  if (error !== undefined) return ` (${error.message})`;
  if (signal !== null) return ` (killed by ${signal})`;
  return code === 0 ? '' : ` (exit ${code})`;
}

/**
 * Runs a check; resolves to its label, result and time. `held`: its output is kept (returned)
 * instead of shown as it comes.
 */
function run(label, command, args, held) {
  return new Promise((resolve) => {
    const started = Date.now();
    const output = [];
    let failure;
    const child = spawn(command, args, { cwd: root, stdio: held ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: process.env });
    if (held) {
      child.stdout.on('data', (chunk) => output.push(chunk));
      child.stderr.on('data', (chunk) => output.push(chunk));
    }
    child.on('error', (error) => (failure = error));
    // After a failure to start too ('error', then 'close'); held output is whole by then.
    child.on('close', (code, signal) => resolve({ label, ok: code === 0 && failure === undefined, why: ending(code, signal, failure), output: Buffer.concat(output), seconds: (Date.now() - started) / 1000 }));
  });
}

/** Runs a check with its output shown as it comes, between its ▶ and ✔/✘ lines. */
async function step(label, command, args) {
  process.stdout.write(`\n▶ ${label}\n`);
  const result = await run(label, command, args, false);
  finished(result);
  return result;
}

function finished({ label, ok, why, seconds }) {
  process.stdout.write(`${ok ? '✔' : '✘'} ${label} (${seconds.toFixed(1)} s)${ok ? '' : why}\n`);
}

function count({ label, ok }) {
  if (ok) passed += 1;
  else {
    failed += 1;
    failures.push(label);
  }
}

const only = process.argv.slice(2);
const layers = ['core', 'node', 'preload', 'web', 'test'];
// Two lanes on two cores: the lint (the longest check) beside the typechecks and the builds.
// The typechecks and builds show their output as it comes; the lint's is held and shown whole
// after them, so that the two never interleave.
const lintLabel = 'lint (layer rules)';
process.stdout.write(`\n▶ ${lintLabel}, beside the typechecks and builds (its output follows them)\n`);
const lint = run(lintLabel, bin('eslint'), ['--max-warnings', '0', '.'], true);
const inOrder = [
  ...layers.map((layer) => [`typecheck ${layer} (tsconfig.${layer}.json)`, bin('tsc'), ['-p', `tsconfig.${layer}.json`]]),
  ['build (electron-vite: main, preload, renderer, host, workers)', bin('electron-vite'), ['build']],
  ['build (native chain check: out/native)', process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--require']],
];
for (const [label, command, args] of inOrder) count(await step(label, command, args));
const linted = await lint;
process.stdout.write(`\n▶ ${lintLabel}\n`);
process.stdout.write(linted.output);
finished(linted);
count(linted);

const report = join(root, 'test-results', 'vitest.json');
mkdirSync(join(root, 'test-results'), { recursive: true });
rmSync(report, { force: true });
const vitestOk = (await step('tests: unit, integration, e2e (vitest)', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...only])).ok;
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
