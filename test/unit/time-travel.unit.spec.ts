import { beforeEach, describe, expect, it } from 'vitest';
import {
  barGeometry,
  bucketOfPosition,
  clientToViewBox,
  formatTickTime,
  formatVirtualTime,
  isEventsPerSecondState,
  mergeTelemetrySeconds,
  metricRows,
  nextTelemetrySecond,
  parseJsonOrText,
  parseSpeed,
  positionAtX,
  seriesScales,
  speedLabel,
  speedValue,
  timelineScales,
  typeCounts,
  xOfPosition,
  type Box,
  type RunMetrics,
  type Telemetry,
  type TelemetrySecond,
  type Timeline,
} from '../../src/renderer/src/features/time-travel/time-travel-math.ts';
import { initialTimeTravelState, timeTravelActions, timeTravelStore, type StateAt } from '../../src/renderer/src/state/time-travel-store.ts';
import { initialRunControlState, runControlActions, runControlStore } from '../../src/renderer/src/state/run-control-store.ts';

const box: Box = { width: 1_000, height: 100, margin: { top: 0, right: 0, bottom: 0, left: 0 } };

/** 4 buckets of 1 s over 4 s: 10 events, none, 5 events, 1 event (positions 1..16). */
const timeline: Timeline = {
  runId: 'r',
  durationUs: 4_000_000,
  headPosition: 16,
  live: false,
  buckets: [
    { startUs: 0, endUs: 1_000_000, events: 10, firstPosition: 1, lastPosition: 10 },
    { startUs: 1_000_000, endUs: 2_000_000, events: 0, firstPosition: null, lastPosition: null },
    { startUs: 2_000_000, endUs: 3_000_000, events: 5, firstPosition: 11, lastPosition: 15 },
    { startUs: 3_000_000, endUs: 4_000_000, events: 1, firstPosition: 16, lastPosition: 16 },
  ],
  actions: [],
};

const second = (n: number, events: number): TelemetrySecond => ({ second: n, events, latency: { count: events, p50Ms: 1, p95Ms: 2, p99Ms: 3, maxMs: 4 }, requests: 0, failedRequests: 0, availability: null });

const metrics = (overrides: Partial<RunMetrics> = {}): RunMetrics => ({
  runId: 'a',
  scenario: 'hello',
  seed: 1,
  events: 3_302,
  headHash: 'ab'.repeat(32),
  virtualDurationUs: 60_000_000,
  eventsPerVirtualSecond: 55,
  byType: { OrderPlaced: 1_440, OrderShipped: 960, PaymentCaptured: 900 },
  requests: { count: 0, failed: 0, availability: null, p95LatencyMs: null, p99LatencyMs: null },
  actions: 0,
  forkOf: null,
  ...overrides,
});

describe('time travel formatting', () => {
  it('writes virtual time in seconds, then minutes, then hours', () => {
    expect(formatVirtualTime(0)).toBe('0 s');
    expect(formatVirtualTime(-5)).toBe('0 s');
    expect(formatVirtualTime(Number.NaN)).toBe('0 s');
    expect(formatVirtualTime(12_000_000)).toBe('12 s');
    expect(formatVirtualTime(12_345_678)).toBe('12.346 s');
    expect(formatVirtualTime(125_300_000)).toBe('2:05.300');
    expect(formatVirtualTime(3_725_300_000)).toBe('1:02:05.300');
  });

  it('writes axis ticks short', () => {
    expect(formatTickTime(0, 60_000_000)).toBe('0s');
    expect(formatTickTime(2_500_000, 60_000_000)).toBe('2.5s');
    expect(formatTickTime(60_000_000, 60_000_000)).toBe('60s');
    // One style over a whole axis: a 10-minute axis writes 100 s as 1:40.
    expect(formatTickTime(0, 600_000_000)).toBe('0:00');
    expect(formatTickTime(100_000_000, 600_000_000)).toBe('1:40');
    expect(formatTickTime(150_000_000, 600_000_000)).toBe('2:30');
    expect(formatTickTime(3_725_000_000, 7_200_000_000)).toBe('1:02:05');
  });

  it('reads a set value as JSON when it parses, else as text', () => {
    expect(parseJsonOrText('100')).toBe(100);
    expect(parseJsonOrText(' -1 ')).toBe(-1);
    expect(parseJsonOrText('true')).toBe(true);
    expect(parseJsonOrText('{"profile":"poisson","perSecond":50}')).toEqual({ profile: 'poisson', perSecond: 50 });
    expect(parseJsonOrText('poisson')).toBe('poisson');
    expect(parseJsonOrText('  10s ')).toBe('10s');
    expect(parseJsonOrText('{not json')).toBe('{not json');
  });

  it('turns speeds into select values and back', () => {
    expect([0.5, 1, 'max'].map((speed) => speedValue(speed as number | 'max'))).toEqual(['0.5', '1', 'max']);
    expect(parseSpeed('0.5')).toBe(0.5);
    expect(parseSpeed('max')).toBe('max');
    expect(parseSpeed('0')).toBeUndefined();
    expect(parseSpeed('fast')).toBeUndefined();
    expect(speedLabel(20)).toBe('20×');
  });
});

