/**
 * The projection daemon against its oracle: for seeded random logs, what the workers build live
 * (sharded, in batches, with workers killed at random moments) must equal a single-threaded
 * replay from scratch, byte for byte, with the same events parked.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/events/event.ts';
import { labEventTypes } from '../../src/core/events/lab-events.ts';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom } from '../../src/core/kernel/random.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { initialShardState, replayProjection } from '../../src/core/projections/projection.ts';
import { findProjection, projectionNames } from '../../src/core/projections/registry.ts';
import { ProjectionDaemon, type ProjectionWorkers } from '../../src/node/projection-daemon.ts';
import { ProjectionPool } from '../../src/node/projection-pool.ts';
import type { ProjectionTask, ProjectionTaskResult } from '../../src/node/projection-task.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { systemClock } from '../../src/node/system-clock.ts';
import { projectionStateAt } from '../../src/node/time-travel.ts';
import { projectionComparisons } from '../../src/node/chaos-checks.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';
import { labLog } from '../support/lab-log.ts';

let pool: ProjectionPool;
const work = temporaryDirectory('aura-lab-daemon-');
beforeAll(() => {
  pool = new ProjectionPool({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
  work.remove();
});

let logIndex = 0;
function freshStore(): SqliteEventStore {
  logIndex += 1;
  return new SqliteEventStore(join(work.path, `log-${logIndex}.sqlite`));
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Every projection of the daemon equals the replay of the whole log, and parks the same events. */
/** A task whose folds (of several projections) all start from their initial state: a later span's first task when far from position 1. */
function startsSpan(task: ProjectionTask): boolean {
  return task.folds.length >= 3 && task.folds.every((fold) => fold.stateJson === JSON.stringify(initialShardState(findProjection(fold.projection)!)));
}

function expectOracle(store: SqliteEventStore, daemon: ProjectionDaemon, skips: Record<string, number[]> = {}): void {
  const events = store.readAll(1, 1_000_000) as RecordedEvent[];
  for (const name of projectionNames) {
    const definition = findProjection(name)!;
    const skip = new Set(skips[name] ?? []);
    const reference = replayProjection(definition, events.filter((event) => !skip.has(event.position)));
    expect(daemon.stateJson(name), `${name} state`).toBe(reference.stateJson);
    // Parked events stay listed after an operator skipped them.
    const expectedParked = [...new Set([...reference.parked.map((parked) => parked.position), ...skip])].sort((a, b) => a - b);
    expect(daemon.parked(name).map((parked) => parked.position), `${name} parked`).toEqual(expectedParked);
    expect(daemon.checkpoint(name), `${name} checkpoint`).toBe(store.headPosition());
  }
}

