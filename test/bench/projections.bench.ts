/**
 * `npm run bench -- projections [--events N] [--rounds R]`: the projection daemon.
 *
 * - rebuild: 4 projections (2 of them sharded) over a log of N events (default 1,000,000), from
 *   scratch, with 1 worker and with 2 workers, alternating; the speed-up is the ratio. Each
 *   pool rebuilds twice: first with workers that have folded nothing (cold, the target: a lab's
 *   first run), then again on the same workers (warm: later runs share the pool).
 * - live: appends at 20,000 events/s for 10 s while the 4 projections keep up on 2 workers;
 *   append-to-projected latency percentiles (from the commit of an event to the commit of the
 *   projection state that includes it).
 * - recovery: a worker is killed while live; the time until every projection that was behind at
 *   the kill has advanced again.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../src/core/events/event.ts';
import { labEventTypes } from '../../src/core/events/lab-events.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom, type Random } from '../../src/core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../../src/core/ports/event-store.ts';
import { ProjectionDaemon } from '../../src/node/projection-daemon.ts';
import { ProjectionPool } from '../../src/node/projection-pool.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { systemClock } from '../../src/node/system-clock.ts';
import { benchOptions, median, progress, report, round, target } from './harness.ts';

const options = benchOptions({ events: 1_000_000, rounds: 3 });
const eventCount = options.events;
const rounds = options.rounds;
const projections = ['events-per-second-by-type', 'throughput-by-stream', 'debate-standings', 'slo-status'];
const dir = mkdtempSync(join(tmpdir(), 'aura-bench-projections-'));

/** A mixed workload: orders over 1,000 streams, requests, and debates, 50,000 events per virtual second. */
function batch(random: Random, first: number, size: number): StreamAppend[] {
  const appends: StreamAppend[] = [];
  for (let index = first; index < first + size; index++) {
    const pick = random.int(0, 9);
    const virtualTimeUs = index * 20;
    const id = asEventId(index.toString(16).padStart(16, '0') + random.nextUint32().toString(16).padStart(8, '0') + random.nextUint32().toString(16).padStart(8, '0'));
    let stream: string;
    let event: NewEvent;
    if (pick < 6) {
      stream = `order-${random.int(0, 999)}`;
      event = { id, type: pick < 4 ? 'OrderPlaced' : 'OrderShipped', schemaVersion: 1, payload: { amount: random.int(1, 500), currency: 'EUR' }, metadata: { virtualTimeUs } };
    } else if (pick < 9) {
      stream = `api-${random.int(0, 9)}`;
      event = { id, type: 'RequestCompleted', schemaVersion: 1, payload: { latencyMs: random.int(1, 200), ok: random.int(0, 50) !== 0 }, metadata: { virtualTimeUs } };
    } else {
      const debateId = `debate-${random.int(0, 499)}`;
      stream = `debate-${debateId}`;
      event = { id, type: labEventTypes.argumentMade, schemaVersion: 1, payload: { debateId, agent: `agent-${random.int(0, 4)}`, round: random.int(1, 3), answer: random.int(0, 1) === 0 ? 'yes' : 'no', confidence: random.int(0, 100) / 100 }, metadata: { virtualTimeUs } };
    }
    appends.push({ stream: asStreamName(stream), events: [event], expected: anyVersion });
  }
  return appends;
}

function buildLog(path: string, count: number): void {
  const store = new SqliteEventStore(path, { backgroundCheckpoints: true });
  const random = createRandom(1);
  const tick = progress(`writing a log of ${count.toLocaleString('en')} events`);
  for (let first = 0; first < count; first += 5_000) {
    store.appendBatch(batch(random, first, Math.min(5_000, count - first)));
    tick(first + 5_000, count);
  }
  store.closeFinished();
}

/** Every worker started, its modules loaded and its connection open before the clock starts (an empty range each). */
async function warm(pool: ProjectionPool, path: string, threads: number): Promise<void> {
  await Promise.all(Array.from({ length: threads }, () => pool.run({ dbPath: path, fromPosition: 1, toPosition: 0, folds: [{ projection: 'slo-status', shard: 0, stateJson: '{}', skip: [], snapshotEvery: 0 }] }).catch(() => undefined)));
}

/** Rebuilds the projections from scratch on a copy of the log, with `pool`; returns seconds. */
async function rebuildOn(pool: ProjectionPool, threads: number, source: string, name: string): Promise<number> {
  const path = join(dir, name);
  copyFileSync(source, path);
  await warm(pool, path, threads);
  const store = new SqliteEventStore(path);
  const started = performance.now();
  const daemon = new ProjectionDaemon(store, pool, projections, systemClock);
  await daemon.drain();
  const seconds = (performance.now() - started) / 1000;
  daemon.close();
  store.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  return seconds;
}

/**
 * Two rebuilds with a new pool of `threads` workers: the first on workers that have folded
 * nothing yet (cold: a lab's first run; each worker compiles the folds as it goes), the second
 * on the same workers (warm: a lab's later runs share the pool). Seconds of each.
 */
async function rebuild(source: string, threads: number, name: string): Promise<{ cold: number; warm: number }> {
  const pool = new ProjectionPool({ threads });
  // A file of its own for each (a worker keeps its connection to the last file for a moment).
  const cold = await rebuildOn(pool, threads, source, `${name}-cold.sqlite`);
  const warmed = await rebuildOn(pool, threads, source, `${name}-warm.sqlite`);
  await pool.close();
  return { cold, warm: warmed };
}

