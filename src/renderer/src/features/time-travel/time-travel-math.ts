/**
 * Pure helpers of the run controls and the Time travel tab: formatting, the scrubber's geometry
 * (bars, cursor, pointer to position and back), the form's JSON-or-text values, telemetry series
 * merging and the comparison's metric rows. No DOM, no React: unit-tested on their own.
 */
import { scaleLinear, type ScaleLinear } from 'd3';
import type { ResultOf } from '../../../../shared/api.ts';

export type Timeline = ResultOf<'run.timeline'>;
export type TimelineBucket = Timeline['buckets'][number];
export type Telemetry = ResultOf<'telemetry.get'>;
export type TelemetrySecond = Telemetry['seconds'][number];
export type RunDiff = ResultOf<'runs.diff'>;
export type RunMetrics = RunDiff['a'];
export type Speed = number | 'max';

/** The speeds the control bar offers. */
export const controlSpeeds: readonly Speed[] = [0.5, 1, 5, 20, 'max'];

/** A speed as the `<select>` holds it, and back. */
export function speedValue(speed: Speed): string {
  return speed === 'max' ? 'max' : String(speed);
}

export function parseSpeed(value: string): Speed | undefined {
  if (value === 'max') return 'max';
  const speed = Number(value);
  return Number.isFinite(speed) && speed > 0 ? speed : undefined;
}

export function speedLabel(speed: Speed): string {
  return speed === 'max' ? 'max' : `${speed}×`;
}

/** Virtual time for people: 0 s, 12.345 s, 2:05.300, 1:02:05.300. */
export function formatVirtualTime(us: number): string {
  if (!Number.isFinite(us) || us <= 0) return '0 s';
  const totalMs = Math.round(us / 1_000);
  const ms = totalMs % 1_000;
  const totalSeconds = Math.floor(totalMs / 1_000);
  if (totalSeconds < 60) return ms === 0 ? `${totalSeconds} s` : `${totalSeconds}.${String(ms).padStart(3, '0')} s`;
  const seconds = totalSeconds % 60;
  const totalMinutes = Math.floor(totalSeconds / 60);
  const minutes = totalMinutes % 60;
  const hours = Math.floor(totalMinutes / 60);
  const tail = `${String(seconds).padStart(2, '0')}.${String(ms).padStart(3, '0')}`;
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${tail}` : `${minutes}:${tail}`;
}

/**
 * Virtual time on an axis tick, alike over the whole axis (`spanUs`, its largest value): 0s,
 * 2.5s, 60s on an axis under two minutes; 0:00, 2:30, 1:02:05 on a longer one.
 */
export function formatTickTime(us: number, spanUs: number): string {
  const seconds = Math.max(0, us) / 1_000_000;
  if (spanUs < 120_000_000) return `${Math.round(seconds * 10) / 10}s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  const hours = Math.floor(minutes / 60);
  const ss = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes % 60).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/** The value of a `set` row: JSON when the text parses as JSON (100, true, {"profile":…}), else the text itself. */
export function parseJsonOrText(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return trimmed;
  }
}

export interface Box {
  readonly width: number;
  readonly height: number;
  readonly margin: { readonly top: number; readonly right: number; readonly bottom: number; readonly left: number };
}

export interface TimelineScales {
  readonly x: ScaleLinear<number, number>;
  readonly y: ScaleLinear<number, number>;
  /** Most events in one bucket. */
  readonly max: number;
}

/** Virtual time on x (the whole declared duration), events per bucket on y. */
export function timelineScales(timeline: Pick<Timeline, 'durationUs' | 'buckets'>, box: Box): TimelineScales {
  const end = Math.max(1, timeline.durationUs, timeline.buckets.at(-1)?.endUs ?? 0);
  const max = Math.max(0, ...timeline.buckets.map((bucket) => bucket.events));
  return {
    x: scaleLinear()
      .domain([0, end])
      .range([box.margin.left, box.width - box.margin.right]),
    y: scaleLinear()
      .domain([0, Math.max(1, max)])
      .range([box.height - box.margin.bottom, box.margin.top]),
    max,
  };
}

export interface BarGeometry {
  readonly index: number;
  readonly x: number;
  readonly width: number;
  /** Top of the bar and its height (0 for an empty bucket). */
  readonly y: number;
  readonly height: number;
}

