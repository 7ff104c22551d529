import { isSystemStream } from '../events/event.ts';
import type { ProjectionDefinition } from './projection.ts';

/**
 * Per stream: its events in all, its current virtual second's count, and its busiest second.
 * Bounded by the number of streams, not by the length of the run: a per-stream, per-second
 * series would grow to millions of entries on long runs with many streams, and every task
 * ships its shard's state (the run's total per second is events-per-second-by-type).
 */
export interface StreamThroughput {
  [key: string]: number;
  total: number;
  /** The virtual second of the stream's latest event, and how many it had in that second. */
  second: number;
  inSecond: number;
  /** The most events the stream had in one virtual second, and which second that was. */
  peak: number;
  peakSecond: number;
  /**
   * So that folds of separate ranges can be joined (merge): the first run of events in one
   * second (its second and count), and the busiest run strictly between the first and the
   * latest (0 and -1 while there is none). A run is consecutive events in the same second.
   */
  firstSecond: number;
  inFirstSecond: number;
  innerPeak: number;
  innerPeakSecond: number;
}

/** A run of events in one virtual second: [count, second]. */
type Run = readonly [number, number];

/** The first run with the largest count (ties go to the earlier, as apply's strict > does). */
function busiest(runs: readonly Run[]): Run {
  let best: Run = [0, -1];
  for (const run of runs) if (run[0] > best[0]) best = run;
  return best;
}

/** A fold's runs as joining needs them: the first, the busiest inner one (if any), the latest. */
function runsOf(state: StreamThroughput): Run[] {
  if (state.inFirstSecond === state.total) return [[state.total, state.firstSecond]];
  const inner: Run[] = state.innerPeak > 0 ? [[state.innerPeak, state.innerPeakSecond]] : [];
  return [[state.inFirstSecond, state.firstSecond], ...inner, [state.inSecond, state.second]];
}

export const throughputByStream: ProjectionDefinition<StreamThroughput> = {
  name: 'throughput-by-stream',
  // 3: the first run and the inner peak, so that folds of separate ranges can be joined.
  version: 3,
  description: 'Workload events by stream: total, current and peak per virtual second',
  initial: () => ({ total: 0, second: -1, inSecond: 0, peak: 0, peakSecond: -1, firstSecond: -1, inFirstSecond: 0, innerPeak: 0, innerPeakSecond: -1 }),
  partitionBy: (event) => (isSystemStream(event.stream) ? undefined : event.stream),
  shards: 2,
  apply: (state, event) => {
    const second = Math.floor(event.metadata.virtualTimeUs / 1_000_000);
    if (state.total === 0) {
      state.firstSecond = second;
      state.second = second;
    } else if (second !== state.second) {
      // The latest run ends; unless it was the first, it is now an inner run.
      if (state.inFirstSecond !== state.total && state.inSecond > state.innerPeak) {
        state.innerPeak = state.inSecond;
        state.innerPeakSecond = state.second;
      }
      state.second = second;
      state.inSecond = 0;
    }
    if (state.inFirstSecond === state.total && second === state.firstSecond) state.inFirstSecond += 1;
    state.inSecond += 1;
    state.total += 1;
    if (state.inSecond > state.peak) {
      state.peak = state.inSecond;
      state.peakSecond = second;
    }
    return state;
  },
  merge: (before, after) => {
    if (after.total === 0) return before;
    if (before.total === 0) return after;
    const earlier = runsOf(before);
    const later = runsOf(after);
    const last = earlier[earlier.length - 1] as Run;
    const first = later[0] as Run;
    // The latest run of the earlier range and the first of the later one are one run when in the same second.
    const runs: Run[] = last[1] === first[1] ? [...earlier.slice(0, -1), [last[0] + first[0], last[1]], ...later.slice(1)] : [...earlier, ...later];
    const head = runs[0] as Run;
    const tail = runs[runs.length - 1] as Run;
    const inner = runs.length > 2 ? busiest(runs.slice(1, -1)) : ([0, -1] as Run);
    const peak = busiest(runs);
    return {
      total: before.total + after.total,
      second: tail[1],
      inSecond: tail[0],
      peak: peak[0],
      peakSecond: peak[1],
      firstSecond: head[1],
      inFirstSecond: head[0],
      innerPeak: inner[0],
      innerPeakSecond: inner[1],
    };
  },
};
