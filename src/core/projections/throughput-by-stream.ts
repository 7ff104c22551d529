import { isSystemStream } from '../events/event.ts';
import type { ProjectionDefinition } from './projection.ts';

/** Per stream: its events in all, and per virtual second. Partitioned by stream. */
export interface StreamThroughput {
  [key: string]: number | Record<string, number>;
  total: number;
  seconds: Record<string, number>;
}

export const throughputByStream: ProjectionDefinition<StreamThroughput> = {
  name: 'throughput-by-stream',
  version: 1,
  description: 'Workload events per virtual second, by stream',
  initial: () => ({ total: 0, seconds: {} }),
  partitionBy: (event) => (isSystemStream(event.stream) ? undefined : event.stream),
  shards: 2,
  apply: (state, event) => {
    const second = String(Math.floor(event.metadata.virtualTimeUs / 1_000_000));
    state.seconds[second] = (state.seconds[second] ?? 0) + 1;
    state.total += 1;
    return state;
  },
};
