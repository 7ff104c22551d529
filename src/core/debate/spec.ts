/**
 * The debate spec: a plain JSON-able description of one debate (question, agents, protocol,
 * aggregation, termination, topology, round cap, faults), its defaults, and a validating parser
 * whose errors name the exact field (`agents[2].params.competence`).
 */
import { AuraError, type ErrorIssue } from '../kernel/errors.ts';
import { parseWith, s, type Schema } from '../kernel/schema.ts';

// ---------------------------------------------------------------------------------------------
// Types (what the parser returns: every default filled in)

export const protocolNames = ['simultaneous', 'sequential', 'mad', 'round-robin'] as const;
export type ProtocolName = (typeof protocolNames)[number];

export type Question =
  | { readonly kind: 'categorical'; readonly text: string; readonly options: readonly string[]; readonly correct: string }
  | { readonly kind: 'numeric'; readonly text: string; readonly truth: number; readonly tolerance: number };

export interface ReasonerParams {
  /** Probability of answering correctly alone (categorical questions). */
  readonly competence: number;
  /** Probability that a wrong answer (or a numeric error) is the debate's shared one. */
  readonly correlation: number;
  /** How much stated confidence tracks correctness: 1 calibrated, 0 uninformative, -1 inverted. */
  readonly calibration: number;
  /** Probability of keeping one's answer at a turn (categorical); numeric: 1 - step size. */
  readonly stubbornness: number;
  /** Weight on the peers' majority (vs one random peer) when considering a change. */
  readonly conformity: number;
  /** How much less readily a wrong (or worse) peer answer is adopted than a correct one; 0 = none. */
  readonly persuasionBias: number;
  /** Standard deviation of a numeric estimate's error. */
  readonly noise: number;
}

export interface NumericInitialParams {
  /** The agent's initial opinion; drawn as truth + noise when absent. */
  readonly initial?: number;
  readonly noise: number;
  readonly correlation: number;
}

export interface DegrootParams extends NumericInitialParams {
  /** Weight on one's own opinion; peers weigh `weights[name]` (default 1). */
  readonly selfWeight: number;
  readonly weights: Readonly<Record<string, number>>;
}

export interface FriedkinJohnsenParams extends DegrootParams {
  /** Weight on the social update; 1 - susceptibility stays anchored to the initial opinion. */
  readonly susceptibility: number;
}

export interface HegselmannKrauseParams extends NumericInitialParams {
  /** Confidence bound: only opinions within epsilon are averaged. */
  readonly epsilon: number;
}

export interface VoterParams extends NumericInitialParams {
  readonly competence: number;
  /** Probability of not copying anyone at a turn. */
  readonly stubbornness: number;
}

export interface BayesianParams extends NumericInitialParams {
  /** Accuracy of the agent's private signal (categorical). */
  readonly competence: number;
  /** Accuracy the agent assumes for each peer's stated answer (categorical). */
  readonly peerAccuracy: number;
  /** Precision of the private signal and of each peer statement (numeric). */
  readonly selfPrecision: number;
  readonly peerPrecision: number;
}

export interface ByzantineParams {
  /** mirror: tell each peer what it last said (or a random answer); random: a random answer per peer. */
  readonly strategy: 'mirror' | 'random';
  readonly confidence: number;
}

export interface StubbornWrongParams {
  /** The wrong option it insists on (categorical); the debate's shared wrong answer when absent. */
  readonly answer?: string;
  /** Its numeric answer is truth + offset. */
  readonly offset: number;
  readonly confidence: number;
}

export interface SycophantParams {
  /** Accuracy of its own answer when it has no one to copy yet. */
  readonly competence: number;
}

export interface PhaseKingParams {
  /** Byzantine agents the algorithm tolerates (f); floor((n - 1) / 3) when absent. */
  readonly faults?: number;
  readonly competence: number;
  readonly correlation: number;
}

