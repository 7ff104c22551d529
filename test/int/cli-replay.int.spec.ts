/** replay, fork, diff and schema as a user runs them: output, JSON and exit codes. */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-cli-replay-');
afterAll(() => work.remove());
const env = { AURA_LAB_HOME: join(work.path, 'home') };
const source = join(work.path, 'source');

describe('aura-lab replay, fork, diff, schema', () => {
  it('replays a run (exit 0), names an altered position (exit 1) and refuses a non-run (exit 2)', async () => {
    expect((await runCli(['run', 'scenarios/hello.yaml', '--out', source, '--json'], env)).code).toBe(0);
    const replay = await runCli(['replay', source, '--json'], env);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ identical: true, events: 3302, recordedHead: 3302 });

    const altered = join(work.path, 'altered');
    mkdirSync(altered);
    copyFileSync(join(source, 'events.sqlite'), join(altered, 'events.sqlite'));
    copyFileSync(join(source, 'manifest.json'), join(altered, 'manifest.json'));
    const db = new Database(join(altered, 'events.sqlite'));
    db.prepare(`UPDATE events SET virtual_time_us = virtual_time_us + 1 WHERE position = 2024`).run();
    db.close();
    const diverged = await runCli(['replay', altered], env);
    expect(diverged.code).toBe(1);
    expect(diverged.stdout).toMatch(/^diverged at position 2024: the recorded event differs/);
    expect(diverged.stdout).toMatch(/virtual time .*<$/m);

    const notARun = await runCli(['replay', work.path], env);
    expect(notARun.code).toBe(2);
    expect(notARun.stderr).toMatch(/not a run directory|no manifest/);
  }, 60_000);

  it('forks a run with a changed rate, and diff shows where and how the two parted', async () => {
    const fork = join(work.path, 'fork');
    const forked = await runCli(['fork', source, '--at', '1500', '--set', 'workload.payments.rate.perSecond=60', '--out', fork, '--json'], env);
    expect(forked.stderr).toBe('');
    expect(forked.code).toBe(0);
    expect(JSON.parse(forked.stdout)).toMatchObject({ status: 'completed', outDir: fork });
    expect((await runCli(['replay', fork], env)).code).toBe(0);

    const diff = await runCli(['diff', source, fork, '--json'], env);
    expect(diff.code).toBe(1);
    const report = JSON.parse(diff.stdout) as { sharedPrefix: number; firstDivergence: { b: { type: string } }; a: { byType: Record<string, number> }; b: { byType: Record<string, number> } };
    expect(report.sharedPrefix).toBe(1500);
    expect(report.firstDivergence.b.type).toBe('ParameterChanged');
    expect(report.b.byType.PaymentCaptured).toBeGreaterThan(report.a.byType.PaymentCaptured ?? 0);
    const text = await runCli(['diff', source, fork], env);
    expect(text.stdout).toMatch(/^first divergence at position 1501 \(positions 1\.\.1500 are the same\)/);
    expect(text.stdout).toMatch(/PaymentCaptured +900 +\d+ +<$/m);
    expect((await runCli(['diff', source, source], env)).code).toBe(0);
  }, 60_000);

  it('refuses bad forks with exit 2 and writes nothing', async () => {
    const out = join(work.path, 'bad-fork');
    const badPath = await runCli(['fork', source, '--at', '10', '--set', 'workload.orders.speed=3', '--out', out], env);
    expect(badPath.code).toBe(2);
    expect(badPath.stderr).toMatch(/cannot set workload\.orders\.speed: expected one of workload\.<generator>\.rate/);
    const badValue = await runCli(['fork', source, '--at', '10', '--set', 'workload.orders.rate.perSecond=0', '--out', out], env);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toMatch(/rate\.perSecond: expected a number > 0/);
    for (const at of ['soon', '0']) {
      const badAt = await runCli(['fork', source, '--at', at], env);
      expect([badAt.code, badAt.stderr]).toEqual([2, expect.stringContaining(`--at expects a position (a positive integer), got "${at}"`)]);
    }
    // A chaos experiment's run: its faults come from the experiment, which a fork would leave out.
    const experiment = join(work.path, 'experiment');
    expect((await runCli(['experiment', 'run', 'scenarios/chaos/load-spike.yaml', '--out', experiment], env)).code).toBeLessThan(2);
    const ofExperiment = await runCli(['fork', experiment, '--at', '100', '--out', out], env);
    expect([ofExperiment.code, ofExperiment.stderr]).toEqual([2, expect.stringContaining("is a chaos experiment's run: a fork replays a scenario and its operator actions, without the experiment's faults")]);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('exports a run as one file and imports it back, verified, replaying to the same hashes', async () => {
    const file = join(work.path, 'hello.aura-run');
    const exported = await runCli(['export', source, '--out', file, '--json'], env);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ events: 3302 });
    expect((await runCli(['export', source, '--out', file], env)).code).toBe(2); // never overwrites
    const imported = join(work.path, 'imported');
    const result = await runCli(['import', file, '--out', imported, '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ events: 3302, runDir: imported });
    expect(existsSync(join(imported, 'report.json'))).toBe(true);
    const replay = await runCli(['replay', imported, '--json'], env);
    expect(JSON.parse(replay.stdout)).toMatchObject({ identical: true, events: 3302 });
    expect(JSON.parse((await runCli(['diff', source, imported, '--json'], env)).stdout)).toMatchObject({ identical: true });

    // A bundle whose log was altered does not verify, and nothing is kept.
    const tampered = join(work.path, 'tampered.aura-run');
    copyFileSync(file, tampered);
    const db = new Database(tampered);
    db.prepare(`UPDATE events SET payload = '{"amount":1}' WHERE position = 100`).run();
    db.close();
    const refused = await runCli(['import', tampered, '--out', join(work.path, 'tampered-run')], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not verify/);
    expect(existsSync(join(work.path, 'tampered-run'))).toBe(false);
    const notABundle = await runCli(['import', join(source, 'manifest.json')], env);
    expect(notABundle.code).toBe(2);
    expect(notABundle.stderr).toMatch(/not a run bundle/);
    const aRunDirectory = await runCli(['import', source], env);
    expect([aRunDirectory.code, aRunDirectory.stderr]).toEqual([2, expect.stringContaining('a directory, not a run bundle (aura-lab export <run> --out FILE makes one)')]);
  }, 60_000);

  it('prints the scenario format as JSON Schema', async () => {
    const result = await runCli(['schema'], env);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { $schema: string; properties: Record<string, unknown>; required: string[] };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['version', 'name', 'seed', 'duration', 'workload', 'projections']));
    expect(JSON.stringify(schema)).toContain('"diurnal"');
    for (const extra of [['--json'], ['extra']]) expect((await runCli(['schema', ...extra], env)).code).toBe(2);
  }, 30_000);
});
