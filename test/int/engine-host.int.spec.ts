import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiRequestError } from '../../src/shared/client.ts';
import { rejection, startEngine, type EngineHarness } from '../support/engine.ts';
import { countEvents } from '../support/run-dir.ts';

let engine: EngineHarness | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe('engine host process', () => {
  it('runs in its own process and answers the contract', async () => {
    engine = await startEngine();
    const info = await engine.client.request('engine.info', {});
    expect(info.pid).not.toBe(process.pid);
    expect(info.pid).toBe(engine.supervisor.pid);
    expect(info.sqliteVersion).toMatch(/^3\.\d+\.\d+$/);
    const { scenarios } = await engine.client.request('scenarios.list', {});
    expect(scenarios.find((scenario) => scenario.file === 'hello.yaml')).toMatchObject({ name: 'hello', durationUs: 60_000_000, seed: 1 });
  });

  it('answers malformed messages with typed errors and never crashes', async () => {
    engine = await startEngine();
    const pid = engine.supervisor.pid;
    const replies = await Promise.all([
      engine.sendRaw({ type: 'request', id: 'a', method: 'run.start', params: { scenario: 42 } }),
      engine.sendRaw({ type: 'request', id: 'b', method: 'no.such.method', params: {} }),
      engine.sendRaw({ type: 'request', id: 'c', method: 'run.start', params: { scenario: 'hello.yaml', speed: -3, extra: true } }),
      engine.sendRaw({ type: 'nonsense', id: 'd' }),
      engine.sendRaw({ type: 'request', id: 'e', method: 'run.get', params: { runId: '../../etc' } }),
      engine.sendRaw({ type: 'request', id: 'f', method: 'run.get', params: { runId: 'no-such-run' } }),
      engine.sendRaw({ type: 'request', id: 'g', method: 'run.start', params: { scenario: 'missing.yaml' } }),
    ]);
    const errors = Object.fromEntries(replies.map((reply) => [reply.type === 'response' ? reply.id : '?', reply.type === 'response' && !reply.ok ? reply.error : undefined]));
    expect(errors.a).toMatchObject({ code: 'validation', message: 'run.start: invalid params' });
    expect(errors.a?.issues[0]?.path).toEqual(['scenario']);
    expect(errors.b).toMatchObject({ code: 'not_found' });
    expect(errors.b?.message).toMatch(/unknown method "no.such.method"/);
    expect(errors.c?.code).toBe('validation');
    expect(errors.c?.issues.map((issue: { path: (string | number)[] }) => issue.path.join('.')).sort()).toEqual(['', 'speed']);
    expect(errors.d).toMatchObject({ code: 'validation' });
    expect(errors.e?.code).toBe('validation');
    expect(errors.f).toMatchObject({ code: 'not_found', message: 'no run no-such-run in this engine' });
    expect(errors.g?.code).toBe('not_found');
    expect(errors.g?.message).toMatch(/missing\.yaml: cannot read scenario: no such file/);
    // A message without an id is answered by the supervisor itself.
    expect(await engine.sendRaw({ hello: 'world' })).toMatchObject({ type: 'response', id: null, ok: false, error: { code: 'validation' } });
    // Still the same, healthy process.
    expect(engine.supervisor.pid).toBe(pid);
    expect((await engine.client.request('engine.info', {})).pid).toBe(pid);
  });

  it('refuses to write a run over a non-empty directory', async () => {
    engine = await startEngine();
    const error = await rejection(engine.client.request('run.start', { scenario: 'hello.yaml', outDir: join(engine.dataDir, '..') }));
    expect(error.code).toBe('conflict');
  });

  it('restarts after kill -9, tells its clients, and runs again', async () => {
    engine = await startEngine();
    const firstPid = engine.supervisor.pid!;
    const started = await engine.client.request('run.start', { scenario: 'hello.yaml', speed: 5 });
    const inFlight = engine.client.request('run.get', { runId: started.runId }, 0).then(
      () => undefined,
      (error: unknown) => error,
    );
    const restarting = engine.waitForState('restarting');
    process.kill(firstPid, 'SIGKILL');
    await restarting;
    await engine.waitForState('ready');
    const secondPid = engine.supervisor.pid!;
    expect(secondPid).not.toBe(firstPid);
    expect(() => process.kill(firstPid, 0)).toThrow();
    // A request that was in flight either completed before the kill or failed as unavailable.
    const outcome = await inFlight;
    if (outcome !== undefined) expect((outcome as ApiRequestError).code).toBe('unavailable');
    const status = engine.received.filter((message) => message.type === 'push' && message.topic === 'engine.status').at(-1);
    expect(status).toMatchObject({ data: { state: 'ready', pid: secondPid, restarts: 1 } });
    // The new engine works: a run completes and its count matches the store.
    const again = await engine.client.request('run.start', { scenario: 'hello.yaml', seed: 2 });
    const summary = await engine.waitForRun(again.runId);
    expect(summary.status).toBe('completed');
    expect(summary.storeCount).toBe(countEvents(summary.outDir));
    // What the killed run appended before the kill is still readable.
    expect(countEvents(started.outDir)).toBeGreaterThan(0);
  });

  it('without restart, reports the engine stopped and fails requests as unavailable', async () => {
    engine = await startEngine({ restart: false });
    const stopped = engine.waitForState('stopped');
    process.kill(engine.supervisor.pid!, 'SIGKILL');
    await stopped;
    const error = await rejection(engine.client.request('engine.info', {}));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/engine is stopped \(engine host was killed by SIGKILL\)/);
  });
});
