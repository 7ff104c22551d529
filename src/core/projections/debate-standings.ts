import { field, isNumber, isString, isStringArray, labEventTypes } from '../events/lab-events.ts';
import type { JsonValue } from '../kernel/canonical.ts';
import type { ProjectionDefinition } from './projection.ts';

/** Per debate: its question, agents, the answers given in each round, and the outcome. */
export interface DebateStanding {
  [key: string]: JsonValue;
  question: string;
  agents: string[];
  protocol: string;
  /** rounds[r][answer] = how many agents gave that answer in round r. */
  rounds: Record<string, Record<string, number>>;
  status: 'open' | 'consensus' | 'no_consensus';
  consensus: { answer: string; round: number } | null;
}

const debateTypes = new Set<string>([labEventTypes.debateStarted, labEventTypes.argumentMade, labEventTypes.consensusReached, labEventTypes.consensusFailed]);

export const debateStandings: ProjectionDefinition<DebateStanding> = {
  name: 'debate-standings',
  version: 1,
  description: 'Per debate: answers per round and the consensus',
  initial: () => ({ question: '', agents: [], protocol: '', rounds: {}, status: 'open', consensus: null }),
  partitionBy: (event) => (debateTypes.has(event.type) ? field(event, 'debateId', isString, 'a debate id') : undefined),
  shards: 2,
  apply: (state, event) => {
    switch (event.type) {
      case labEventTypes.debateStarted:
        state.question = field(event, 'question', isString, 'a string');
        state.agents = [...field(event, 'agents', isStringArray, 'a list of agent names')];
        state.protocol = field(event, 'protocol', isString, 'a protocol name');
        return state;
      case labEventTypes.argumentMade: {
        const round = String(field(event, 'round', isNumber, 'a round number'));
        const answer = field(event, 'answer', isString, 'an answer');
        const tally = (state.rounds[round] ??= {});
        tally[answer] = (tally[answer] ?? 0) + 1;
        return state;
      }
      case labEventTypes.consensusReached:
        state.status = 'consensus';
        state.consensus = { answer: field(event, 'answer', isString, 'an answer'), round: field(event, 'round', isNumber, 'a round number') };
        return state;
      default:
        state.status = 'no_consensus';
        return state;
    }
  },
};