export type AgentSpec =
  | { readonly name: string; readonly model: 'reasoner'; readonly params: ReasonerParams }
  | { readonly name: string; readonly model: 'slow'; readonly params: ReasonerParams }
  | { readonly name: string; readonly model: 'degroot'; readonly params: DegrootParams }
  | { readonly name: string; readonly model: 'friedkin-johnsen'; readonly params: FriedkinJohnsenParams }
  | { readonly name: string; readonly model: 'hegselmann-krause'; readonly params: HegselmannKrauseParams }
  | { readonly name: string; readonly model: 'voter'; readonly params: VoterParams }
  | { readonly name: string; readonly model: 'bayesian'; readonly params: BayesianParams }
  | { readonly name: string; readonly model: 'byzantine'; readonly params: ByzantineParams }
  | { readonly name: string; readonly model: 'stubborn-wrong'; readonly params: StubbornWrongParams }
  | { readonly name: string; readonly model: 'sycophant'; readonly params: SycophantParams }
  | { readonly name: string; readonly model: 'crashed'; readonly params: Readonly<Record<string, never>> }
  | { readonly name: string; readonly model: 'phase-king'; readonly params: PhaseKingParams }
  | { readonly name: string; readonly model: 'llm'; readonly params: LlmParams };

/** A real model (through the model client in node/): its answers come from outside the engine. */
export interface LlmParams {
  /** The endpoint (in the model client's configuration) that answers for this agent; default its name. */
  readonly endpoint?: string;
  /** A persona line put in the agent's prompt. */
  readonly persona: string;
}

export type AgentModelName = AgentSpec['model'];

export type Aggregation =
  | { readonly kind: 'plurality' }
  | { readonly kind: 'confidence-weighted'; readonly recalibrate: boolean }
  | { readonly kind: 'judge' }
  | { readonly kind: 'supermajority'; readonly fraction: number }
  | { readonly kind: 'unanimity' }
  | { readonly kind: 'trimmed-mean'; readonly trim: number };

export type Termination =
  | { readonly kind: 'fixed-rounds' }
  | { readonly kind: 'unanimity' }
  | { readonly kind: 'stable'; readonly rounds: number }
  | { readonly kind: 'judge' }
  | { readonly kind: 'message-budget'; readonly messages: number };

export type Topology = { readonly kind: 'full' } | { readonly kind: 'sparse'; readonly k: number } | { readonly kind: 'centralised'; readonly hub?: string };

export interface JudgeSpec {
  readonly name: string;
  /** Probability that the judge picks the best candidate answer. */
  readonly competence: number;
  /** Probability that the judge (or MAD's moderator) stops a split debate after a round. */
  readonly decisiveness: number;
}

interface Window {
  /** First round (1-based) the fault applies to. */
  readonly fromRound: number;
  /** Last round it applies to; to the end when absent. */
  readonly toRound?: number;
}

export type MessageFaultKind = 'drop' | 'duplicate' | 'delay' | 'reorder';

export type Fault =
  | (Window & { readonly kind: 'partition'; readonly groups: readonly (readonly string[])[] })
  | (Window & { readonly kind: MessageFaultKind; readonly probability: number; readonly from?: string; readonly to?: string })
  | { readonly kind: 'crash'; readonly agent: string; readonly fromRound: number };

export interface DebateSpec {
  readonly debateId: string;
  readonly question: Question;
  readonly agents: readonly AgentSpec[];
  readonly protocol: ProtocolName;
  readonly aggregation: Aggregation;
  readonly termination: Termination;
  readonly topology: Topology;
  /** Round cap: the debate never runs more rounds than this. */
  readonly rounds: number;
  readonly judge: JudgeSpec;
  readonly faults: readonly Fault[];
}

export const debateLimits = { agentsMax: 256, optionsMax: 64, roundsMax: 10_000, faultsMax: 64 } as const;

// ---------------------------------------------------------------------------------------------
// Schema

const name = s.string({ minLength: 1, maxLength: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, patternHint: 'a name (letters, digits, _ . -)' });
const probability = s.number({ min: 0, max: 1 });
const round = s.number({ integer: true, min: 1, max: debateLimits.roundsMax });

const numericInitial = {
  initial: s.optional(s.number()),
  noise: s.optional(s.number({ min: 0, max: 1e9 }), 1),
  correlation: s.optional(probability, 0),
};

