/** Pure helpers of the Projections tab: labels, numbers, progress and the sparkline's geometry. */
import { scaleLinear } from 'd3';
import type { ProjectionHealthView } from '../../../../shared/api.ts';
import { lagWindowMs, type LagSample } from '../../state/projections-store.ts';

export type ProjectionStatus = ProjectionHealthView['status'];

const statusLabels: Record<ProjectionStatus, string> = {
  catching_up: 'catching up',
  live: 'live',
  halted: 'halted',
  stalled: 'stalled',
  failed: 'failed',
};

export function statusLabel(status: ProjectionStatus): string {
  return statusLabels[status];
}

export function formatCount(value: number): string {
  return value.toLocaleString('en');
}

/** Milliseconds for people: 0 ms, 3.2 ms, 140 ms, 1.5 s, 42 s. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0 ms';
  if (ms < 10) return `${(Math.round(ms * 10) / 10).toString()} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.round(ms / 100) / 10).toString()} s`;
  return `${Math.round(ms / 1_000)} s`;
}

/** Append-to-projected latency as p50 / p99, or a dash before anything was projected. */
export function formatLatency(latency: ProjectionHealthView['latency']): string {
  return latency.count === 0 ? '–' : `${formatMs(latency.p50Ms)} / ${formatMs(latency.p99Ms)}`;
}

/** How far a shadow build has come towards the head, 0 to 1. */
export function rebuildProgress(checkpoint: number, head: number): number {
  if (head <= 0) return 0;
  return Math.min(1, Math.max(0, checkpoint / head));
}

/** A catch-up split over the workers, in one line, with its progress from 0 to 1. */
export function describeCatchUp(catchUp: NonNullable<ProjectionHealthView['catchUp']>): { text: string; progress: number } {
  const total = catchUp.to - catchUp.from;
  const progress = total <= 0 ? 1 : Math.min(1, Math.max(0, catchUp.folded / total));
  return {
    text: `Catching up in ${catchUp.parts} parts at once (positions ${formatCount(catchUp.from + 1)}–${formatCount(catchUp.to)}): ${formatCount(catchUp.folded)} / ${formatCount(total)} folded (${Math.floor(progress * 100)}%)`,
    progress,
  };
}

/** The last comparison of a shadow build with the live projection, in one line. */
export function describeCompare(report: NonNullable<ProjectionHealthView['lastCompare']>): string {
  const versions = report.liveVersion === report.shadowVersion ? '' : ` (v${report.liveVersion} → v${report.shadowVersion})`;
  const outcome = report.equal ? 'equal' : `different: ${report.differences.length === 0 ? 'the states differ' : report.differences.join(', ')}`;
  return `${outcome} at position ${formatCount(report.at)}${versions} · ${report.swapped ? 'swapped in' : 'not swapped, the live projection is kept'}`;
}

export interface Sparkline {
  /** Points in the box [0, width] x [0, height], oldest first; y grows downwards. */
  readonly points: [number, number][];
  /** The largest lag drawn (the top of the box). */
  readonly max: number;
}

/**
 * Lag samples of the last window, placed in a width x height box: time on x (the newest
 * sample at the right edge), lag on y from 0 at the bottom to the largest lag at the top.
 */
export function sparkline(samples: readonly LagSample[], width: number, height: number, windowMs = lagWindowMs): Sparkline {
  const newest = samples.at(-1);
  if (newest === undefined) return { points: [], max: 0 };
  const shown = samples.filter((sample) => sample.atMs >= newest.atMs - windowMs);
  const max = Math.max(0, ...shown.map((sample) => sample.lagEvents));
  const x = scaleLinear()
    .domain([newest.atMs - windowMs, newest.atMs])
    .range([0, width]);
  const y = scaleLinear()
    .domain([0, Math.max(1, max)])
    .range([height, 0]);
  return { points: shown.map((sample) => [x(sample.atMs), y(sample.lagEvents)]), max };
}
