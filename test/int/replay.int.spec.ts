/**
 * Reproducibility, end to end through the run controller and a real SQLite log: same scenario
 * and seed, byte-identical event tables; replays that confirm a run or name the first altered
 * event; forks that share their prefix; diffs that find where two runs part.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../src/node/scenario-loader.ts';
import { RunController, type RunSpec } from '../../src/host/run-controller.ts';
import { ProjectionPool } from '../../src/node/projection-pool.ts';
import { systemClock } from '../../src/node/system-clock.ts';
import { replayRun } from '../../src/node/replay.ts';
import { planFork } from '../../src/node/fork.ts';
import { diffRuns } from '../../src/node/run-diff.ts';
import { readRunManifest } from '../../src/node/run-manifest.ts';
import { temporaryDirectory } from '../support/fixtures.ts';
import { dumpEvents } from '../support/run-dir.ts';
import { EventReader } from '../../src/node/event-reader.ts';
import { projectionStateAt } from '../../src/node/time-travel.ts';
import { declaredDurationUs, timelineBuckets } from '../../src/node/timeline.ts';
import { findProjection } from '../../src/core/projections/registry.ts';
import { replayProjection } from '../../src/core/projections/projection.ts';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { readTelemetry } from '../../src/node/telemetry-store.ts';

const pool = new ProjectionPool({ threads: 1 });
const home = temporaryDirectory('aura-lab-replay-');
afterAll(async () => {
  await pool.close();
  home.remove();
});

let runs = 0;
function start(text: string, overrides: Partial<RunSpec> = {}): RunController {
  runs += 1;
  const scenario = parseScenarioText(text, 'generated.yaml');
  return new RunController(
    { runId: `r${runs}`, scenario, scenarioText: text, scenarioFile: 'generated.yaml', seed: scenario.seed ?? 1, speed: 'max', outDir: join(home.path, `r${runs}`), ...overrides },
    pool,
    systemClock,
    () => {},
  );
}

/** A scenario with a random mix of rate profiles and payload shapes, from a seed. */
const scenarioArbitrary = fc.record({
  seed: fc.nat({ max: 1_000_000 }),
  generators: fc.array(
    fc.record({
      rate: fc.oneof(
        fc.record({ profile: fc.constant('constant'), perSecond: fc.integer({ min: 1, max: 300 }) }),
        fc.record({ profile: fc.constant('poisson'), perSecond: fc.integer({ min: 1, max: 300 }) }),
        fc.record({ profile: fc.constant('ramp'), from: fc.integer({ min: 0, max: 50 }), to: fc.integer({ min: 1, max: 400 }), over: fc.constant('3s') }),
        fc.record({ profile: fc.constant('spike'), perSecond: fc.integer({ min: 1, max: 50 }), peak: fc.integer({ min: 50, max: 800 }), at: fc.constant('1s'), for: fc.constant('500ms') }),
        fc.record({ profile: fc.constant('diurnal'), perSecond: fc.integer({ min: 1, max: 200 }), amplitude: fc.double({ min: 0, max: 1, noNaN: true }), period: fc.constant('2s') }),
      ),
      streams: fc.integer({ min: 1, max: 20 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

function scenarioText(spec: { seed: number; generators: { rate: Record<string, unknown>; streams: number }[] }): string {
  return stringify({
    version: 1,
    name: 'generated',
    seed: spec.seed,
    duration: '4s',
    workload: spec.generators.map((generator, index) => ({
      name: `g${index}`,
      streams: { prefix: `s${index}-`, count: generator.streams },
      rate: generator.rate,
      events: [
        { type: 'OrderPlaced', weight: 2, payload: { amount: { int: [1, 1000] }, note: { text: { length: 6 } } } },
        { type: 'RequestCompleted', payload: { latencyMs: { int: [1, 300] }, ok: { oneOf: [true, true, false] } } },
      ],
    })),
    projections: ['events-per-second-by-type', 'slo-status'],
    slos: [
      { name: 'requests', kind: 'availability', objective: 90, latencyBelowMs: 250 },
      { name: 'projected', kind: 'latency', percentile: 95, belowMs: 1000 },
    ],
    alerts: [
      { name: 'burning', kind: 'burnRate', slo: 'requests', above: 3, window: '2s' },
      { name: 'errors', kind: 'threshold', metric: 'errorRate', above: 0.3 },
      { name: 'slow', kind: 'threshold', metric: 'latency.p95', above: 0.001 },
    ],
  });
}

describe('reproducible runs', () => {
  it('writes byte-identical event tables for the same scenario and seed, over many seeds', async () => {
    const samples = fc.sample(scenarioArbitrary, { numRuns: 8, seed: 20261126 });
    for (const [index, sample] of samples.entries()) {
      const text = scenarioText(sample);
      const first = await start(text).done;
      const second = await start(text).done;
      const context = `sample ${index} (fast-check seed 20261126):\n${text}`;
      expect(first.status, context).toBe('completed');
      expect(second.headHash, context).toBe(first.headHash);
      expect(dumpEvents(second.outDir), context).toEqual(dumpEvents(first.outDir));
      expect(replayRun(first.outDir).identical, context).toBe(true);
    }
  }, 120_000);

  it('replays a real-time run that was paused, stepped, re-paced and changed by hand', async () => {
    const text = scenarioText({ seed: 5, generators: [{ rate: { profile: 'constant', perSecond: 200 }, streams: 4 }, { rate: { profile: 'poisson', perSecond: 100 }, streams: 2 }] });
    const run = start(text, { speed: 4 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    run.pause();
    const paused = run.summary().events;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(run.summary().events).toBe(paused);
    run.step(5);
    expect(run.summary().events).toBe(paused + 5);
    run.setParameter('workload.g0.rate.perSecond', 20);
    run.setSpeed('max');
    run.resume();
    const summary = await run.done;
    expect(summary.status).toBe('completed');
    const manifest = readRunManifest(summary.outDir);
    expect(manifest.actions.map((action) => action.action.kind)).toEqual(['pause', 'set', 'resume']);
    const report = replayRun(summary.outDir);
    expect(report.divergence).toBeUndefined();
    expect(report.identical).toBe(true);
    expect(report.checkpointsChecked).toBe(manifest.checkpoints.length);
  }, 60_000);

  it('names the first altered event, side by side, and a forged hash', async () => {
    const text = scenarioText({ seed: 9, generators: [{ rate: { profile: 'constant', perSecond: 3_000 }, streams: 10 }] });
    const summary = await start(text).done;
    expect(summary.headPosition).toBeGreaterThan(10_000);
    const altered = join(home.path, 'altered');
    mkdirSync(altered);
    copyFileSync(join(summary.outDir, 'events.sqlite'), join(altered, 'events.sqlite'));
    copyFileSync(join(summary.outDir, 'manifest.json'), join(altered, 'manifest.json'));
    const db = new Database(join(altered, 'events.sqlite'));
    db.prepare(`UPDATE events SET payload = json_set(payload, '$.amount', 1001) WHERE position = 7777`).run();
    db.close();
    const report = replayRun(altered);
    expect(report.identical).toBe(false);
    expect(report.divergence?.position).toBe(7777);
    expect(report.divergence?.kind).toBe('event');
    expect(report.divergence?.recorded?.payload).toContain('"amount":1001');
    expect(report.divergence?.expected?.payload).not.toContain('"amount":1001');

    const forged = join(home.path, 'forged');
    mkdirSync(forged);
    copyFileSync(join(summary.outDir, 'events.sqlite'), join(forged, 'events.sqlite'));
    copyFileSync(join(summary.outDir, 'manifest.json'), join(forged, 'manifest.json'));
    const forgedDb = new Database(join(forged, 'events.sqlite'));
    forgedDb.prepare('UPDATE events SET hash = zeroblob(32) WHERE position = 11111').run();
    forgedDb.close();
    expect(replayRun(forged).divergence).toMatchObject({ position: 11111, kind: 'hash' });
  }, 60_000);

  it('forks a run: the prefix is shared, the change is recorded, the fork replays, and diff finds the fork point', async () => {
    const text = scenarioText({ seed: 4, generators: [{ rate: { profile: 'constant', perSecond: 500 }, streams: 5 }, { rate: { profile: 'spike', perSecond: 20, peak: 400, at: '1s', for: '500ms' }, streams: 2 }] });
    const source = await start(text).done;
    const plan = planFork(source.outDir, 900, [{ path: 'workload.g0.rate', value: { profile: 'ramp', from: 500, to: 50, over: '2s' } }]);
    const fork = await start(text, { scenario: plan.scenario, seed: plan.seed, actions: plan.actions, forkOf: { runId: source.runId, outDir: source.outDir, at: 900 } }).done;
    expect(fork.status).toBe('completed');
    expect(dumpEvents(fork.outDir).slice(0, 900)).toEqual(dumpEvents(source.outDir).slice(0, 900));
    expect(replayRun(fork.outDir).identical).toBe(true);
    const diff = diffRuns(source.outDir, fork.outDir);
    expect(diff.identical).toBe(false);
    expect(diff.sharedPrefix).toBe(900);
    expect(diff.firstDivergence?.b?.type).toBe('ParameterChanged');
    expect(diff.b.events).toBeLessThan(diff.a.events);
    expect(diff.b.forkOf).toEqual({ runId: source.runId, at: 900 });
    expect(diffRuns(source.outDir, source.outDir)).toMatchObject({ identical: true, firstDivergence: null });
    expect(() => planFork(source.outDir, 900, [{ path: 'workload.g0.rate.perSecond', value: 'fast' }])).toThrow(/expected a number/);
    expect(() => planFork(source.outDir, source.headPosition, [])).toThrow(/completed at position/);
  }, 60_000);

  it('answers a projection state at any position from snapshots, equal to a fold from scratch, and draws the timeline', async () => {
    const text = scenarioText({ seed: 12, generators: [{ rate: { profile: 'spike', perSecond: 2_000, peak: 12_000, at: '2s', for: '1s' }, streams: 50 }] });
    const summary = await start(text).done;
    expect(summary.headPosition).toBeGreaterThanOrEqual(18_002); // 18,000 requests, the lifecycle events and a few alerts
    expect(summary.headPosition).toBeLessThan(20_000);
    const db = new Database(join(summary.outDir, 'events.sqlite'), { readonly: true });
    try {
      const reader = new EventReader(db);
      const snapshots = (db.prepare("SELECT count(*) AS n FROM projection_snapshots WHERE name = 'events-per-second-by-type'").get() as { n: number }).n;
      expect(snapshots).toBe(1); // at 10,000 (the next boundary, 20,000, is past the head)
      const definition = findProjection('events-per-second-by-type')!;
      for (const position of [0, 1, 9_999, 10_000, 10_001, 15_000, summary.headPosition]) {
        const at = projectionStateAt(db, 'events-per-second-by-type', position);
        const fromScratch = replayProjection(definition, position === 0 ? [] : [...reader.readRange(1, position)]).stateJson;
        expect(canonicalJson(at.state), `position ${position}`).toBe(fromScratch);
        expect(at.foldedEvents).toBeLessThan(10_000);
      }
      expect(() => projectionStateAt(db, 'events-per-second-by-type', summary.headPosition + 1)).toThrow(/past the head/);
      const buckets = timelineBuckets(db, declaredDurationUs(db), 40, summary.headPosition);
      expect(buckets.reduce((sum, bucket) => sum + bucket.events, 0)).toBe(summary.headPosition);
      // The spike (2 s to 3 s of a 4 s run: buckets 20..29) is six times as dense.
      expect(buckets[25]!.events / buckets[5]!.events).toBeGreaterThan(5);
      expect(buckets[25]!.events / buckets[5]!.events).toBeLessThan(7);
    } finally {
      db.close();
    }
  }, 60_000);

  it('records telemetry per virtual second apart from the log, with SLOs and both kinds of alerts', async () => {
    const text = scenarioText({ seed: 21, generators: [{ rate: { profile: 'constant', perSecond: 400 }, streams: 4 }] });
    const run = start(text);
    const summary = await run.done;
    const telemetry = run.telemetry(0);
    expect(telemetry.seconds.map((row) => row.second)).toEqual([0, 1, 2, 3, 4]);
    expect(telemetry.seconds.reduce((sum, row) => sum + row.events, 0)).toBe(summary.headPosition);
    // Every event of every live projection was measured (2 projections).
    expect(telemetry.latency.count).toBe(summary.headPosition * 2);
    const requests = telemetry.seconds.reduce((sum, row) => sum + row.requests, 0);
    expect(requests).toBeGreaterThan(400);
    const availability = telemetry.slos.find((slo) => slo.name === 'requests');
    const failed = telemetry.seconds.reduce((sum, row) => sum + row.failedRequests, 0);
    expect(availability?.value).toBeCloseTo(((requests - failed) / requests) * 100, 9);
    expect(telemetry.slos.find((slo) => slo.name === 'projected')).toMatchObject({ kind: 'latency', met: true });
    // 1 in 3 requests fail: the burn rate (33% over a 10% budget) fires in the log; any latency
    // above a microsecond fires "slow", which never enters the log.
    expect(telemetry.alerts.find((alert) => alert.rule === 'burning')).toMatchObject({ logged: true, firedAtUs: 1_000_000 });
    expect(telemetry.alerts.find((alert) => alert.rule === 'slow')).toMatchObject({ logged: false });
    const types = (dumpEvents(summary.outDir) as { type: string; stream: string }[]).filter((row) => row.stream === '$alerts').map((row) => row.type);
    expect(types.length).toBe(telemetry.alerts.filter((alert) => alert.logged).length + telemetry.alerts.filter((alert) => alert.logged && alert.resolvedAtUs !== null).length);
    const db = new Database(join(summary.outDir, 'events.sqlite'), { readonly: true });
    try {
      expect(readTelemetry(db)).toEqual(JSON.parse(JSON.stringify(run['recorder'].stored())));
    } finally {
      db.close();
    }
    expect(replayRun(summary.outDir).identical).toBe(true);
  }, 60_000);
});