describe('timeline geometry', () => {
  const scales = timelineScales(timeline, box);

  it('spans the declared duration on x and the fullest bucket on y', () => {
    expect(scales.x.domain()).toEqual([0, 4_000_000]);
    expect(scales.max).toBe(10);
    const bars = barGeometry(timeline.buckets, scales);
    expect(bars.map((bar) => [bar.x, bar.width])).toEqual([
      [0, 249],
      [250, 249],
      [500, 249],
      [750, 249],
    ]);
    expect(bars.map((bar) => bar.height)).toEqual([100, 0, 50, 10]);
    expect(bars[0]!.y).toBe(0);
  });

  it('keeps a y domain of at least 1 for an empty timeline', () => {
    const empty = timelineScales({ durationUs: 0, buckets: [] }, box);
    expect(empty.y.domain()).toEqual([0, 1]);
    expect(empty.x.domain()).toEqual([0, 1]);
  });

  it('maps a pointer to a position: spread over its bucket, the last event before an empty one, clamped to the log', () => {
    expect(positionAtX(timeline, scales.x, 0)).toBe(1);
    expect(positionAtX(timeline, scales.x, 24.9)).toBe(1);
    expect(positionAtX(timeline, scales.x, 25)).toBe(2);
    expect(positionAtX(timeline, scales.x, 249)).toBe(10);
    // The empty second bucket: the state there is the state after position 10.
    expect(positionAtX(timeline, scales.x, 300)).toBe(10);
    expect(positionAtX(timeline, scales.x, 600)).toBe(13);
    expect(positionAtX(timeline, scales.x, 990)).toBe(16);
    expect(positionAtX(timeline, scales.x, 5_000)).toBe(16);
    expect(positionAtX(timeline, scales.x, -40)).toBe(1);
    expect(positionAtX({ ...timeline, headPosition: 0, buckets: timeline.buckets.map((bucket) => ({ ...bucket, events: 0, firstPosition: null, lastPosition: null })) }, scales.x, 300)).toBe(0);
  });

  it('draws the cursor where a click would seek back to the same position', () => {
    for (let position = 1; position <= 16; position++) {
      const x = xOfPosition(timeline, scales.x, position);
      expect(x).toBeDefined();
      expect(positionAtX(timeline, scales.x, x!)).toBe(position);
    }
    expect(xOfPosition(timeline, scales.x, 1)).toBe(12.5);
    expect(xOfPosition(timeline, scales.x, 17)).toBeUndefined();
    expect(bucketOfPosition(timeline, 12)).toBe(2);
    expect(bucketOfPosition(timeline, 0)).toBe(-1);
  });

  it('converts a pointer from screen pixels to the viewBox', () => {
    expect(clientToViewBox(150, 100, 500, 1_000)).toBe(100);
    expect(clientToViewBox(100, 100, 500, 1_000)).toBe(0);
    expect(clientToViewBox(150, 100, 0, 1_000)).toBe(0);
  });

  it('scales per-second series to their largest finite value', () => {
    const series = seriesScales([0, 1, 2], [5, Number.NaN, 10], box);
    expect(series.x.domain()).toEqual([0, 3]);
    expect(series.y.domain()[1]).toBeGreaterThanOrEqual(11);
    expect(seriesScales([], [], box).y.domain()[1]).toBeGreaterThanOrEqual(1);
  });
});

describe('seek state and telemetry', () => {
  it('counts events per type so far and in the position second', () => {
    const state = { total: 7, types: ['A', 'B', 'C'], seconds: { '0': { A: 2, B: 1 }, '1': { A: 3, B: 1 } } };
    expect(isEventsPerSecondState(state)).toBe(true);
    expect(isEventsPerSecondState({ total: 1 })).toBe(false);
    expect(isEventsPerSecondState(null)).toBe(false);
    expect(typeCounts(state, 1_500_000)).toEqual({
      second: 1,
      rows: [
        { type: 'A', total: 5, inSecond: 3 },
        { type: 'B', total: 2, inSecond: 1 },
        { type: 'C', total: 0, inSecond: 0 },
      ],
    });
  });

  it('merges telemetry asked from a second: older rows kept, the rest replaced', () => {
    const held = [second(0, 10), second(1, 20), second(2, 5)];
    expect(nextTelemetrySecond(held)).toBe(2);
    expect(nextTelemetrySecond([])).toBe(0);
    // A second whose events are not all projected yet will change: asked again from there.
    const unsettled = { ...second(1, 20), latency: { ...second(1, 20).latency, count: 4 } };
    expect(nextTelemetrySecond([second(0, 10), unsettled, second(2, 5)])).toBe(1);
    const merged = mergeTelemetrySeconds(held, [second(2, 30), second(3, 7)], 2);
    expect(merged.map((row) => [row.second, row.events])).toEqual([
      [0, 10],
      [1, 20],
      [2, 30],
      [3, 7],
    ]);
  });
});

