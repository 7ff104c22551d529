/**
 * chaos.inject against a real engine host (the supervisor's child process): a load spike is two
 * recorded `set` actions that change the rate in the telemetry and replay exactly; a killed
 * projection worker is replaced and the projections catch up; an engine kill answers first and
 * the supervisor restarts the host; bad requests get typed errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResultOf } from '../../src/shared/api.ts';
import { runCli } from '../support/cli.ts';
import { rejection, startEngine, type EngineHarness } from '../support/engine.ts';

let engine: EngineHarness | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** Polls `read` until `done` holds (or fails after timeoutMs). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('chaos.inject', () => {
  it('injects a load spike as two recorded sets: the rate changes in telemetry, and the run replays exactly', async () => {
    engine = await startEngine();
    const { client } = engine;
    const { runId, outDir } = await client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    await until(() => client.request('run.get', { runId }), (run) => run.virtualTimeUs >= 2_500_000, 'virtual time 2.5 s');

    const fault = await client.request('chaos.inject', { runId, fault: { kind: 'load-spike', generator: 'orders', factor: 4, duration: '6s' } });
    expect(fault).toMatchObject({ kind: 'load-spike', detail: 'orders rate ×4 for 6s' });
    expect(fault.startUs).toBeGreaterThanOrEqual(2_500_000);
    expect(fault.endUs).toBe(fault.startUs + 6_000_000);
    // A second spike on the same generator while the first is on is refused.
    expect((await rejection(client.request('chaos.inject', { runId, fault: { kind: 'load-spike', generator: 'orders', factor: 2, duration: '1s' } }))).code).toBe('conflict');

    await until(() => client.request('run.get', { runId }), (run) => run.virtualTimeUs >= fault.endUs! + 2_500_000, 'virtual time past the spike');
    const { events } = await client.request('events.read', { runId, offset: 0, limit: 10, filter: { types: ['ParameterChanged'] } });
    expect(events).toHaveLength(2);
    const [spike, restore] = events;
    expect(spike).toMatchObject({ stream: '$run', virtualTimeUs: fault.startUs, payload: { path: 'workload.orders.rate', generator: 'orders', rate: { profile: 'constant', perSecond: 160 }, previous: { profile: 'constant', perSecond: 40 } } });
    expect(restore).toMatchObject({ stream: '$run', virtualTimeUs: fault.endUs, payload: { path: 'workload.orders.rate', generator: 'orders', rate: { profile: 'constant', perSecond: 40 }, previous: { profile: 'constant', perSecond: 160 } } });

    // The listed windows, for the charts' bands.
    const live = await client.request('telemetry.get', { runId });
    expect(live.faults).toEqual([{ faultId: fault.faultId, kind: 'load-spike', detail: fault.detail, startUs: fault.startUs, endUs: fault.endUs, source: 'injected' }]);

    // The rest of the run as fast as possible (pacing is not recorded), to its end.
    const finishing = engine.waitForRun(runId);
    await client.request('run.speed', { runId, speed: 'max' });
    const finished = await finishing;
    expect(finished.status).toBe('completed');
    const telemetry = await client.request('telemetry.get', { runId });
    const eventsIn = (second: number): number => telemetry.seconds.find((row) => row.second === second)?.events ?? -1;
    // hello: orders 40/s + payments 15/s; during the spike orders run at 160/s.
    const before = eventsIn(1);
    const during = eventsIn(Math.ceil(fault.startUs / 1_000_000) + 1);
    const after = eventsIn(Math.floor(fault.endUs! / 1_000_000) + 1);
    expect(before).toBeGreaterThanOrEqual(55);
    expect(before).toBeLessThanOrEqual(57);
    expect(during).toBeGreaterThanOrEqual(170);
    expect(during).toBeLessThanOrEqual(180);
    expect(after).toBeLessThanOrEqual(57);
    expect(telemetry.faults?.map((item) => item.faultId)).toEqual([fault.faultId]);

    // Both sets are ordinary operator actions in the manifest; the report keeps the window.
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as { actions: { virtualTimeUs: number; action: { kind: string; path?: string } }[] };
    expect(manifest.actions.map((action) => [action.action.kind, action.action.path, action.virtualTimeUs])).toEqual([
      ['set', 'workload.orders.rate', fault.startUs],
      ['set', 'workload.orders.rate', fault.endUs],
    ]);
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as { faults: unknown[] };
    expect(report.faults).toHaveLength(1);

    const replay = await runCli(['replay', outDir, '--json'], { AURA_LAB_HOME: engine.dataDir });
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ identical: true, events: finished.headPosition, recordedHead: finished.headPosition });
  }, 90_000);

  it('ends a spike at its exact virtual time at speed max too (injected while paused), and the run replays exactly', async () => {
    engine = await startEngine();
    const { client } = engine;
    const { runId, outDir } = await client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    await until(() => client.request('run.get', { runId }), (run) => run.virtualTimeUs >= 1_000_000, 'virtual time 1 s');
    await client.request('run.pause', { runId });
    const fault = await client.request('chaos.inject', { runId, fault: { kind: 'load-spike', generator: 'payments', factor: 10, duration: '2500ms' } });
    expect(fault.endUs).toBe(fault.startUs + 2_500_000);
    const finishing = engine.waitForRun(runId);
    await client.request('run.speed', { runId, speed: 'max' });
    await client.request('run.resume', { runId });
    const finished = await finishing;
    expect(finished.status).toBe('completed');
    const { events } = await client.request('events.read', { runId, offset: 0, limit: 10, filter: { types: ['RunPaused', 'RunResumed', 'ParameterChanged'] } });
    expect(events.map((event) => [event.type, event.virtualTimeUs, (event.payload as { rate?: { perSecond?: number } }).rate?.perSecond])).toEqual([
      ['RunPaused', fault.startUs, undefined],
      ['ParameterChanged', fault.startUs, 150],
      ['RunResumed', fault.startUs, undefined],
      ['ParameterChanged', fault.endUs, 15],
    ]);
    const replay = await runCli(['replay', outDir, '--json'], { AURA_LAB_HOME: engine.dataDir });
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ identical: true, recordedHead: finished.headPosition });
  }, 60_000);

  it('kills a projection worker thread: the pool replaces it and the projections keep processing', async () => {
    engine = await startEngine();
    const { client } = engine;
    const threads = (await client.request('engine.info', {})).projectionThreads;
    const { runId } = await client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    await until(() => client.request('projections.list', { runId }), ({ projections }) => (projections[0]?.checkpoint ?? 0) > 0, 'a first projected checkpoint');

    const fault = await client.request('chaos.inject', { runId, fault: { kind: 'worker-kill' } });
    expect(fault).toMatchObject({ kind: 'worker-kill', endUs: null });
    expect(fault.detail).toMatch(/^projection worker thread \d+ terminated$/);
    const headAtKill = (await client.request('run.get', { runId })).headPosition;

    // Projected past the head at the kill, while the run goes on.
    const { projections } = await until(() => client.request('projections.list', { runId }), (list) => (list.projections[0]?.checkpoint ?? 0) > headAtKill + 100, 'projections past the kill');
    expect(projections.map((projection) => projection.status)).not.toContain('failed');
    await until(() => client.request('engine.info', {}), (info) => info.projectionThreads === threads, 'the pool back at full strength', 10_000);
    // Killed again (the other thread): still nothing lost.
    await client.request('chaos.inject', { runId, fault: { kind: 'worker-kill' } });
    const stopped = await client.request('run.stop', { runId });
    const final = await client.request('projections.list', { runId });
    expect(final.projections.map((projection) => [projection.name, projection.checkpoint, projection.parked])).toEqual([['events-per-second-by-type', stopped.headPosition, 0]]);
    expect((await client.request('telemetry.get', { runId })).faults?.map((item) => item.kind)).toEqual(['worker-kill', 'worker-kill']);
  }, 60_000);

  it('kills the engine after answering; the supervisor restarts it', async () => {
    engine = await startEngine();
    const { client } = engine;
    const pid = engine.supervisor.pid!;
    const { runId } = await client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    const restarting = engine.waitForState('restarting');
    const fault: ResultOf<'chaos.inject'> = await client.request('chaos.inject', { runId, fault: { kind: 'engine-kill' } });
    expect(fault).toMatchObject({ kind: 'engine-kill', endUs: null, detail: `engine host pid ${pid} killed (SIGKILL)` });
    await restarting;
    await engine.waitForState('ready');
    expect(engine.supervisor.pid).not.toBe(pid);
    expect(() => process.kill(pid, 0)).toThrow();
    const status = engine.received.filter((message) => message.type === 'push' && message.topic === 'engine.status').at(-1);
    expect(status).toMatchObject({ data: { state: 'ready', restarts: 1 } });
    // The new engine does not know the old run: not live, not in this engine.
    const gone = await rejection(client.request('chaos.inject', { runId, fault: { kind: 'worker-kill' } }));
    expect(gone.code).toBe('conflict');
    expect((await client.request('engine.info', {})).pid).toBe(engine.supervisor.pid);
  }, 60_000);

  it('answers bad requests with typed errors', async () => {
    engine = await startEngine();
    const { client } = engine;
    const missing = await rejection(client.request('chaos.inject', { runId: 'no-such-run', fault: { kind: 'worker-kill' } }));
    expect(missing).toMatchObject({ code: 'not_found', message: 'no run no-such-run in this engine' });

    const { runId } = await client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    const paths = async (fault: unknown): Promise<{ code: string; paths: string[] }> => {
      const error = await rejection(client.request('chaos.inject', { runId, fault } as never));
      return { code: error.code, paths: error.issues.map((issue) => issue.path.join('.')) };
    };
    expect(await paths({ kind: 'load-spike', generator: 'nope', factor: 2, duration: '5s' })).toEqual({ code: 'not_found', paths: ['fault.generator'] });
    expect(await paths({ kind: 'load-spike', generator: 'orders', factor: 1, duration: '5s' })).toEqual({ code: 'validation', paths: ['fault.factor'] });
    expect(await paths({ kind: 'load-spike', generator: 'orders', factor: 101, duration: '5s' })).toEqual({ code: 'validation', paths: ['fault.factor'] });
    expect(await paths({ kind: 'load-spike', generator: 'orders', factor: 2, duration: 'soon' })).toEqual({ code: 'validation', paths: ['fault.duration'] });
    expect(await paths({ kind: 'load-spike', generator: 'orders', factor: 2, duration: '0s' })).toEqual({ code: 'validation', paths: ['fault.duration'] });
    expect(await paths({ kind: 'load-spike', generator: 'orders', factor: 2 })).toEqual({ code: 'validation', paths: ['fault.duration'] });
    expect(await paths({ kind: 'worker-kill', extra: true })).toMatchObject({ code: 'validation' });
    const unknownKind = await paths({ kind: 'disk-full' });
    expect(unknownKind.code).toBe('validation');
    expect(unknownKind.paths[0]).toMatch(/^fault/);

    // Nothing was recorded by the refused requests.
    const { events } = await client.request('events.read', { runId, offset: 0, limit: 10, filter: { types: ['ParameterChanged'] } });
    expect(events).toHaveLength(0);

    await client.request('run.stop', { runId });
    const finished = await rejection(client.request('chaos.inject', { runId, fault: { kind: 'load-spike', generator: 'orders', factor: 2, duration: '5s' } }));
    expect(finished.code).toBe('conflict');
    expect(finished.message).toMatch(/no longer running/);
  }, 60_000);
});
