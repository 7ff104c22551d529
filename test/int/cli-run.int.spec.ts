import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { helloScenarioPath, repoRoot, temporaryDirectory, tinyScenarioText } from '../support/fixtures.ts';
import { countEvents, dumpEvents, projectionAgainstReplay } from '../support/run-dir.ts';

const work = temporaryDirectory('aura-lab-cli-');
afterAll(() => work.remove());
const env = { AURA_LAB_HOME: join(work.path, 'home') };

describe('aura-lab run', () => {
  it('runs hello.yaml headless and prints one JSON summary that matches the store', async () => {
    const out = join(work.path, 'hello-1');
    const result = await runCli(['run', 'scenarios/hello.yaml', '--seed', '1', '--out', out, '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(summary).toMatchObject({ scenario: 'hello', seed: 1, status: 'completed', outDir: out, events: 3302, headPosition: 3302, virtualDurationUs: 60_000_000 });
    expect(summary.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect(countEvents(out)).toBe(3302);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ format: 'aura-lab-run', status: 'completed', seed: 1, headHash: summary.headHash, events: 3302, eventLog: 'events.sqlite' });
    expect((manifest.scenario as { text: string }).text).toBe(readFileSync(helloScenarioPath, 'utf8'));
    // The worker-built projection equals a single-threaded replay of the whole log.
    const check = projectionAgainstReplay(out, 'events-per-second-by-type');
    expect(check.checkpoint).toBe(check.head);
    expect(check.stored).toBe(check.replayed);
    // A finished run is self-contained: no WAL left behind; the head record stays for repairs.
    expect(readdirSync(out).sort()).toEqual(['events.sqlite', 'head.json', 'manifest.json', 'report.json']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { format: string; summary: { status: string; headHash: string }; virtualSeconds: number };
    expect(report).toMatchObject({ format: 'aura-lab-report', summary: { status: 'completed', headHash: summary.headHash }, virtualSeconds: 61 });
  });

  it('writes byte-identical event tables for the same scenario and seed, and different ones for another seed', async () => {
    const scenario = join(work.path, 'tiny.yaml');
    writeFileSync(scenario, tinyScenarioText({ seconds: 20, perSecond: 200 }));
    const [a, b, c] = ['a', 'b', 'c'].map((name) => join(work.path, `tiny-${name}`));
    const results = await Promise.all([
      runCli(['run', scenario, '--seed', '42', '--out', a!, '--json'], env),
      runCli(['run', scenario, '--seed', '42', '--out', b!, '--json'], env),
      runCli(['run', scenario, '--seed', '43', '--out', c!, '--json'], env),
    ]);
    expect(results.map((result) => result.code)).toEqual([0, 0, 0]);
    const hashes = results.map((result) => (JSON.parse(result.stdout) as { headHash: string }).headHash);
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[2]).not.toBe(hashes[0]);
    expect(dumpEvents(a!)).toEqual(dumpEvents(b!));
    expect(dumpEvents(a!)).not.toEqual(dumpEvents(c!));
  });

  it('prints a readable summary without --json, and keeps runs under AURA_LAB_HOME without --out', async () => {
    const result = await runCli(['run', 'scenarios/hello.yaml', '--seed', '3'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^run hello-s3-\S+: completed\n/);
    expect(result.stdout).toContain('3,302 in the store');
    const written = /written to\s+(.+)\n/.exec(result.stdout)?.[1];
    expect(written).toContain(join('home', 'runs', 'hello-s3-'));
    expect(countEvents(written!.startsWith('/') ? written! : join(repoRoot, written!))).toBe(3302);
  });

  it.each([
    ['a malformed scenario', ['run', 'test/fixtures/scenarios/broken/wrong-type.yaml'], /^aura-lab: test\/fixtures\/scenarios\/broken\/wrong-type\.yaml:9:43: workload\[0\]\.rate\.perSecond: expected a number/],
    ['a missing scenario', ['run', 'scenarios/missing.yaml'], /^aura-lab: scenarios\/missing\.yaml: cannot read scenario: no such file$/],
    ['a syntax error', ['run', 'test/fixtures/scenarios/broken/syntax-error.yaml'], /syntax-error\.yaml:7:1: syntax error/],
    ['a bad seed', ['run', 'scenarios/hello.yaml', '--seed', 'abc'], /^aura-lab: --seed: expected a non-negative integer, got "abc"$/],
    ['no scenario', ['run'], /^aura-lab: run: expected one scenario file/],
    ['an unknown option', ['run', 'scenarios/hello.yaml', '--sed', '1'], /^aura-lab: Unknown option '--sed'/],
    ['an unknown command', ['explode'], /^aura-lab: unknown command "explode"/],
  ])('refuses %s with one clear line, exit 2, and writes nothing to --out', async (_label, args, message) => {
    const out = join(work.path, `refused-${Math.abs(args.join(' ').length)}-${args[1] ?? 'x'}`.replace(/[^\w/-]/g, '_'));
    const result = await runCli([...args, '--out', out], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('never overwrites an existing run directory', async () => {
    const out = join(work.path, 'occupied');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const result = await runCli(['run', 'scenarios/hello.yaml', '--out', out], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/output directory is not empty/);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('mine');
    // A file where the directory would go is named as one, and left as it is.
    const file = join(work.path, 'a-file');
    writeFileSync(file, 'mine');
    const onFile = await runCli(['run', 'scenarios/hello.yaml', '--out', file], env);
    expect([onFile.code, onFile.stderr.trim()]).toEqual([2, `aura-lab: ${file}: is a file, not an output directory; a run never overwrites another`]);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });
});

describe('aura-lab validate', () => {
  it('accepts hello.yaml and lists every problem of a broken file', async () => {
    const good = await runCli(['validate', 'scenarios/hello.yaml']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/valid scenario hello/);
    const dir = temporaryDirectory();
    try {
      const file = join(dir.path, 'two-problems.yaml');
      writeFileSync(file, 'version: 1\nname: x\nseed: -1\nduration: 5\nworkload: []\n');
      const bad = await runCli(['validate', file]);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(3);
      expect(bad.stderr).toMatch(/two-problems\.yaml:3:7: seed: expected an integer between 0/);
    } finally {
      dir.remove();
    }
  });
});

describe('aura-lab experiment import', () => {
  it('refuses JSON that is not an object as unusable input (exit 2), writing nothing', async () => {
    for (const [text, what] of [['[1, 2]', 'an array'], ['null', 'null'], ['"text"', 'a string']] as const) {
      const file = join(work.path, 'not-an-experiment.json');
      writeFileSync(file, text);
      const out = join(work.path, 'imported.yaml');
      const result = await runCli(['experiment', 'import', file, '--out', out], env);
      expect([result.code, result.stderr.trim()]).toEqual([2, `aura-lab: ${file}: not a Chaos Toolkit experiment (a JSON object), but ${what}`]);
      expect(existsSync(out)).toBe(false);
    }
  });
});