const reasonerParams = s.object({
  competence: s.optional(probability, 0.6),
  correlation: s.optional(probability, 0),
  calibration: s.optional(s.number({ min: -1, max: 1 }), 0.5),
  stubbornness: s.optional(probability, 0.3),
  conformity: s.optional(probability, 0),
  persuasionBias: s.optional(probability, 0),
  noise: s.optional(s.number({ min: 0, max: 1e9 }), 1),
});

const degrootShape = {
  ...numericInitial,
  selfWeight: s.optional(s.number({ min: 0, max: 1e6 }), 1),
  weights: s.optional(s.record(s.number({ min: 0, max: 1e6 }), { maxKeys: debateLimits.agentsMax }), {}),
};

const paramsSchemas = {
  reasoner: reasonerParams,
  slow: reasonerParams,
  degroot: s.object(degrootShape),
  'friedkin-johnsen': s.object({ ...degrootShape, susceptibility: s.optional(probability, 0.5) }),
  'hegselmann-krause': s.object({ ...numericInitial, epsilon: s.optional(s.number({ greaterThan: 0, max: 1e9 }), 0.2) }),
  voter: s.object({ ...numericInitial, competence: s.optional(probability, 0.6), stubbornness: s.optional(probability, 0) }),
  bayesian: s.object({
    ...numericInitial,
    competence: s.optional(probability, 0.6),
    peerAccuracy: s.optional(probability, 0.6),
    selfPrecision: s.optional(s.number({ greaterThan: 0, max: 1e9 }), 1),
    peerPrecision: s.optional(s.number({ min: 0, max: 1e9 }), 1),
  }),
  byzantine: s.object({ strategy: s.optional(s.oneOf(['mirror', 'random'] as const), 'mirror'), confidence: s.optional(probability, 0.9) }),
  'stubborn-wrong': s.object({ answer: s.optional(s.string({ minLength: 1, maxLength: 256 })), offset: s.optional(s.number(), 1), confidence: s.optional(probability, 0.9) }),
  sycophant: s.object({ competence: s.optional(probability, 0.5) }),
  crashed: s.object({}),
  'phase-king': s.object({ faults: s.optional(s.number({ integer: true, min: 0, max: debateLimits.agentsMax })), competence: s.optional(probability, 0.5), correlation: s.optional(probability, 0) }),
  llm: s.object({ endpoint: s.optional(name), persona: s.optional(s.string({ maxLength: 2000 }), '') }),
} satisfies Record<AgentModelName, Schema<unknown>>;

export const agentModelNames = Object.keys(paramsSchemas) as AgentModelName[];

/** Models whose opinions are numbers only. */
const numericOnly = new Set<AgentModelName>(['degroot', 'friedkin-johnsen', 'hegselmann-krause']);

const agentSchema = s.object({
  name,
  model: s.oneOf(agentModelNames),
  params: s.optional(s.unknown()),
});

const questionSchema = s.tagged('kind', {
  categorical: s.object({
    text: s.optional(s.string({ maxLength: 2000 }), ''),
    options: s.array(s.string({ minLength: 1, maxLength: 256 }), { min: 2, max: debateLimits.optionsMax }),
    correct: s.string({ minLength: 1, maxLength: 256 }),
  }),
  numeric: s.object({
    text: s.optional(s.string({ maxLength: 2000 }), ''),
    truth: s.number({ min: -1e12, max: 1e12 }),
    /** An answer within this distance of the truth is correct; numeric agreement uses it too. */
    tolerance: s.optional(s.number({ min: 0, max: 1e12 }), 0.01),
  }),
});

const aggregationSchema = s.tagged('kind', {
  plurality: s.object({}),
  'confidence-weighted': s.object({ recalibrate: s.optional(s.boolean(), true) }),
  judge: s.object({}),
  supermajority: s.object({ fraction: s.optional(s.number({ greaterThan: 0.5, max: 1 }), 2 / 3) }),
  unanimity: s.object({}),
  'trimmed-mean': s.object({ trim: s.optional(s.number({ min: 0, max: 0.49 }), 0.2) }),
});