/** One bar per bucket, a pixel apart when there is room. */
export function barGeometry(buckets: readonly TimelineBucket[], scales: Pick<TimelineScales, 'x' | 'y'>): BarGeometry[] {
  const [baseline] = scales.y.range() as [number, number];
  return buckets.map((bucket, index) => {
    const left = scales.x(bucket.startUs);
    const full = Math.max(0, scales.x(bucket.endUs) - left);
    const gap = full > 3 ? 1 : 0;
    const top = scales.y(bucket.events);
    return { index, x: left, width: Math.max(0.5, full - gap), y: top, height: Math.max(0, baseline - top) };
  });
}

/** The newest position the timeline knows (0 when the log is empty). */
export function timelineHead(timeline: Pick<Timeline, 'headPosition'>): number {
  return Math.max(0, timeline.headPosition);
}

/**
 * The position a pointer at `px` (in the chart's coordinates) points at: inside a bucket, its
 * events are spread evenly over its width; in an empty bucket, the last position before it (the
 * state there is the state after that event). Always within 1..head (0 for an empty log).
 */
export function positionAtX(timeline: Pick<Timeline, 'buckets' | 'headPosition'>, x: ScaleLinear<number, number>, px: number): number {
  const head = timelineHead(timeline);
  if (head === 0) return 0;
  const us = x.invert(px);
  const { buckets } = timeline;
  const index = buckets.findIndex((bucket) => us < bucket.endUs);
  if (index === -1) return head;
  const bucket = buckets[index]!;
  if (bucket.events > 0 && bucket.firstPosition !== null) {
    const span = Math.max(1, bucket.endUs - bucket.startUs);
    const fraction = Math.min(1, Math.max(0, (us - bucket.startUs) / span));
    const position = bucket.firstPosition + Math.min(bucket.events - 1, Math.floor(fraction * bucket.events));
    return clampPosition(position, head);
  }
  for (let before = index - 1; before >= 0; before--) {
    const last = buckets[before]!.lastPosition;
    if (last !== null) return clampPosition(last, head);
  }
  return 1;
}

function clampPosition(position: number, head: number): number {
  return Math.min(head, Math.max(1, position));
}

/** Where the cursor for `position` is drawn: the middle of its share of its bucket (undefined when no bucket holds it). */
export function xOfPosition(timeline: Pick<Timeline, 'buckets'>, x: ScaleLinear<number, number>, position: number): number | undefined {
  const bucket = timeline.buckets.find((item) => item.firstPosition !== null && item.lastPosition !== null && item.firstPosition <= position && position <= item.lastPosition);
  if (bucket === undefined || bucket.firstPosition === null) return undefined;
  const left = x(bucket.startUs);
  const width = x(bucket.endUs) - left;
  return left + ((position - bucket.firstPosition + 0.5) / bucket.events) * width;
}

/** The bucket holding a position (its index), or -1. */
export function bucketOfPosition(timeline: Pick<Timeline, 'buckets'>, position: number): number {
  return timeline.buckets.findIndex((item) => item.firstPosition !== null && item.lastPosition !== null && item.firstPosition <= position && position <= item.lastPosition);
}

/** A pointer's clientX in an SVG drawn at `rectWidth` pixels from a viewBox `viewBoxWidth` wide. */
export function clientToViewBox(clientX: number, rectLeft: number, rectWidth: number, viewBoxWidth: number): number {
  if (rectWidth <= 0) return 0;
  return ((clientX - rectLeft) * viewBoxWidth) / rectWidth;
}

/** The events-per-second-by-type projection's state, as the seek panel shows it. */
export interface EventsPerSecondState {
  readonly total: number;
  readonly types: readonly string[];
  readonly seconds: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export function isEventsPerSecondState(value: unknown): value is EventsPerSecondState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as Partial<EventsPerSecondState>;
  return typeof state.total === 'number' && Array.isArray(state.types) && typeof state.seconds === 'object' && state.seconds !== null;
}

export interface TypeCount {
  readonly type: string;
  /** Events of this type up to the position. */
  readonly total: number;
  /** Of them, in the virtual second of the position. */
  readonly inSecond: number;
}

/** Per type: events so far and events in the position's virtual second. */
export function typeCounts(state: EventsPerSecondState, virtualTimeUs: number): { second: number; rows: TypeCount[] } {
  const second = Math.max(0, Math.floor(virtualTimeUs / 1_000_000));
  const totals = new Map<string, number>(state.types.map((type) => [type, 0]));
  for (const bucket of Object.values(state.seconds)) {
    for (const [type, count] of Object.entries(bucket)) totals.set(type, (totals.get(type) ?? 0) + count);
  }
  const current = state.seconds[String(second)] ?? {};
  const rows = [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([type, total]) => ({ type, total, inSecond: current[type] ?? 0 }));
  return { second, rows };
}