describe('projection daemon', () => {
  it('equals a single-threaded replay, byte for byte, with workers killed at random moments (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        const store = freshStore();
        const daemon = new ProjectionDaemon(store, pool, projectionNames, systemClock, undefined, { batchEvents: 7, catchUpBatchEvents: 31 });
        try {
          const random = createRandom(seed).split('kills');
          for (const batch of labLog(seed, 40, { poison: true })) {
            store.appendBatch(batch);
            // Both workers may be gone for a moment (Piscina replaces them): then there is none to kill.
            if (random.int(0, 9) === 0 && pool.workers.length > 0) void pool.workers[random.int(0, pool.workers.length - 1)]?.terminate();
            if (random.int(0, 2) === 0) await tick();
          }
          await daemon.drain();
          expectOracle(store, daemon);
          // Committed: a new daemon on the same file continues from exactly the same states.
          daemon.close();
          const reopened = new ProjectionDaemon(store, pool, projectionNames, systemClock);
          await reopened.drain();
          expectOracle(store, reopened);
          reopened.close();
        } finally {
          daemon.close();
          store.close();
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  it('parks a poison event and goes on, or halts until resumed past it, as each projection says', async () => {
    const store = freshStore();
    const daemon = new ProjectionDaemon(store, pool, projectionNames, systemClock, undefined, { batchEvents: 5 });
    try {
      for (const batch of labLog(77, 10)) store.appendBatch(batch);
      // A fault cleared that was never injected: fault-windows halts; the others go on.
      const random = createRandom(5);
      const poison = { id: asEventId(`ff${random.hex128().slice(2)}`), type: labEventTypes.faultCleared, schemaVersion: 1, payload: { faultId: 'never-injected' }, metadata: { virtualTimeUs: 1 } };
      const [result] = store.appendBatch([{ stream: asStreamName('$chaos'), events: [poison], expected: anyVersion }]);
      const poisonPosition = result!.firstPosition;
      for (const batch of labLog(78, 10)) store.appendBatch(batch);
      await daemon.drain();
      const health = Object.fromEntries(daemon.health().map((item) => [item.name, item]));
      expect(health['fault-windows']).toMatchObject({ status: 'halted', checkpoint: poisonPosition - 1, halted: { position: poisonPosition } });
      expect(health['fault-windows']!.halted!.error).toMatch(/fault never-injected is not active/);
      expect(health['slo-status']).toMatchObject({ status: 'live', checkpoint: store.headPosition() });
      expect(daemon.parked('fault-windows')).toEqual([{ position: poisonPosition, error: expect.stringMatching(/not active/) as unknown }]);
      daemon.resume('fault-windows');
      await daemon.drain();
      expect(daemon.health().find((item) => item.name === 'fault-windows')).toMatchObject({ status: 'live', halted: null });
      // Resuming skips exactly the poison event: the state is the replay without it.
      expectOracle(store, daemon, { 'fault-windows': [poisonPosition] });
    } finally {
      daemon.close();
      store.close();
    }
  }, 60_000);

  it('reports a stalled projection within its stall time, aborts the hung task and retries it', async () => {
    const store = freshStore();
    let hung = 0;
    let hungAt = Number.NaN;
    // A pool whose first task for slo-status hangs until aborted (a worker stuck in a loop).
    const hanging: ProjectionWorkers = {
      run: (task: ProjectionTask, signal?: AbortSignal): Promise<ProjectionTaskResult> => {
        if (task.folds.some((fold) => fold.projection === 'slo-status') && hung === 0) {
          hung += 1;
          hungAt = performance.now();
          return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
        }
        return pool.run(task, signal);
      },
    };
    const stallMs = 800;
    const stalls: { name: string; afterMs: number; atMs: number }[] = [];
    const started = performance.now();
    const daemon = new ProjectionDaemon(store, hanging, ['slo-status', 'events-per-second-by-type'], systemClock, (event) => {
      if (event.kind === 'stalled') stalls.push({ name: event.name, afterMs: event.afterMs, atMs: performance.now() - started });
    }, { stallMs });
    try {
      for (const batch of labLog(91, 5)) store.appendBatch(batch);
      while (stalls.length === 0 && performance.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, stallMs / 4));
      // The hung task folded slo-status (and whatever shared its read): each is reported,
      // within the stall time plus one watchdog period (stallMs / 8) of the hung task's start,
      // with 250 ms for a machine shared with other test files (measured from the start of the
      // task, not of the test: appending the log before it is no part of the promise).
      expect(stalls.map((stall) => stall.name)).toContain('slo-status');
      for (const stall of stalls) {
        expect(stall.afterMs).toBeGreaterThanOrEqual(stallMs);
        expect(stall.atMs - (hungAt - started)).toBeLessThan(stallMs * 1.125 + 250);
      }
      await daemon.drain();
      expect(daemon.health().find((item) => item.name === 'slo-status')!.status).toBe('live');
      expect(hung).toBe(1);
      const health = daemon.health().find((item) => item.name === 'slo-status')!;
      expect(health.stalls).toBe(1);
      expect(health.lastStall?.recoveredAfterMs).not.toBeNull();
      expectOracleFor(store, daemon, ['slo-status', 'events-per-second-by-type']);
    } finally {
      daemon.close();
      store.close();
    }
  }, 30_000);

  it('splits a long catch-up over the workers, joined to the same states, with time travel exact at every snapshot and part', async () => {
    const store = freshStore();
    const sizes: number[] = [];
    let spanTasks = 0;
    const running: { daemon?: ProjectionDaemon } = {};
    const catchUps: NonNullable<ReturnType<ProjectionDaemon['health']>[number]['catchUp']>[] = [];
    const counting: ProjectionWorkers = {
      threads: pool.threads,
      run: (task, signal) => {
        sizes.push(task.toPosition - task.fromPosition + 1);
        const catchUp = running.daemon?.health().find((item) => item.name === 'slo-status')?.catchUp;
        if (catchUp !== null && catchUp !== undefined) catchUps.push(catchUp);
        // A later span's first task: far from position 1, yet every fold starts from the initial state.
        if (task.fromPosition > 97 && task.folds.every((fold) => fold.stateJson === JSON.stringify(initialShardState(findProjection(fold.projection)!)))) spanTasks += 1;
        return pool.run(task, signal);
      },
    };
    for (const batch of labLog(4242, 90, { poison: true })) store.appendBatch(batch);
    const daemon = new ProjectionDaemon(store, counting, projectionNames, systemClock, undefined, { catchUpBatchEvents: 97, snapshotEveryEvents: 40 });
    running.daemon = daemon;
    try {
      await daemon.drain();
      expectOracle(store, daemon);
      const head = store.headPosition();
      expect(head).toBeGreaterThan(1_000);
      // Health showed the split's progress over the whole catch-up, growing, and shows none once it is done.
      expect(catchUps.length).toBeGreaterThan(2);
      expect(catchUps.every((item) => item.from === 0 && item.to === head && item.parts === 2 && item.folded >= 0 && item.folded <= head)).toBe(true);
      expect(catchUps.map((item) => item.folded)).toEqual([...catchUps.map((item) => item.folded)].sort((a, b) => a - b));
      expect(catchUps.at(-1)!.folded).toBeGreaterThan(catchUps[0]!.folded);
      expect(daemon.health().map((item) => item.catchUp)).toEqual(projectionNames.map(() => null));
      // Split: a later span folded from the initial state, every task at most a catch-up range.
      expect(spanTasks).toBeGreaterThan(0);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(97);
      // The chaos checks compare stored states with a replay: equal here, and a state of another version is not compared.
      expect(projectionComparisons(store.db).every((item) => canonicalJson(item.stored) === canonicalJson(item.replayed))).toBe(true);
      store.db.prepare("UPDATE projections SET version = 1, state = '{}' WHERE name = 'throughput-by-stream' AND role = 'live'").run();
      expect(projectionComparisons(store.db).map((item) => item.name)).not.toContain('throughput-by-stream');
      store.db.prepare("UPDATE projections SET version = ?, state = '{}' WHERE name = 'throughput-by-stream' AND role = 'live'").run(findProjection('throughput-by-stream')!.version);
      expect(projectionComparisons(store.db).some((item) => item.name === 'throughput-by-stream' && canonicalJson(item.stored) !== canonicalJson(item.replayed))).toBe(true);
      const parts = (store.db.prepare("SELECT count(*) AS n FROM projection_snapshot_parts WHERE role = 'live'").get() as { n: number }).n;
      expect(parts).toBeGreaterThan(0);
      // fault-windows has no merge: it is never split, and keeps whole snapshots only.
      expect(store.db.prepare("SELECT count(*) AS n FROM projection_snapshot_parts WHERE name = 'fault-windows'").get()).toEqual({ n: 0 });
      const events = store.readAll(1, 1_000_000) as RecordedEvent[];
      const positions = [...new Set([1, 39, 40, 41, 97, 98, 194, 195, head - 1, head, ...Array.from({ length: 40 }, (_, index) => Math.floor(((index + 1) * head) / 41))])];
      for (const name of projectionNames) {
        const definition = findProjection(name)!;
        for (const position of positions) {
          const at = projectionStateAt(store.db, name, position);
          expect(canonicalJson(at.state), `${name} at ${position}`).toBe(replayProjection(definition, events.slice(0, position)).stateJson);
          expect(at.foldedEvents, `${name} at ${position}`).toBeLessThan(40);
        }
      }
    } finally {
      daemon.close();
      store.close();
    }
  }, 60_000);

  for (const failures of [1, Number.POSITIVE_INFINITY]) {
    it(`a part of a split catch-up that fails ${failures === 1 ? 'once is folded again' : 'every time is given up after 3 tries'}: its error in health, nothing skipped or applied twice`, async () => {
      const store = freshStore();
      const running: { daemon?: ProjectionDaemon } = {};
      let spanStart: number | undefined;
      const attempts: number[] = [];
      const errorsSeen: (string | null)[] = [];
      const failing: ProjectionWorkers = {
        threads: pool.threads,
        run: (task, signal) => {
          // The later span's first task: far from position 1, every fold (of several projections) from its initial state.
          const initial = startsSpan(task);
          if (spanStart === undefined && task.fromPosition > 97 && initial) spanStart = task.fromPosition;
          if (task.fromPosition === spanStart && initial) {
            attempts.push(task.fromPosition);
            errorsSeen.push(...(running.daemon?.health().map((item) => item.error) ?? []));
            if (attempts.length <= failures) return Promise.reject(new Error('disk read failed (injected)'));
          }
          return pool.run(task, signal);
        },
      };
      for (const batch of labLog(4243, 90)) store.appendBatch(batch);
      const daemon = new ProjectionDaemon(store, failing, projectionNames, systemClock, undefined, { catchUpBatchEvents: 97, snapshotEveryEvents: 40 });
      running.daemon = daemon;
      try {
        await daemon.drain();
        expectOracle(store, daemon);
        expect(spanStart).toBeGreaterThan(97);
        const parts = (store.db.prepare("SELECT count(*) AS n FROM projection_snapshot_parts WHERE role = 'live'").get() as { n: number }).n;
        if (failures === 1) {
          // Tried again from the same state, succeeded, joined on: the split went through.
          expect(attempts).toHaveLength(2);
          expect(errorsSeen.some((error) => error !== null && /catch-up part \d+\.\.\d+ failed \(1 in a row\): disk read failed \(injected\)/.test(error))).toBe(true);
          expect(parts).toBeGreaterThan(0);
        } else {
          // Given up after the third failure, never split again: the shards caught up on their own.
          expect(attempts).toHaveLength(3);
          expect(errorsSeen.some((error) => error?.includes('failed (2 in a row)'))).toBe(true);
          expect(parts).toBe(0);
        }
        expect(daemon.health().map((item) => item.error)).toEqual(projectionNames.map(() => null));
      } finally {
        daemon.close();
        store.close();
      }
    }, 60_000);
  }

  it('a split part whose result cannot be taken (one fold of it wrong) leaves the part as it was: folded again, nothing applied twice', async () => {
    const store = freshStore();
    let spanStart: number | undefined;
    let spoiled = 0;
    const spoiling: ProjectionWorkers = {
      threads: pool.threads,
      run: async (task, signal) => {
        const initial = startsSpan(task);
        if (spanStart === undefined && task.fromPosition > 97 && initial) spanStart = task.fromPosition;
        const result = await pool.run(task, signal);
        if (task.fromPosition !== spanStart || spoiled > 0) return result;
        // The last fold claims to stop short: the daemon must refuse the whole result, having taken none of it.
        spoiled += 1;
        const folds = result.folds.map((fold, index) => (index === result.folds.length - 1 ? { ...fold, lastPosition: fold.lastPosition - 1 } : fold));
        return { ...result, folds };
      },
    };
    for (const batch of labLog(4244, 90)) store.appendBatch(batch);
    const daemon = new ProjectionDaemon(store, spoiling, projectionNames, systemClock, undefined, { catchUpBatchEvents: 97, snapshotEveryEvents: 40 });
    try {
      await daemon.drain();
      expect(spoiled).toBe(1);
      expectOracle(store, daemon);
    } finally {
      daemon.close();
      store.close();
    }
  }, 60_000);

  it('a task that fails every time is tried again with a growing delay, shown as failed, and catches up once it can', async () => {
    const store = freshStore();
    let attempts = 0;
    let healed = false;
    const failing: ProjectionWorkers = {
      threads: pool.threads,
      run: (task, signal) => {
        if (healed) return pool.run(task, signal);
        attempts += 1;
        return new Promise((_, reject) => setImmediate(() => reject(new Error('database file unreadable (injected)'))));
      },
    };
    for (const batch of labLog(77, 5)) store.appendBatch(batch);
    const daemon = new ProjectionDaemon(store, failing, ['slo-status'], systemClock, undefined, { stallMs: 400 });
    try {
      // Failed (three in a row), then watched a while longer.
      const started = performance.now();
      while (daemon.health()[0]!.status !== 'failed' && performance.now() - started < 15_000) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const elapsedMs = performance.now() - started;
      // Retried at once, then after 50, 100, 200, 400, 800 ms... (at the watchdog's 50 ms ticks): a
      // handful in the time, where without the delay there were tens of thousands.
      expect(attempts).toBeGreaterThanOrEqual(3);
      expect(attempts).toBeLessThanOrEqual(4 + Math.ceil(Math.log2(elapsedMs / 50)));
      const health = daemon.health()[0]!;
      expect(health.status).toBe('failed');
      expect(health.error).toBe('database file unreadable (injected)');
      expect(health.checkpoint).toBe(0);
      healed = true;
      await daemon.drain();
      expect(daemon.health()[0]).toMatchObject({ status: 'live', error: null, lagEvents: 0 });
      expect(daemon.stateJson('slo-status')).toBe(replayProjection(findProjection('slo-status')!, store.readAll(1, 1_000_000) as RecordedEvent[]).stateJson);
    } finally {
      daemon.close();
      store.close();
    }
  }, 30_000);

  it('drain() keeps its process alive while a failed range waits out its retry delay', async () => {
    const path = join(work.path, `drainer-${logIndex++}.sqlite`);
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/daemon-drainer.ts'), path], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('exit', () => resolve(text));
    });
    const store = new SqliteEventStore(path);
    try {
      expect(output.trim()).toBe(`drained ${store.headPosition()}`);
    } finally {
      store.close();
    }
  }, 60_000);

  it('rebuilds in shadow while the live projection serves, compares, and swaps', async () => {
    const store = freshStore();
    const events: string[] = [];
    const daemon = new ProjectionDaemon(store, pool, ['throughput-by-stream', 'debate-standings'], systemClock, (event) => events.push(event.kind === 'compared' ? `compared:${event.report.projection}:${event.report.equal}:${event.report.swapped}` : event.kind));
    try {
      for (const batch of labLog(5, 30)) store.appendBatch(batch);
      await daemon.drain();
      const before = daemon.stateJson('throughput-by-stream');
      daemon.rebuild('throughput-by-stream');
      expect(daemon.health().find((item) => item.name === 'throughput-by-stream')!.rebuild).not.toBeNull();
      expect(() => daemon.rebuild('throughput-by-stream')).toThrow(/already being rebuilt/);
      // Appends go on during the rebuild; the live projection keeps serving them.
      for (const batch of labLog(6, 10)) store.appendBatch(batch);
      await daemon.drain();
      const health = daemon.health().find((item) => item.name === 'throughput-by-stream')!;
      expect(health.rebuild).toBeNull();
      expect(health.lastCompare).toMatchObject({ equal: true, swapped: true, differences: [] });
      expect(events).toContain('compared:throughput-by-stream:true:true');
      expect(daemon.stateJson('throughput-by-stream')).not.toBe(before);
      daemon.compare('debate-standings');
      await daemon.drain();
      expect(daemon.health().find((item) => item.name === 'debate-standings')!.lastCompare).toMatchObject({ equal: true, swapped: false });
      expectOracleFor(store, daemon, ['throughput-by-stream', 'debate-standings']);
      expect(() => daemon.rebuild('no-such-projection')).toThrow(/no projection/);
    } finally {
      daemon.close();
      store.close();
    }
  }, 30_000);

  it('reports lag in events and milliseconds, and append-to-projected latency', async () => {
    const store = freshStore();
    const daemon = new ProjectionDaemon(store, pool, ['events-per-second-by-type'], systemClock);
    try {
      for (const batch of labLog(8, 50)) store.appendBatch(batch);
      const behind = daemon.health()[0]!;
      expect(behind.lagEvents).toBeGreaterThan(0);
      expect(behind.status).toBe('catching_up');
      await daemon.drain();
      const caughtUp = daemon.health()[0]!;
      expect(caughtUp).toMatchObject({ status: 'live', lagEvents: 0, lagMs: 0 });
      expect(caughtUp.latency.count).toBe(store.headPosition());
      expect(caughtUp.latency.p99Ms).toBeGreaterThan(0);
    } finally {
      daemon.close();
      store.close();
    }
  });
});

function expectOracleFor(store: SqliteEventStore, daemon: ProjectionDaemon, names: string[]): void {
  const events = store.readAll(1, 1_000_000) as RecordedEvent[];
  for (const name of names) expect(daemon.stateJson(name), name).toBe(replayProjection(findProjection(name)!, events).stateJson);
}