const terminationSchema = s.tagged('kind', {
  'fixed-rounds': s.object({}),
  unanimity: s.object({}),
  stable: s.object({ rounds: s.optional(s.number({ integer: true, min: 1, max: debateLimits.roundsMax }), 1) }),
  judge: s.object({}),
  'message-budget': s.object({ messages: s.number({ integer: true, min: 1, max: 10_000_000 }) }),
});

const topologySchema = s.tagged('kind', {
  full: s.object({}),
  sparse: s.object({ k: s.number({ integer: true, min: 1, max: debateLimits.agentsMax }) }),
  centralised: s.object({ hub: s.optional(name) }),
});

const window = { fromRound: s.optional(round, 1), toRound: s.optional(round) };
const messageFault = s.object({ ...window, probability, from: s.optional(name), to: s.optional(name) });

const faultSchema = s.tagged('kind', {
  partition: s.object({ ...window, groups: s.array(s.array(name, { min: 1, max: debateLimits.agentsMax }), { min: 1, max: debateLimits.agentsMax }) }),
  drop: messageFault,
  duplicate: messageFault,
  delay: messageFault,
  reorder: messageFault,
  crash: s.object({ agent: name, fromRound: s.optional(round, 1) }),
});

export const debateSpecSchema = s.object(
  {
    debateId: s.optional(s.string({ minLength: 1, maxLength: 128 }), 'debate'),
    question: questionSchema,
    agents: s.array(agentSchema, { min: 1, max: debateLimits.agentsMax }),
    protocol: s.optional(s.oneOf(protocolNames), 'simultaneous'),
    aggregation: s.optional(aggregationSchema),
    termination: s.optional(terminationSchema, { kind: 'fixed-rounds' }),
    topology: s.optional(topologySchema, { kind: 'full' }),
    rounds: s.optional(round, 3),
    judge: s.optional(
      s.object({ name: s.optional(name, 'judge'), competence: s.optional(probability, 0.8), decisiveness: s.optional(probability, 0.5) }),
      { name: 'judge', competence: 0.8, decisiveness: 0.5 },
    ),
    faults: s.optional(s.array(faultSchema, { max: debateLimits.faultsMax }), []),
  },
  { description: 'An AURA Lab debate' },
);

// ---------------------------------------------------------------------------------------------
// Parser

/**
 * Validates a debate document and fills in defaults. Throws AuraError('validation') listing
 * every issue with its field path.
 */
