/**
 * `npm run bench -- sim [--realtime-seconds S] [--seeks N]`: the simulation pipeline, on
 * scenarios/stress.yaml (1,000,000 events per virtual minute, 3 projections, 2 workers).
 *
 * - end to end: the whole scenario as fast as possible (generate, append, project, until every
 *   projection has caught up); baseline in the same run: the kernel alone generating the same
 *   events (no store, no projections).
 * - real time: the scenario paced at speed 1 for S virtual seconds (default 60); append-to-projected
 *   latency percentiles from the run's telemetry.
 * - seek: a projection's state at N random positions of the 1,000,000-event run (snapshot plus
 *   fold); baseline: the same states folded from position 1.
 * - replay: re-executing the run from its manifest and checking every event and checkpoint;
 *   baseline: reading the log's rows alone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createRandom } from '../../src/core/kernel/random.ts';
import { RunKernel } from '../../src/core/sim/kernel.ts';
import { RunController } from '../../src/host/run-controller.ts';
import { EventReader } from '../../src/node/event-reader.ts';
import { ProjectionPool } from '../../src/node/projection-pool.ts';
import { replayRun } from '../../src/node/replay.ts';
import { parseScenarioText } from '../../src/node/scenario-loader.ts';
import { systemClock } from '../../src/node/system-clock.ts';
import { projectionStateAt } from '../../src/node/time-travel.ts';
import { foldEvents } from '../../src/core/projections/projection.ts';
import { findProjection } from '../../src/core/projections/registry.ts';
import { benchOptions, median, percentile, progress, report, round, target } from './harness.ts';

const options = benchOptions({ 'realtime-seconds': 60, seeks: 40 });
const realtimeSeconds = options['realtime-seconds'];
const seeks = options.seeks;
const dir = mkdtempSync(join(tmpdir(), 'aura-bench-sim-'));
const scenarioPath = join(import.meta.dirname, '..', '..', 'scenarios', 'stress.yaml');
const scenarioText = readFileSync(scenarioPath, 'utf8');
const scenario = parseScenarioText(scenarioText, scenarioPath);

function generateOnly(): { seconds: number; events: number } {
  const started = performance.now();
  const kernel = new RunKernel(scenario, scenario.seed ?? 1);
  let events = 0;
  while (kernel.status !== 'completed') events += kernel.advance(Number.POSITIVE_INFINITY, 5_000).length;
  return { seconds: (performance.now() - started) / 1000, events };
}

async function run(pool: ProjectionPool, name: string, text: string, speed: number | 'max'): Promise<RunController> {
  const parsed = parseScenarioText(text, scenarioPath);
  const tick = progress(`${name} (${speed === 'max' ? 'as fast as possible' : `real time x${speed}`})`);
  const controller = new RunController({ runId: name, scenario: parsed, scenarioText: text, scenarioFile: scenarioPath, seed: parsed.seed ?? 1, speed, outDir: join(dir, name) }, pool, systemClock, (message) => {
    if (message.type === 'push' && message.topic === 'run.progress') tick(message.data.virtualTimeUs, message.data.durationUs);
  });
  await controller.done;
  tick(1, 1);
  return controller;
}

function seekTimes(runDir: string, count: number): { seekMs: number[]; scratchMs: number[]; head: number } {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    const head = (db.prepare('SELECT max(position) AS head FROM events').get() as { head: number }).head;
    const random = createRandom(7);
    const seekMs: number[] = [];
    const tick = progress('seeks');
    for (let index = 0; index < count; index++) {
      const position = random.int(1, head);
      const started = performance.now();
      projectionStateAt(db, 'events-per-second-by-type', position);
      seekMs.push(performance.now() - started);
      tick(index + 1, count);
    }
    // Baseline: three states folded from position 1 (no snapshots).
    const definition = findProjection('events-per-second-by-type');
    if (definition === undefined) throw new Error('no events-per-second-by-type');
    const reader = new EventReader(db);
    const scratchMs = [Math.floor(head / 4), Math.floor(head / 2), head].map((position) => {
      const started = performance.now();
      foldEvents(definition, definition.initial(), reader.readRange(1, position));
      return performance.now() - started;
    });
    return { seekMs, scratchMs, head };
  } finally {
    db.close();
  }
}

function readRowsSeconds(runDir: string): number {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    const started = performance.now();
    const reader = new EventReader(db);
    let rows = 0;
    for (const _row of reader.pagedRawRange(1, Number.MAX_SAFE_INTEGER)) rows += 1;
    if (rows === 0) throw new Error('empty log');
    return (performance.now() - started) / 1000;
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const pool = new ProjectionPool({ threads: 2 });
  try {
    const generated = generateOnly();
    const asap = await run(pool, 'asap', scenarioText, 'max');
    const asapSummary = asap.summary();
    const endToEndSeconds = asapSummary.wallMs / 1000;

    const seek = seekTimes(asapSummary.outDir, seeks);
    const sortedSeeks = [...seek.seekMs].sort((a, b) => a - b);

    const tick = progress('replay');
    const replayStarted = performance.now();
    const replay = replayRun(asapSummary.outDir, { onProgress: tick });
    const replaySeconds = (performance.now() - replayStarted) / 1000;
    if (!replay.identical) throw new Error(`replay diverged: ${JSON.stringify(replay.divergence)}`);
    const readSeconds = readRowsSeconds(asapSummary.outDir);

    const realtimeText = scenarioText.replace(/^duration: .*$/m, `duration: ${realtimeSeconds}s`);
    const realtime = await run(pool, 'realtime', realtimeText, 1);
    const latency = realtime.telemetry(0).latency;
    const realtimeSummary = realtime.summary();

    report(
      'sim',
      {
        parameters: { scenario: 'scenarios/stress.yaml', projections: scenario.projections, workers: 2, realtimeSeconds, seeks },
        results: {
          endToEnd: { events: asapSummary.headPosition, seconds: round(endToEndSeconds, 2), eventsPerSecond: round(asapSummary.headPosition / endToEndSeconds) },
          generateOnlyBaseline: { events: generated.events, seconds: round(generated.seconds, 2), eventsPerSecond: round(generated.events / generated.seconds) },
          realtime: { events: realtimeSummary.headPosition, wallSeconds: round(realtimeSummary.wallMs / 1000, 1), latencyMs: { p50: round(latency.p50Ms, 2), p95: round(latency.p95Ms, 2), p99: round(latency.p99Ms, 2), max: round(latency.maxMs, 2) }, samples: latency.count },
          seek: { head: seek.head, medianMs: round(median(seek.seekMs), 1), p95Ms: round(percentile(sortedSeeks, 0.95), 1), maxMs: round(sortedSeeks.at(-1) ?? Number.NaN, 1), foldFromScratchBaselineMs: seek.scratchMs.map((ms) => round(ms)) },
          replay: { events: replay.events, seconds: round(replaySeconds, 2), checkpoints: replay.checkpointsChecked, readRowsBaselineSeconds: round(readSeconds, 2) },
        },
      },
      [
        target('stress scenario in real time, append-to-projected p95', round(latency.p95Ms, 2), '<=', 10, 'ms'),
        target('stress scenario in real time, append-to-projected p99', round(latency.p99Ms, 2), '<=', 50, 'ms'),
        target('1,000,000 events end to end as fast as possible', round(endToEndSeconds, 2), '<=', 15, 's'),
        target('seek to a position of the 1,000,000-event run (slowest)', round(sortedSeeks.at(-1) ?? Number.NaN, 1), '<=', 200, 'ms'),
        target('replay verification of the 1,000,000-event run', round(replaySeconds, 2), '<=', 20, 's'),
      ],
    );
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
