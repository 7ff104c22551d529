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
}

export const throughputByStream: ProjectionDefinition<StreamThroughput> = {
  name: 'throughput-by-stream',
  version: 2,
  description: 'Workload events by stream: total, current and peak per virtual second',
  initial: () => ({ total: 0, second: -1, inSecond: 0, peak: 0, peakSecond: -1 }),
  partitionBy: (event) => (isSystemStream(event.stream) ? undefined : event.stream),
  shards: 2,
  apply: (state, event) => {
    const second = Math.floor(event.metadata.virtualTimeUs / 1_000_000);
    if (second !== state.second) {
      state.second = second;
      state.inSecond = 0;
    }
    state.inSecond += 1;
    state.total += 1;
    if (state.inSecond > state.peak) {
      state.peak = state.inSecond;
      state.peakSecond = second;
    }
    return state;
  },
};
