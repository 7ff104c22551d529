/** Run control, forks and telemetry over the engine API, as the UI and scripts use them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSweep } from '../../src/node/sweep.ts';
import { repoRoot } from '../support/fixtures.ts';
import { rejection, startEngine, type EngineHarness } from '../support/engine.ts';

let engine: EngineHarness;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('run control over the API', () => {
  it('pauses, steps, changes a rate and resumes; a fork of the live run keeps its actions so far', async () => {
    const { runId } = await engine.client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    await sleep(300);
    const paused = await engine.client.request('run.pause', { runId });
    expect(paused.paused).toBe(true);
    await sleep(200);
    expect((await engine.client.request('run.get', { runId })).events).toBe(paused.events);
    expect((await engine.client.request('run.step', { runId, events: 10 })).events).toBe(paused.events + 10);
    const changed = await engine.client.request('run.set', { runId, path: 'workload.orders.rate.perSecond', value: 80 });
    expect(changed.events).toBe(paused.events + 11);
    const bad = await rejection(engine.client.request('run.set', { runId, path: 'workload.orders.rate.perSecond', value: 'fast' }));
    expect(bad.code).toBe('validation');
    expect(bad.message).toMatch(/rate\.perSecond: expected a number/);
    const resumed = await engine.client.request('run.resume', { runId });
    expect(resumed.paused).toBe(false);
    await sleep(200);
    // Fork the live run after all three actions: the fork must share everything up to there.
    const at = resumed.events + 5;
    while ((await engine.client.request('run.get', { runId })).events < at) await sleep(50);
    const fork = await engine.client.request('run.fork', { from: runId, at, set: [{ path: 'workload.payments.rate.perSecond', value: 1 }] });
    await engine.client.request('run.speed', { runId, speed: 'max' });
    const [source, forked] = await Promise.all([engine.waitForRun(runId), engine.waitForRun(fork.runId)]);
    expect(source.status).toBe('completed');
    expect(forked.status).toBe('completed');
    const diff = await engine.client.request('runs.diff', { a: runId, b: fork.runId });
    expect(diff.sharedPrefix).toBe(at);
    expect(diff.firstDivergence?.b?.type).toBe('ParameterChanged');
    expect(diff.a.actions).toBe(3);
    expect(diff.b.actions).toBe(4); // the three it shares, and its own change
    const timeline = await engine.client.request('run.timeline', { runId, buckets: 60 });
    expect(timeline.actions.map((action) => action.type)).toEqual(['RunPaused', 'ParameterChanged', 'RunResumed']);
    expect(timeline.buckets.reduce((sum, bucket) => sum + bucket.events, 0)).toBe(source.headPosition);
    const telemetry = await engine.client.request('telemetry.get', { runId, fromSecond: 0 });
    expect(telemetry.finalSeconds).toBe(telemetry.seconds.length);
    expect(telemetry.seconds.reduce((sum, row) => sum + row.events, 0)).toBe(source.headPosition);
    expect((await rejection(engine.client.request('run.pause', { runId }))).code).toBe('conflict');
  }, 60_000);

  it('lists sweeps and serves a completed sweep\'s results', async () => {
    const text = readFileSync(join(repoRoot, 'scenarios', 'experiments', 'persuasion.yaml'), 'utf8').replace('replicates: 200', 'replicates: 20');
    await runSweep(text, 'persuasion.yaml', { outDir: join(engine.dataDir, 'sweeps', 'persuasion') });
    const { sweeps } = await engine.client.request('sweeps.list', {});
    expect(sweeps).toEqual([{ name: 'persuasion', dir: join(engine.dataDir, 'sweeps', 'persuasion'), cells: 9, replicates: 20, complete: true }]);
    const results = await engine.client.request('sweeps.results', { name: 'persuasion' });
    expect(results.cells).toHaveLength(9);
    expect(results.cells[8]).toMatchObject({ parameters: { 'agents[*].params.persuasionBias': 0.6, rounds: 5 }, accuracy: { n: 20 } });
    expect((await rejection(engine.client.request('sweeps.results', { name: 'nothing-here' }))).code).toBe('not_found');
  }, 60_000);
});
