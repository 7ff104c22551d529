import { field, isNumber, isString, labEventTypes } from '../events/lab-events.ts';
import type { JsonValue } from '../kernel/canonical.ts';
import type { ProjectionDefinition } from './projection.ts';

/** Per agent: what it answered, when, in which debate and round, and how sure it said it was. */
export interface AgentBeliefs {
  [key: string]: JsonValue;
  points: { virtualTimeUs: number; debateId: string; round: number; answer: string; confidence: number }[];
  /** Points dropped from the front once a timeline holds beliefsPerAgentMax. */
  dropped: number;
}

/** Newest points kept per agent (a timeline, not an archive: the log keeps them all). */
export const beliefsPerAgentMax = 2_000;

export const agentBeliefs: ProjectionDefinition<AgentBeliefs> = {
  name: 'agent-beliefs',
  version: 1,
  description: 'Per agent: the timeline of its answers and stated confidence',
  initial: () => ({ points: [], dropped: 0 }),
  partitionBy: (event) => (event.type === labEventTypes.argumentMade ? field(event, 'agent', isString, 'an agent name') : undefined),
  shards: 2,
  apply: (state, event) => {
    state.points.push({
      virtualTimeUs: event.metadata.virtualTimeUs,
      debateId: field(event, 'debateId', isString, 'a debate id'),
      round: field(event, 'round', isNumber, 'a round number'),
      answer: field(event, 'answer', isString, 'an answer'),
      confidence: field(event, 'confidence', isNumber, 'a confidence in [0, 1]'),
    });
    if (state.points.length > beliefsPerAgentMax) {
      state.points.shift();
      state.dropped += 1;
    }
    return state;
  },
  // The newest beliefsPerAgentMax of both timelines; every point that falls off is counted.
  merge: (before, after) => {
    const points = before.points.concat(after.points);
    const excess = Math.max(0, points.length - beliefsPerAgentMax);
    return { points: excess === 0 ? points : points.slice(excess), dropped: before.dropped + after.dropped + excess };
  },
};