export function parseDebateSpec(document: unknown): DebateSpec {
  const result = parseWith(debateSpecSchema, document);
  if (!result.ok) throw new AuraError('validation', 'invalid debate spec', result.issues);
  const raw = result.value;
  const issues: ErrorIssue[] = [];
  const question = raw.question as Question;

  if (question.kind === 'categorical') {
    const seen = new Set<string>();
    question.options.forEach((option, index) => {
      if (seen.has(option)) issues.push({ path: ['question', 'options', index], message: `duplicate option ${JSON.stringify(option)}` });
      seen.add(option);
    });
    if (!seen.has(question.correct)) issues.push({ path: ['question', 'correct'], message: `expected one of the options (${question.options.join(', ')}), got ${JSON.stringify(question.correct)}` });
  }

  const names = new Map<string, number>();
  const agents: AgentSpec[] = [];
  raw.agents.forEach((agent, index) => {
    if (names.has(agent.name)) issues.push({ path: ['agents', index, 'name'], message: `duplicate agent name ${JSON.stringify(agent.name)}` });
    else names.set(agent.name, index);
    if (numericOnly.has(agent.model) && question.kind !== 'numeric') {
      issues.push({ path: ['agents', index, 'model'], message: `${agent.model} needs a numeric question` });
    }
    const schema = paramsSchemas[agent.model] as Schema<unknown>;
    const before = issues.length;
    const params = schema.parseAt(agent.params ?? {}, ['agents', index, 'params'], issues);
    if (issues.length === before) agents.push({ name: agent.name, model: agent.model, params } as AgentSpec);
  });
  const agentCount = raw.agents.length;
  const known = (value: string | undefined, path: (string | number)[]): void => {
    if (value !== undefined && !names.has(value)) issues.push({ path, message: `expected an agent name (${[...names.keys()].join(', ')}), got ${JSON.stringify(value)}` });
  };

  agents.forEach((agent) => {
    const index = names.get(agent.name) ?? 0;
    if (agent.model === 'degroot' || agent.model === 'friedkin-johnsen') {
      for (const peer of Object.keys(agent.params.weights)) known(peer, ['agents', index, 'params', 'weights', peer]);
    }
    if (agent.model === 'stubborn-wrong' && agent.params.answer !== undefined) {
      if (question.kind !== 'categorical') issues.push({ path: ['agents', index, 'params', 'answer'], message: 'answer is for categorical questions; numeric ones use offset' });
      else if (!question.options.includes(agent.params.answer)) issues.push({ path: ['agents', index, 'params', 'answer'], message: `expected one of the options (${question.options.join(', ')}), got ${JSON.stringify(agent.params.answer)}` });
      else if (agent.params.answer === question.correct) issues.push({ path: ['agents', index, 'params', 'answer'], message: 'a stubbornly wrong agent cannot insist on the correct answer' });
    }
  });

  const aggregation = (raw.aggregation ?? (question.kind === 'numeric' ? { kind: 'trimmed-mean', trim: 0.2 } : { kind: 'plurality' })) as Aggregation;
  const numericAggregations = new Set(['trimmed-mean', 'judge']);
  if (question.kind === 'numeric' && !numericAggregations.has(aggregation.kind)) {
    issues.push({ path: ['aggregation', 'kind'], message: `a numeric question is aggregated by trimmed-mean or judge, got ${aggregation.kind}` });
  }
  if (question.kind === 'categorical' && aggregation.kind === 'trimmed-mean') {
    issues.push({ path: ['aggregation', 'kind'], message: 'trimmed-mean needs a numeric question' });
  }

  const topology = raw.topology as Topology;
  if (topology.kind === 'sparse' && topology.k > agentCount - 1) {
    issues.push({ path: ['topology', 'k'], message: `expected at most ${agentCount - 1} (the other agents), got ${topology.k}` });
  }
  if (topology.kind === 'centralised') known(topology.hub, ['topology', 'hub']);

  if (raw.protocol === 'mad' && agentCount < 2) issues.push({ path: ['protocol'], message: 'mad needs at least 2 agents (an affirmative and a negative)' });
  const judge = raw.judge as JudgeSpec;
  if (names.has(judge.name)) issues.push({ path: ['judge', 'name'], message: `the judge cannot share a name with an agent (${JSON.stringify(judge.name)})` });

  const faults = raw.faults as Fault[];
  faults.forEach((fault, index) => {
    if (fault.kind === 'crash') {
      known(fault.agent, ['faults', index, 'agent']);
      return;
    }
    if (fault.toRound !== undefined && fault.toRound < fault.fromRound) {
      issues.push({ path: ['faults', index, 'toRound'], message: `expected a round >= fromRound (${fault.fromRound}), got ${fault.toRound}` });
    }
    if (fault.kind === 'partition') {
      const placed = new Set<string>();
      fault.groups.forEach((group, groupIndex) =>
        group.forEach((member, memberIndex) => {
          const path = ['faults', index, 'groups', groupIndex, memberIndex];
          known(member, path);
          if (placed.has(member)) issues.push({ path, message: `${JSON.stringify(member)} is in more than one group` });
          placed.add(member);
        }),
      );
      return;
    }
    known(fault.from, ['faults', index, 'from']);
    known(fault.to, ['faults', index, 'to']);
  });

  if (issues.length > 0) throw new AuraError('validation', 'invalid debate spec', issues);
  return {
    debateId: raw.debateId as string,
    question,
    agents,
    protocol: raw.protocol as ProtocolName,
    aggregation,
    termination: raw.termination as Termination,
    topology,
    rounds: raw.rounds as number,
    judge,
    faults,
  };
}
