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
  /** Whether its DebateStarted has been seen (a question may be empty). */
  started: boolean;
}

const debateTypes = new Set<string>([labEventTypes.debateStarted, labEventTypes.argumentMade, labEventTypes.consensusReached, labEventTypes.consensusFailed]);

export const debateStandings: ProjectionDefinition<DebateStanding> = {
  name: 'debate-standings',
  // 2: `started`, so that folds of separate ranges can be joined (merge).
  version: 2,
  description: 'Per debate: answers per round and the consensus',
  initial: () => ({ question: '', agents: [], protocol: '', rounds: {}, status: 'open', consensus: null, started: false }),
  partitionBy: (event) => (debateTypes.has(event.type) ? field(event, 'debateId', isString, 'a debate id') : undefined),
  shards: 2,
  apply: (state, event) => {
    switch (event.type) {
      // Every field is read before the state changes: a poison event leaves it untouched.
      case labEventTypes.debateStarted: {
        const question = field(event, 'question', isString, 'a string');
        const agents = [...field(event, 'agents', isStringArray, 'a list of agent names')];
        const protocol = field(event, 'protocol', isString, 'a protocol name');
        Object.assign(state, { question, agents, protocol, started: true });
        return state;
      }
      case labEventTypes.argumentMade: {
        const round = String(field(event, 'round', isNumber, 'a round number'));
        const answer = field(event, 'answer', isString, 'an answer');
        const tally = (state.rounds[round] ??= {});
        tally[answer] = (tally[answer] ?? 0) + 1;
        return state;
      }
      case labEventTypes.consensusReached: {
        const consensus = { answer: field(event, 'answer', isString, 'an answer'), round: field(event, 'round', isNumber, 'a round number') };
        state.status = 'consensus';
        state.consensus = consensus;
        return state;
      }
      default:
        state.status = 'no_consensus';
        return state;
    }
  },
  merge: (before, after) => {
    if (after.started) Object.assign(before, { question: after.question, agents: after.agents, protocol: after.protocol, started: true });
    for (const [round, tally] of Object.entries(after.rounds)) {
      const into = (before.rounds[round] ??= {});
      for (const [answer, count] of Object.entries(tally)) into[answer] = (into[answer] ?? 0) + count;
    }
    // Status only ever leaves 'open', and consensus only ever becomes non-null: the later range's word, if it has one.
    if (after.status !== 'open') before.status = after.status;
    if (after.consensus !== null) before.consensus = after.consensus;
    return before;
  },
};
