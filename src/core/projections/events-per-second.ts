import { isSystemStream } from '../events/event.ts';
import type { ProjectionDefinition } from './projection.ts';

/**
 * Events per virtual second, by event type. `seconds[s][type]` counts workload events whose
 * virtual time falls in second s. Events on the lab's own streams ($run, ...) are not workload.
 */
export interface EventsPerSecondState {
  [key: string]: number | string[] | Record<string, Record<string, number>>;
  total: number;
  types: string[];
  seconds: Record<string, Record<string, number>>;
}

export const eventsPerSecondByType: ProjectionDefinition<EventsPerSecondState> = {
  name: 'events-per-second-by-type',
  version: 1,
  description: 'Workload events per virtual second, by event type',
  initial: () => ({ total: 0, types: [], seconds: {} }),
  apply: (state, event) => {
    if (isSystemStream(event.stream)) return state;
    const second = String(Math.floor(event.metadata.virtualTimeUs / 1_000_000));
    let bucket = state.seconds[second];
    if (bucket === undefined) {
      bucket = {};
      state.seconds[second] = bucket;
    }
    bucket[event.type] = (bucket[event.type] ?? 0) + 1;
    if (!state.types.includes(event.type)) {
      state.types.push(event.type);
      state.types.sort();
    }
    state.total += 1;
    return state;
  },
  merge: (before, after) => {
    for (const [second, counts] of Object.entries(after.seconds)) {
      const bucket = (before.seconds[second] ??= {});
      for (const [type, count] of Object.entries(counts)) bucket[type] = (bucket[type] ?? 0) + count;
    }
    before.types = [...new Set([...before.types, ...after.types])].sort();
    before.total += after.total;
    return before;
  },
};
