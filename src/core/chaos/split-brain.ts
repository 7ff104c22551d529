/**
 * Debating agents under a partition: each side of the partition debates on its own (messages
 * cannot cross), and may decide only with a quorum of the whole membership: a strict majority
 * of all the debate's agents voting the same answer. A side smaller than a majority can never
 * reach it, which is the safety invariant the checker verifies (checkDebateSafety). After the
 * heal, all agents debate together and decide as usual.
 */
import type { DebateDecision } from './checkers.ts';
import { runDebate } from '../debate/debate.ts';
import type { DebateSpec } from '../debate/spec.ts';
import type { Random } from '../kernel/random.ts';

export interface PartitionedSide {
  readonly agents: readonly string[];
  /** The side's own aggregation result (what it would decide alone). */
  readonly proposed: string | null;
  /** Votes for the proposed answer. */
  readonly votes: number;
  /** Whether the side decided: its votes are a majority of the whole membership. */
  readonly decided: boolean;
}

export interface SplitBrainOutcome {
  readonly sides: readonly PartitionedSide[];
  readonly decisions: readonly DebateDecision[];
  /** The debate of all agents after the heal. */
  readonly healed: { readonly answer: string | null; readonly correct: boolean; readonly rounds: number };
}

export function debateUnderPartition(spec: DebateSpec, groups: readonly (readonly string[])[], random: Random): SplitBrainOutcome {
  const members = spec.agents.length;
  const sides = groups.map((group, index): PartitionedSide => {
    const agents = spec.agents.filter((agent) => group.includes(agent.name));
    if (agents.length === 0) return { agents: [], proposed: null, votes: 0, decided: false };
    const outcome = runDebate({ ...spec, debateId: `${spec.debateId}/side-${index + 1}`, agents, faults: [] }, random.split(`side-${index + 1}`));
    const proposed = outcome.decision.answer;
    const votes = outcome.records.filter((record) => record.type === 'vote' && proposed !== null && record.answer === proposed).length;
    return { agents: agents.map((agent) => agent.name), proposed, votes, decided: proposed !== null && votes * 2 > members };
  });
  const healed = runDebate({ ...spec, faults: [] }, random.split('healed'));
  return {
    sides,
    decisions: sides.map((side, index) => ({ debateId: `${spec.debateId}/side-${index + 1}`, sideSize: side.agents.length, agents: members, decided: side.decided })),
    healed: { answer: healed.decision.answer, correct: healed.decision.correct, rounds: healed.roundsPlayed },
  };
}
