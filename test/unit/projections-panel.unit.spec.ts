import { beforeEach, describe, expect, it } from 'vitest';
import type { ProjectionHealthView } from '../../src/shared/api.ts';
import { describeCatchUp, describeCompare, formatLatency, formatMs, rebuildProgress, sparkline, statusLabel } from '../../src/renderer/src/features/projections/projection-format.ts';
import { appendLagSample, initialProjectionsState, lagWindowMs, projectionsActions, projectionsStore, runKey, type LagSample } from '../../src/renderer/src/state/projections-store.ts';

const health = (name: string, overrides: Partial<ProjectionHealthView> = {}): ProjectionHealthView => ({
  name,
  version: 1,
  status: 'live',
  checkpoint: 100,
  lagEvents: 0,
  lagMs: 0,
  shards: 1,
  parked: 0,
  halted: null,
  error: null,
  latency: { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
  rebuild: null,
  catchUp: null,
  lastCompare: null,
  stalls: 0,
  lastStall: null,
  ...overrides,
});

const sample = (atMs: number, lagEvents: number): LagSample => ({ atMs, lagEvents, lagMs: lagEvents * 2 });

describe('projections panel formatting', () => {
  it('writes milliseconds at a precision that suits their size', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(-3)).toBe('0 ms');
    expect(formatMs(Number.NaN)).toBe('0 ms');
    expect(formatMs(3.24)).toBe('3.2 ms');
    expect(formatMs(9.96)).toBe('10 ms');
    expect(formatMs(140.4)).toBe('140 ms');
    expect(formatMs(1_540)).toBe('1.5 s');
    expect(formatMs(42_300)).toBe('42 s');
  });

  it('writes latency as p50 / p99, and a dash before anything was projected', () => {
    expect(formatLatency({ count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 })).toBe('–');
    expect(formatLatency({ count: 12, p50Ms: 2.5, p95Ms: 9, p99Ms: 31, maxMs: 40 })).toBe('2.5 ms / 31 ms');
  });

  it('names every status', () => {
    expect(statusLabel('catching_up')).toBe('catching up');
    expect((['live', 'halted', 'stalled', 'failed'] as const).map(statusLabel)).toEqual(['live', 'halted', 'stalled', 'failed']);
  });

  it('measures a rebuild against the head, within 0 and 1', () => {
    expect(rebuildProgress(0, 0)).toBe(0);
    expect(rebuildProgress(50, 200)).toBe(0.25);
    expect(rebuildProgress(300, 200)).toBe(1);
    expect(rebuildProgress(-5, 200)).toBe(0);
  });

  it('describes a catch-up split over the workers, with its progress within 0 and 1', () => {
    expect(describeCatchUp({ from: 1_000, to: 201_000, folded: 50_000, parts: 2 })).toEqual({ text: 'Catching up in 2 parts at once (positions 1,001–201,000): 50,000 / 200,000 folded (25%)', progress: 0.25 });
    expect(describeCatchUp({ from: 0, to: 10, folded: 12, parts: 2 }).progress).toBe(1);
    expect(describeCatchUp({ from: 5, to: 5, folded: 0, parts: 2 }).progress).toBe(1);
  });

  it('describes a comparison: equal or the differing keys, versions, and whether it was swapped in', () => {
    const base = { projection: 'p', at: 6_402, equal: true, liveVersion: 1, shadowVersion: 1, differences: [], swapped: true };
    expect(describeCompare(base)).toBe('equal at position 6,402 · swapped in');
    expect(describeCompare({ ...base, equal: false, differences: ['order-1', 'order-2'], swapped: false })).toBe('different: order-1, order-2 at position 6,402 · not swapped, the live projection is kept');
    expect(describeCompare({ ...base, equal: false, liveVersion: 1, shadowVersion: 2 })).toBe('different: the states differ at position 6,402 (v1 → v2) · swapped in');
  });
});

describe('lag sparkline geometry', () => {
  it('is empty without samples', () => {
    expect(sparkline([], 100, 20)).toEqual({ points: [], max: 0 });
  });

  it('puts the newest sample at the right edge and the largest lag at the top', () => {
    const { points, max } = sparkline([sample(0, 0), sample(30_000, 50), sample(60_000, 100)], 100, 20);
    expect(max).toBe(100);
    expect(points).toEqual([
      [0, 20],
      [50, 10],
      [100, 0],
    ]);
  });

  it('keeps a flat line at the bottom when nothing lags, and drops samples older than the window', () => {
    const { points, max } = sparkline([sample(0, 900), sample(70_000, 0), sample(100_000, 0)], 60, 10);
    expect(max).toBe(0);
    expect(points).toEqual([
      [30, 10],
      [60, 10],
    ]);
  });

  it('keeps a minute of samples', () => {
    let samples: LagSample[] = [];
    for (let atMs = 0; atMs <= 120_000; atMs += 500) samples = appendLagSample(samples, sample(atMs, 1));
    expect(samples[0]!.atMs).toBe(120_000 - lagWindowMs);
    expect(samples.at(-1)!.atMs).toBe(120_000);
    expect(samples).toHaveLength(lagWindowMs / 500 + 1);
  });
});