describe('run comparison rows', () => {
  it('lists every type of both runs and marks the rows that differ', () => {
    const a = metrics();
    const b = metrics({ runId: 'b', events: 4_000, byType: { OrderPlaced: 2_100, OrderShipped: 960, PaymentCaptured: 900, ParameterChanged: 1 }, actions: 1, forkOf: { runId: 'a', at: 1_234 }, headHash: 'cd'.repeat(32) });
    const rows = metricRows(a, b);
    const row = (key: string) => rows.find((item) => item.key === key);
    expect(row('OrderPlaced')).toMatchObject({ a: '1,440', b: '2,100', differs: true });
    expect(row('OrderShipped')).toMatchObject({ differs: false });
    expect(row('ParameterChanged')).toMatchObject({ a: '0', b: '1', differs: true });
    expect(row('forkOf')).toMatchObject({ a: '–', b: 'a @ 1,234', differs: true });
    expect(row('scenario')?.differs).toBe(false);
    expect(row('availability')).toMatchObject({ a: '–', differs: false });
    expect(metricRows(a, a).every((item) => !item.differs)).toBe(true);
  });
});

describe('time travel store', () => {
  beforeEach(() => {
    timeTravelStore.setState(initialTimeTravelState, true);
    runControlStore.setState(initialRunControlState, true);
  });

  const stateAt = (position: number): StateAt => ({ position, virtualTimeUs: position * 1_000, projection: 'events-per-second-by-type', state: { total: position, types: [], seconds: {} }, foldedEvents: position });

  it('keeps only the answer for the position still sought', () => {
    timeTravelActions.openRun('r');
    timeTravelActions.seekStarted('r', 10);
    timeTravelActions.seekStarted('r', 20);
    timeTravelActions.seekAnswered('r', stateAt(10));
    expect(timeTravelStore.getState().seek).toMatchObject({ position: 20, pending: true, result: undefined });
    timeTravelActions.seekAnswered('r', stateAt(20));
    expect(timeTravelStore.getState().seek).toMatchObject({ position: 20, pending: false, result: { position: 20 } });
    timeTravelActions.seekFailed('r', 10, 'late');
    expect(timeTravelStore.getState().seek?.error).toBeUndefined();
  });

  it('starts over on another run, drops answers about the previous one, and keeps the fork fields', () => {
    timeTravelActions.openRun('r');
    timeTravelActions.timelineLoaded('r', timeline);
    timeTravelActions.setForkField('path', 'workload.orders.rate.perSecond');
    timeTravelActions.openFork(true);
    timeTravelActions.openRun('s');
    timeTravelActions.timelineLoaded('r', timeline);
    timeTravelActions.seekStarted('r', 3);
    const state = timeTravelStore.getState();
    expect(state).toMatchObject({ runId: 's', timeline: undefined, seek: undefined, telemetry: { state: 'idle' } });
    expect(state.fork).toMatchObject({ open: false, path: 'workload.orders.rate.perSecond' });
  });

  it('merges telemetry and says when there is none', () => {
    timeTravelActions.openRun('r');
    timeTravelActions.telemetryLoading('r');
    expect(timeTravelStore.getState().telemetry.state).toBe('loading');
    timeTravelActions.telemetryFailed('r', { state: 'unavailable', message: 'telemetry is not recorded yet' });
    expect(timeTravelStore.getState().telemetry.state).toBe('unavailable');
    const data = (seconds: TelemetrySecond[]): Telemetry => ({ runId: 'r', seconds, finalSeconds: 0, latency: second(0, 0).latency, slos: [], alerts: [] });
    timeTravelActions.telemetryLoaded('r', data([second(0, 1), second(1, 2)]), 0);
    timeTravelActions.telemetryLoaded('r', data([second(1, 5), second(2, 3)]), 1);
    const telemetry = timeTravelStore.getState().telemetry;
    expect(telemetry.state === 'loaded' ? telemetry.data.seconds.map((row) => row.events) : []).toEqual([1, 5, 3]);
  });

  it('keeps a comparison only for the runs still chosen', () => {
    const diff = { identical: true, sharedPrefix: 3, firstDivergence: null, a: metrics(), b: metrics() };
    timeTravelActions.setCompareRun('a', 'x');
    timeTravelActions.setCompareRun('b', 'y');
    timeTravelActions.compareStarted();
    timeTravelActions.setCompareRun('b', 'z');
    timeTravelActions.compareAnswered('x', 'y', diff);
    expect(timeTravelStore.getState().compare).toMatchObject({ pending: false, result: undefined });
    timeTravelActions.compareAnswered('x', 'z', diff);
    expect(timeTravelStore.getState().compare.result).toBe(diff);
  });

  it('tracks the run control request in flight and its error per run', () => {
    runControlActions.started('r', 'pause');
    expect(runControlStore.getState().pending).toEqual({ runId: 'r', action: 'pause' });
    runControlActions.ended('r', 'conflict: pause the run before stepping it');
    expect(runControlStore.getState()).toEqual({ pending: undefined, error: { runId: 'r', message: 'conflict: pause the run before stepping it' } });
    runControlActions.started('r', 'resume');
    expect(runControlStore.getState().error).toBeUndefined();
  });
});
