/**
 * Sweeps as a user runs them: results with confidence intervals, the same CSV after a sweep is
 * killed half-way and resumed, refusals of bad experiments.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-sweep-');
afterAll(() => work.remove());
const env = { AURA_LAB_HOME: join(work.path, 'home') };
const experiment = join(work.path, 'persuasion.yaml');
writeFileSync(experiment, readFileSync(join(repoRoot, 'scenarios', 'experiments', 'persuasion.yaml'), 'utf8').replace('replicates: 200', 'replicates: 700'));

function recorded(dir: string): number {
  try {
    const db = new Database(join(dir, 'events.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM sweep_results').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

describe('aura-lab sweep', () => {
  it('writes per-cell means, deviations and confidence intervals; a sweep killed half-way resumes to the same CSV', async () => {
    const whole = join(work.path, 'whole');
    const complete = await runCli(['sweep', experiment, '--out', whole, '--json'], env);
    expect(complete.stderr).toBe('');
    expect(complete.code).toBe(0);
    expect(JSON.parse(complete.stdout)).toMatchObject({ complete: true, debates: 6300, total: 6300, played: 6300, cells: 9 });
    const csv = readFileSync(join(whole, 'results.csv'), 'utf8');
    const rows = csv.trim().split('\n');
    expect(rows[0]).toBe('cell,agents[*].params.persuasionBias,rounds,n,accuracy_mean,accuracy_std,accuracy_ci_low,accuracy_ci_high,consensusRate_mean,consensusRate_std,consensusRate_ci_low,consensusRate_ci_high,rounds_mean,rounds_std,rounds_ci_low,rounds_ci_high,messages_mean,messages_std,messages_ci_low,messages_ci_high');
    expect(rows).toHaveLength(10);
    const accuracy = (row: string) => Number(row.split(',')[4]);
    // Choi et al. 2025: without a persuasion bias, more rounds do not raise accuracy; with one (Du et al. 2023) they do.
    expect(Math.abs(accuracy(rows[3]!) - accuracy(rows[1]!))).toBeLessThan(0.06);
    expect(accuracy(rows[9]!)).toBeGreaterThan(accuracy(rows[7]!) + 0.1);
    const json = JSON.parse(readFileSync(join(whole, 'results.json'), 'utf8')) as { replicateSeeds: number[]; cells: { accuracy: { n: number; ciLow: number; ciHigh: number; mean: number } }[] };
    expect(json.replicateSeeds).toHaveLength(700);
    expect(new Set(json.replicateSeeds).size).toBe(700);
    for (const cell of json.cells) {
      expect(cell.accuracy.n).toBe(700);
      expect(cell.accuracy.ciLow).toBeLessThan(cell.accuracy.mean);
      expect(cell.accuracy.ciHigh).toBeGreaterThan(cell.accuracy.mean);
    }

    // The same sweep, killed (SIGKILL) once some debates are recorded, then run again.
    const interrupted = join(work.path, 'interrupted');
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'sweep', experiment, '--out', interrupted], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const started = Date.now();
    while (recorded(interrupted) < 1_000 && Date.now() - started < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGKILL');
    await exited;
    const partial = recorded(interrupted);
    expect(partial).toBeGreaterThanOrEqual(1_000);
    expect(partial).toBeLessThan(6300);
    expect(existsSync(join(interrupted, 'results.csv'))).toBe(false);
    const resumed = await runCli(['sweep', experiment, '--out', interrupted, '--json'], env);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { played: number; debates: number };
    expect(report.debates).toBe(6300);
    expect(report.played).toBe(6300 - partial);
    expect(readFileSync(join(interrupted, 'results.csv'), 'utf8')).toBe(csv);
    // Every debate's events are in the sweep's log: a killed batch re-played adds nothing twice.
    const db = new Database(join(interrupted, 'events.sqlite'), { readonly: true });
    try {
      expect((db.prepare("SELECT count(*) AS n FROM events e JOIN event_types t USING (type_id) WHERE t.name = 'DebateDecided'").get() as { n: number }).n).toBe(6300);
    } finally {
      db.close();
    }
  }, 120_000);

  it('stops on SIGTERM once the debates in hand are recorded (exit 130, no results), and the same command finishes it', async () => {
    const stopped = join(work.path, 'stopped');
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'sweep', experiment, '--out', stopped], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const started = Date.now();
    while (recorded(stopped) < 1_000 && Date.now() - started < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    expect(await exited).toBe(130);
    const partial = recorded(stopped);
    expect(partial).toBeLessThan(6300);
    expect(stdout).toMatch(new RegExp(`^sweep persuasion stopped at ${partial.toLocaleString('en')} of 6,300 debates; run the same command to resume`));
    expect(existsSync(join(stopped, 'results.csv'))).toBe(false);
    const resumed = await runCli(['sweep', experiment, '--out', stopped, '--json'], env);
    expect([resumed.code, (JSON.parse(resumed.stdout) as { played: number }).played]).toEqual([0, 6300 - partial]);
    expect(readFileSync(join(stopped, 'results.csv'), 'utf8')).toBe(readFileSync(join(work.path, 'whole', 'results.csv'), 'utf8'));
  }, 120_000);

  it('refuses a bad experiment with the file, line and field, and another experiment in the same directory', async () => {
    const bad = join(work.path, 'bad.yaml');
    writeFileSync(bad, readFileSync(experiment, 'utf8').replace('values: [1, 3, 5]', 'values: [1, 3, 0]'));
    const refused = await runCli(['sweep', bad, '--out', join(work.path, 'bad-out')], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/rounds/);
    expect(existsSync(join(work.path, 'bad-out'))).toBe(false);
    const other = join(work.path, 'other.yaml');
    writeFileSync(other, readFileSync(experiment, 'utf8').replace('seed: 7', 'seed: 8'));
    const conflict = await runCli(['sweep', other, '--out', join(work.path, 'whole')], env);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toMatch(/holds another experiment/);
    // A file where the sweep's directory would go is named as one, and left as it is.
    const file = join(work.path, 'a-file');
    writeFileSync(file, 'mine');
    const onFile = await runCli(['sweep', experiment, '--out', file], env);
    expect([onFile.code, onFile.stderr.trim()]).toEqual([2, `aura-lab: ${file}: is a file, not an output directory; a sweep never writes over other files`]);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  }, 60_000);
});