describe('projections store', () => {
  beforeEach(() => projectionsStore.setState(initialProjectionsState, true));

  it('caches health pushes per run, with lag history, live until the run finishes', () => {
    projectionsActions.openRun('r1');
    projectionsActions.healthPushed({ runId: 'r1', headPosition: 500, projections: [health('a', { lagEvents: 40 }), health('b')] }, 1_000);
    projectionsActions.healthPushed({ runId: 'r1', headPosition: 900, projections: [health('a', { lagEvents: 10 }), health('b')] }, 1_500);
    let state = projectionsStore.getState();
    expect(state.runs.r1).toMatchObject({ headPosition: 900, live: true });
    expect(state.lagHistory.r1!.a!.map((item) => item.lagEvents)).toEqual([40, 10]);
    projectionsActions.runFinished('r1');
    // The final health push comes before run.finished; a late one must not make the run live again.
    projectionsActions.healthPushed({ runId: 'r1', headPosition: 1_000, projections: [health('a'), health('b')] }, 2_000);
    state = projectionsStore.getState();
    expect(state.runs.r1).toMatchObject({ headPosition: 1_000, live: false });
  });

  it('lists a finished run as finished, and reports list errors only for the run shown', () => {
    projectionsActions.openRun('r2');
    projectionsActions.listFailed('r1', 'not this one');
    expect(projectionsStore.getState().listError).toBeUndefined();
    projectionsActions.listFailed('r2', 'no run r2 in this engine');
    expect(projectionsStore.getState().listError).toBe('no run r2 in this engine');
    projectionsActions.listed('r2', [health('a')], false, 100);
    expect(projectionsStore.getState()).toMatchObject({ listError: undefined, finished: { r2: true }, runs: { r2: { live: false, headPosition: 100 } } });
    // An answer that says live cannot revive a run known to have finished.
    projectionsActions.listed('r2', [health('a')], true, 100);
    expect(projectionsStore.getState().runs.r2!.live).toBe(false);
  });

  it('collapses rows when another run is shown', () => {
    projectionsActions.openRun('r1');
    projectionsActions.toggleExpanded('slo-status');
    expect(projectionsStore.getState().expanded).toEqual({ 'slo-status': true });
    projectionsActions.openRun('r1');
    expect(projectionsStore.getState().expanded).toEqual({ 'slo-status': true });
    projectionsActions.openRun('r2');
    expect(projectionsStore.getState().expanded).toEqual({});
    projectionsActions.toggleExpanded('x');
    projectionsActions.toggleExpanded('x');
    expect(projectionsStore.getState().expanded).toEqual({});
  });

  it('keeps the last error of an action next to its row until the next action', () => {
    const key = runKey('r1', 'throughput-by-stream');
    projectionsActions.actionStarted('r1', 'throughput-by-stream', 'rebuild');
    expect(projectionsStore.getState().pending[key]).toBe('rebuild');
    projectionsActions.actionEnded('r1', 'throughput-by-stream', 'throughput-by-stream is already being rebuilt');
    expect(projectionsStore.getState()).toMatchObject({ pending: {}, actionErrors: { [key]: 'throughput-by-stream is already being rebuilt' } });
    projectionsActions.actionStarted('r1', 'throughput-by-stream', 'compare');
    expect(projectionsStore.getState().actionErrors).toEqual({});
    projectionsActions.actionEnded('r1', 'throughput-by-stream', undefined);
    expect(projectionsStore.getState()).toMatchObject({ pending: {}, actionErrors: {} });
  });

  it('marks every run finished when the engine restarts', () => {
    projectionsActions.healthPushed({ runId: 'r1', headPosition: 10, projections: [health('a')] }, 0);
    projectionsActions.actionStarted('r1', 'a', 'rebuild');
    projectionsActions.engineRestarted();
    expect(projectionsStore.getState()).toMatchObject({ runs: { r1: { live: false } }, finished: { r1: true }, pending: {} });
  });
});
