import { beforeEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/shared/api.ts';
import { initialLabState, labActions, labStore } from '../../src/renderer/src/state/lab-store.ts';

const run = (overrides: Partial<RunSummary> = {}): RunSummary => ({
  runId: 'hello-1',
  scenario: 'hello',
  seed: 1,
  status: 'running',
  outDir: '/tmp/x',
  events: 10,
  storeCount: null,
  headPosition: 10,
  headHash: 'ab',
  virtualTimeUs: 1_000_000,
  durationUs: 60_000_000,
  wallMs: 5,
  paused: false,
  speed: 'max',
  ...overrides,
});

describe('renderer lab store', () => {
  beforeEach(() => labStore.setState(initialLabState, true));

  it('marks live runs interrupted when the engine restarts, and leaves finished ones alone', () => {
    labActions.runStarted(run());
    labActions.runStarted(run({ runId: 'done-1', status: 'completed', storeCount: 10 }));
    labActions.setEngineStatus({ state: 'restarting', pid: null, restarts: 1, reason: 'engine host was killed by SIGKILL' });
    const state = labStore.getState();
    expect(state.engine).toEqual({ state: 'restarting', pid: null, restarts: 1, reason: 'engine host was killed by SIGKILL' });
    expect(state.runs['hello-1']?.status).toBe('interrupted');
    expect(state.runs['done-1']?.status).toBe('completed');
  });

  it('never lets a late progress message undo a finished run', () => {
    labActions.runStarted(run());
    labActions.runUpdated(run({ status: 'completed', events: 3302, storeCount: 3302 }));
    labActions.runUpdated(run({ status: 'running', events: 3000 }));
    expect(labStore.getState().runs['hello-1']).toMatchObject({ status: 'completed', storeCount: 3302 });
  });

  it('selects the first valid scenario and keeps projection state per run', () => {
    labActions.setScenarios([
      { file: 'broken.yaml', name: 'broken', description: '', durationUs: 0, seed: 0, projections: [], error: 'bad' },
      { file: 'hello.yaml', name: 'hello', description: '', durationUs: 60_000_000, seed: 1, projections: [] },
    ]);
    expect(labStore.getState().selectedScenario).toBe('hello.yaml');
    labActions.projectionUpdated({ runId: 'hello-1', projection: 'p', checkpoint: 5, state: { total: 5 } });
    expect(labStore.getState().projections['hello-1']?.p).toEqual({ checkpoint: 5, state: { total: 5 } });
  });
});