/**
 * Appends at `rate` events/s for `seconds`; latency percentiles. With `kill`, one worker is
 * killed halfway and the time until every projection is past the head at the kill is measured
 * (those rounds are for recovery only: the kill's pause would otherwise be the p99).
 */
async function live(rate: number, seconds: number, kill: boolean): Promise<{ p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; recoveryMs: number; appendedPerSecond: number }> {
  const path = join(dir, 'live.sqlite');
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const store = new SqliteEventStore(path, { backgroundCheckpoints: true });
  const pool = new ProjectionPool({ threads: 2 });
  await warm(pool, path, 2);
  const daemon = new ProjectionDaemon(store, pool, projections, systemClock, undefined, { batchEvents: 2_000 });
  const random = createRandom(2);
  const tickMs = 10;
  const perTick = (rate * tickMs) / 1000;
  const started = performance.now();
  let appended = 0;
  let killAt: { atMs: number; checkpoints: Map<string, number>; head: number } | undefined;
  let recoveryMs = Number.NaN;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / tickMs) * perTick);
    if (due > appended) {
      store.appendBatch(batch(random, appended, due - appended));
      appended = due;
    }
    const elapsed = performance.now() - started;
    if (kill && killAt === undefined && elapsed > (seconds * 1000) / 2) {
      const health = daemon.health();
      killAt = { atMs: performance.now(), checkpoints: new Map(health.map((item) => [item.name, item.checkpoint])), head: store.headPosition() };
      void pool.workers[0]?.terminate();
    }
    if (killAt !== undefined && Number.isNaN(recoveryMs)) {
      const all = daemon.health().every((item) => item.checkpoint >= killAt!.head);
      if (all) recoveryMs = performance.now() - killAt.atMs;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await daemon.drain();
  const latency = daemon.health().map((item) => item.latency);
  const worst = latency.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a));
  daemon.close();
  await pool.close();
  store.close();
  return { p50Ms: worst.p50Ms, p95Ms: worst.p95Ms, p99Ms: worst.p99Ms, maxMs: worst.maxMs, recoveryMs, appendedPerSecond: appended / seconds };
}

async function main(): Promise<void> {
  const log = join(dir, 'log.sqlite');
  buildLog(log, eventCount);
  const one: { cold: number; warm: number }[] = [];
  const two: { cold: number; warm: number }[] = [];
  const tick = progress('rebuilds');
  for (let round_ = 0; round_ < rounds; round_++) {
    if (round_ % 2 === 0) {
      two.push(await rebuild(log, 2, 'two'));
      one.push(await rebuild(log, 1, 'one'));
    } else {
      one.push(await rebuild(log, 1, 'one'));
      two.push(await rebuild(log, 2, 'two'));
    }
    tick(round_ + 1, rounds);
  }
  const lives = [];
  const kills = [];
  for (let round_ = 0; round_ < rounds; round_++) {
    lives.push(await live(20_000, 10, false));
    kills.push(await live(20_000, 4, true));
  }
  rmSync(dir, { recursive: true, force: true });
  const rebuildTwo = median(two.map((item) => item.cold));
  const rebuildOne = median(one.map((item) => item.cold));
  const warmTwo = median(two.map((item) => item.warm));
  const warmOne = median(one.map((item) => item.warm));
  const p99 = median(lives.map((item) => item.p99Ms));
  const recovery = median(kills.map((item) => item.recoveryMs));
  report(
    'projections',
    {
      parameters: { events: eventCount, rounds, projections, liveRatePerSecond: 20_000, liveSeconds: 10 },
      results: {
        rebuildSecondsTwoWorkers: round(rebuildTwo, 2),
        rebuildSecondsOneWorker: round(rebuildOne, 2),
        speedUp: round(rebuildOne / rebuildTwo, 2),
        warmPool: { rebuildSecondsTwoWorkers: round(warmTwo, 2), rebuildSecondsOneWorker: round(warmOne, 2), speedUp: round(warmOne / warmTwo, 2) },
        liveLatencyMs: { p50: round(median(lives.map((item) => item.p50Ms)), 2), p95: round(median(lives.map((item) => item.p95Ms)), 2), p99: round(p99, 2), max: round(median(lives.map((item) => item.maxMs)), 2) },
        liveAppendedPerSecond: round(median(lives.map((item) => item.appendedPerSecond))),
        recoveryAfterKillMs: round(recovery),
        rounds: {
          twoWorkers: two.map((value) => round(value.cold, 2)),
          oneWorker: one.map((value) => round(value.cold, 2)),
          twoWorkersWarm: two.map((value) => round(value.warm, 2)),
          oneWorkerWarm: one.map((value) => round(value.warm, 2)),
          recoveryMs: kills.map((item) => round(item.recoveryMs)),
          p99Ms: lives.map((item) => round(item.p99Ms, 2)),
        },
      },
    },
    [
      target('rebuild 4 projections over the log, 2 workers', round(rebuildTwo, 2), '<=', 10, 's'),
      target(
        'rebuild speed-up, 2 workers over 1',
        round(rebuildOne / rebuildTwo, 2),
        '>=',
        1.7,
        'ratio',
        `on warm workers (a lab's later runs): ${round(warmOne / warmTwo, 2)}x (${round(warmOne, 2)} s against ${round(warmTwo, 2)} s)`,
      ),
      target('live append-to-projected p99 at 20,000 events/s', round(p99, 2), '<=', 50, 'ms'),
      target("a killed worker's projections processing again", round(recovery), '<=', 200, 'ms'),
    ],
  );
}

await main();