/**
 * Telemetry rows merged with a newer answer asked `fromSecond` on: rows before it are kept,
 * the answer replaces the rest (the last second of a live run was still filling).
 */
export function mergeTelemetrySeconds(existing: readonly TelemetrySecond[], incoming: readonly TelemetrySecond[], fromSecond: number): TelemetrySecond[] {
  const kept = existing.filter((row) => row.second < fromSecond);
  return [...kept, ...incoming].sort((a, b) => a.second - b.second);
}

/**
 * The second to ask a live run's telemetry from next: the first one held whose latency is not
 * complete yet (fewer latency samples than events: its events are still being projected), else
 * the last one (it may have been partial); 0 without any.
 */
export function nextTelemetrySecond(seconds: readonly TelemetrySecond[]): number {
  const last = seconds.at(-1);
  if (last === undefined) return 0;
  const unsettled = seconds.find((row) => row.latency.count < row.events);
  return Math.min(unsettled?.second ?? last.second, last.second);
}

export interface MetricRow {
  readonly key: string;
  readonly label: string;
  readonly a: string;
  readonly b: string;
  readonly differs: boolean;
}

function number(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '–';
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(3)}%`;
}

/** Two runs' metrics as rows of a side-by-side table; `differs` marks rows whose values are not the same. */
export function metricRows(a: RunMetrics, b: RunMetrics): MetricRow[] {
  const rows: MetricRow[] = [];
  const add = (key: string, label: string, left: string, right: string): void => {
    rows.push({ key, label, a: left, b: right, differs: left !== right });
  };
  add('scenario', 'scenario · seed', `${a.scenario} · ${a.seed}`, `${b.scenario} · ${b.seed}`);
  add('events', 'events', number(a.events), number(b.events));
  add('virtualDuration', 'virtual duration', formatVirtualTime(a.virtualDurationUs), formatVirtualTime(b.virtualDurationUs));
  add('eventsPerVirtualSecond', 'events / virtual second', number(a.eventsPerVirtualSecond, 1), number(b.eventsPerVirtualSecond, 1));
  const types = [...new Set([...Object.keys(a.byType), ...Object.keys(b.byType)])].sort();
  for (const type of types) add(type, type, number(a.byType[type] ?? 0), number(b.byType[type] ?? 0));
  add('requests', 'requests', number(a.requests.count), number(b.requests.count));
  add('failedRequests', 'failed requests', number(a.requests.failed), number(b.requests.failed));
  add('availability', 'availability', percent(a.requests.availability), percent(b.requests.availability));
  add('p95LatencyMs', 'latency p95 (ms)', number(a.requests.p95LatencyMs, 1), number(b.requests.p95LatencyMs, 1));
  add('p99LatencyMs', 'latency p99 (ms)', number(a.requests.p99LatencyMs, 1), number(b.requests.p99LatencyMs, 1));
  add('actions', 'operator actions', number(a.actions), number(b.actions));
  const forkOf = (metrics: RunMetrics): string => (metrics.forkOf === null ? '–' : `${metrics.forkOf.runId} @ ${number(metrics.forkOf.at)}`);
  add('forkOf', 'fork of', forkOf(a), forkOf(b));
  add('headHash', 'head hash', a.headHash.slice(0, 16), b.headHash.slice(0, 16));
  return rows;
}

export interface SeriesScales {
  readonly x: ScaleLinear<number, number>;
  readonly y: ScaleLinear<number, number>;
}

/** Per-virtual-second charts: seconds 0..last+1 on x, 0..the largest value (at least 1) on y. */
export function seriesScales(seconds: readonly number[], values: readonly number[], box: Box): SeriesScales {
  const last = Math.max(0, ...seconds);
  const top = Math.max(1, ...values.filter((value) => Number.isFinite(value)));
  return {
    x: scaleLinear()
      .domain([0, last + 1])
      .range([box.margin.left, box.width - box.margin.right]),
    y: scaleLinear()
      .domain([0, top * 1.1])
      .nice()
      .range([box.height - box.margin.bottom, box.margin.top]),
  };
}
