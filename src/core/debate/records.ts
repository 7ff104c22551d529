/**
 * What a debate produces: an ordered list of plain records, one per thing that happened, each
 * mapping onto one lab event (see events.ts). Rounds are 1-based.
 */

export interface DebateStartedRecord {
  readonly type: 'debate-started';
  readonly debateId: string;
  readonly question: string;
  readonly agents: readonly string[];
  readonly protocol: string;
  /** Categorical questions: the options, in order. */
  readonly options?: readonly string[];
}

export interface ArgumentRecord {
  readonly type: 'argument';
  readonly debateId: string;
  readonly agent: string;
  readonly round: number;
  /** The option, or the numeric estimate rounded to 6 decimals. */
  readonly answer: string;
  /** Numeric questions: the exact estimate. */
  readonly value?: number;
  readonly confidence: number;
  readonly rationale: string;
  /** The peers whose messages the agent had received since its previous turn. */
  readonly repliesTo: readonly string[];
  /** Only to these recipients (a Byzantine agent's per-peer answers); absent: to all its neighbours. */
  readonly to?: readonly string[];
  /** A slow agent's message: delivered a round late. */
  readonly late?: true;
}

export type FaultKind = 'partition' | 'drop' | 'duplicate' | 'delay' | 'reorder' | 'crash';

export interface FaultRecord {
  readonly type: 'fault';
  readonly debateId: string;
  /** Unique within the debate: `<debateId>/fault-<index in spec.faults>/<n>`. */
  readonly faultId: string;
  readonly kind: FaultKind;
  readonly round: number;
  /** `from->to` for a message, the agent's name for a crash. */
  readonly target: string;
  readonly from?: string;
  readonly to?: string;
}

export interface VoteRecord {
  readonly type: 'vote';
  readonly debateId: string;
  readonly agent: string;
  readonly round: number;
  readonly answer: string;
  readonly value?: number;
  readonly confidence: number;
  /** Weight in the aggregation (confidence-weighted: the recalibrated confidence; else 1). */
  readonly weight: number;
}

export interface ConsensusReachedRecord {
  readonly type: 'consensus-reached';
  readonly debateId: string;
  readonly answer: string;
  readonly round: number;
}

export interface ConsensusFailedRecord {
  readonly type: 'consensus-failed';
  readonly debateId: string;
  readonly round: number;
  readonly reason: string;
}

export type StopReason = 'fixed-rounds' | 'round-cap' | 'unanimity' | 'stable' | 'judge' | 'moderator' | 'message-budget';

export interface DecisionRecord {
  readonly type: 'decision';
  readonly debateId: string;
  readonly round: number;
  /** The aggregation that decided (spec.aggregation.kind). */
  readonly method: string;
  /** null when no decision was made (no quorum). */
  readonly answer: string | null;
  readonly value?: number;
  /** Whether the answer is correct; false when there is none. */
  readonly correct: boolean;
  readonly stoppedBy: StopReason;
  /** Counted votes, and agents alive (not crashed) at the decision. */
  readonly votes: number;
  readonly liveAgents: number;
  /** Messages (speeches) sent. */
  readonly messages: number;
}

export type DebateRecord = DebateStartedRecord | ArgumentRecord | FaultRecord | VoteRecord | ConsensusReachedRecord | ConsensusFailedRecord | DecisionRecord;

export interface FinalAnswer {
  readonly name: string;
  readonly answer: string | null;
  readonly value: number | null;
  readonly alive: boolean;
}

export interface DebateOutcome {
  readonly debateId: string;
  readonly records: readonly DebateRecord[];
  readonly roundsPlayed: number;
  readonly messages: number;
  readonly decision: DecisionRecord;
  /** Each agent's public answer at the end (in spec order). */
  readonly finalAnswers: readonly FinalAnswer[];
}
