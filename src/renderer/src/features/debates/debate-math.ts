/**
 * The Debates tab's pure arithmetic: a debate read back from its events (stream
 * `debate-<name>-<n>`), and what the view draws from it: each agent's answer per round,
 * influence edges, answer distributions, consensus shares, belief trajectories, the transcript.
 * Payloads are read defensively: a field of the wrong type is treated as absent.
 */
import type { BrowsedEvent } from '../../../../shared/api.ts';

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const strings = (value: unknown): string[] | undefined => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined);
const record = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

export interface DebateDecision {
  readonly answer: string | null;
  readonly correct: boolean;
  readonly round: number | undefined;
  readonly stoppedBy: string | undefined;
  readonly votes: number | undefined;
  readonly liveAgents: number | undefined;
  readonly messages: number | undefined;
}

/** One debate of a run, from its DebateStarted (and DebateDecided, once there is one). */
export interface DebateSummary {
  readonly debateId: string;
  readonly stream: string;
  readonly position: number;
  readonly virtualTimeUs: number;
  readonly question: string;
  readonly agents: readonly string[];
  readonly protocol: string;
  readonly decision: DebateDecision | undefined;
}

function decisionOf(payload: Record<string, unknown>): DebateDecision {
  return {
    answer: str(payload.answer) ?? null,
    correct: payload.correct === true,
    round: num(payload.round),
    stoppedBy: str(payload.stoppedBy),
    votes: num(payload.votes),
    liveAgents: num(payload.liveAgents),
    messages: num(payload.messages),
  };
}

/** The debates in a list of DebateStarted and DebateDecided events (any order), by position of their start. */
export function debateSummaries(events: readonly BrowsedEvent[]): DebateSummary[] {
  const decided = new Map<string, DebateDecision>();
  for (const event of events) {
    if (event.type !== 'DebateDecided') continue;
    const payload = record(event.payload);
    decided.set(event.stream, decisionOf(payload));
  }
  const out: DebateSummary[] = [];
  for (const event of events) {
    if (event.type !== 'DebateStarted') continue;
    const payload = record(event.payload);
    out.push({
      debateId: str(payload.debateId) ?? event.stream,
      stream: event.stream,
      position: event.position,
      virtualTimeUs: event.virtualTimeUs,
      question: str(payload.question) ?? '',
      agents: strings(payload.agents) ?? [],
      protocol: str(payload.protocol) ?? '',
      decision: decided.get(event.stream),
    });
  }
  return out.sort((a, b) => a.position - b.position);
}

export interface DebateArgument {
  readonly position: number;
  readonly agent: string;
  readonly round: number;
  readonly answer: string;
  readonly confidence: number;
  readonly rationale: string;
  readonly repliesTo: readonly string[];
  /** Only to these recipients (a Byzantine agent's per-peer answers); undefined: to all. */
  readonly to: readonly string[] | undefined;
  readonly late: boolean;
}

export interface DebateFault {
  readonly position: number;
  readonly type: 'FaultInjected' | 'FaultCleared';
  readonly faultId: string;
  readonly kind: string | undefined;
  readonly round: number | undefined;
  readonly target: string | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

export interface DebateVote {
  readonly agent: string;
  readonly round: number;
  readonly answer: string;
  readonly confidence: number;
}

export interface DebateDetail {
  readonly debateId: string;
  readonly stream: string;
  readonly question: string;
  readonly agents: readonly string[];
  readonly protocol: string;
  /** Categorical questions: the options, in order (empty for numeric ones). */
  readonly options: readonly string[];
  readonly arguments: readonly DebateArgument[];
  readonly faults: readonly DebateFault[];
  readonly votes: readonly DebateVote[];
  readonly consensus: { readonly answer: string | null; readonly round: number | undefined; readonly reached: boolean } | undefined;
  readonly decision: DebateDecision | undefined;
  /** The highest round any argument was made in. */
  readonly rounds: number;
}

/** A debate from the events of its stream, in position order. */
export function parseDebate(stream: string, events: readonly BrowsedEvent[]): DebateDetail {
  let debateId = stream;
  let question = '';
  let agents: readonly string[] = [];
  let protocol = '';
  let options: readonly string[] = [];
  const args: DebateArgument[] = [];
  const faults: DebateFault[] = [];
  const votes: DebateVote[] = [];
  let consensus: DebateDetail['consensus'];
  let decision: DebateDecision | undefined;
  const sorted = [...events].sort((a, b) => a.position - b.position);
  for (const event of sorted) {
    const payload = record(event.payload);
    switch (event.type) {
      case 'DebateStarted':
        debateId = str(payload.debateId) ?? stream;
        question = str(payload.question) ?? '';
        agents = strings(payload.agents) ?? [];
        protocol = str(payload.protocol) ?? '';
        options = strings(payload.options) ?? [];
        break;
      case 'ArgumentMade': {
        const agent = str(payload.agent);
        const round = num(payload.round);
        const answer = str(payload.answer);
        if (agent === undefined || round === undefined || answer === undefined) break;
        args.push({
          position: event.position,
          agent,
          round,
          answer,
          confidence: num(payload.confidence) ?? Number.NaN,
          rationale: str(payload.rationale) ?? '',
          repliesTo: strings(payload.repliesTo) ?? [],
          to: strings(payload.to),
          late: payload.late === true,
        });
        break;
      }
      case 'VoteCast': {
        const agent = str(payload.agent);
        const answer = str(payload.answer);
        if (agent === undefined || answer === undefined) break;
        votes.push({ agent, round: num(payload.round) ?? 0, answer, confidence: num(payload.confidence) ?? Number.NaN });
        break;
      }
      case 'FaultInjected':
      case 'FaultCleared':
        faults.push({
          position: event.position,
          type: event.type,
          faultId: str(payload.faultId) ?? '',
          kind: str(payload.kind),
          round: num(payload.round),
          target: str(payload.target),
          from: str(payload.from),
          to: str(payload.to),
        });
        break;
      case 'ConsensusReached':
        consensus = { answer: str(payload.answer) ?? null, round: num(payload.round), reached: true };
        break;
      case 'ConsensusFailed':
        consensus = { answer: null, round: num(payload.round), reached: false };
        break;
      case 'DebateDecided':
        decision = decisionOf(payload);
        break;
      default:
        break;
    }
  }
  // A FaultCleared names only its fault: give it the injected one's details.
  const injected = new Map(faults.filter((fault) => fault.type === 'FaultInjected').map((fault) => [fault.faultId, fault]));
  const completed = faults.map((fault) => {
    const source = fault.type === 'FaultCleared' ? injected.get(fault.faultId) : undefined;
    return source === undefined ? fault : { ...source, position: fault.position, type: fault.type };
  });
  const known = new Set(agents);
  const allAgents = [...agents, ...args.map((arg) => arg.agent).filter((agent, index, list) => !known.has(agent) && list.indexOf(agent) === index)];
  return {
    debateId,
    stream,
    question,
    agents: allAgents,
    protocol,
    options,
    arguments: args,
    faults: completed,
    votes,
    consensus,
    decision,
    rounds: args.reduce((max, arg) => Math.max(max, arg.round), 0),
  };
}

/**
 * Each agent's public answer per round (index round - 1; undefined when it said nothing that
 * round). A Byzantine agent's per-peer answers: its message to all if any, else the first one.
 */
export function answerGrid(detail: DebateDetail): Map<string, (string | undefined)[]> {
  const grid = new Map<string, (string | undefined)[]>(detail.agents.map((agent) => [agent, new Array<string | undefined>(detail.rounds).fill(undefined)]));
  const publicSet = new Set<string>();
  for (const arg of detail.arguments) {
    const row = grid.get(arg.agent);
    if (row === undefined || arg.round < 1) continue;
    const key = `${arg.agent}\u0000${arg.round}`;
    if (row[arg.round - 1] === undefined || (arg.to === undefined && !publicSet.has(key))) row[arg.round - 1] = arg.answer;
    if (arg.to === undefined) publicSet.add(key);
  }
  return grid;
}

/** What `speaker` told `listener` in `round`: its message addressed to the listener, else its public one. */
function answerHeard(detail: DebateDetail, speaker: string, listener: string, round: number, grid: Map<string, (string | undefined)[]>): string | undefined {
  const addressed = detail.arguments.find((arg) => arg.agent === speaker && arg.round === round && arg.to !== undefined && arg.to.includes(listener));
  return addressed?.answer ?? grid.get(speaker)?.[round - 1];
}

export interface InfluenceEdge {
  readonly from: string;
  readonly to: string;
  readonly weight: number;
}

/**
 * Influence: an edge A -> B counts the rounds r + 1 in which B changed its answer to the one A
 * gave in round r, A being among those B heard (B's repliesTo in round r + 1). Sorted by
 * weight (heaviest first), then names.
 */
export function influenceEdges(detail: DebateDetail): InfluenceEdge[] {
  const grid = answerGrid(detail);
  const weights = new Map<string, InfluenceEdge>();
  for (const agent of detail.agents) {
    const row = grid.get(agent) ?? [];
    for (let round = 2; round <= detail.rounds; round += 1) {
      const before = row[round - 2];
      const now = row[round - 1];
      if (before === undefined || now === undefined || before === now) continue;
      const heard = new Set(detail.arguments.filter((arg) => arg.agent === agent && arg.round === round).flatMap((arg) => arg.repliesTo));
      for (const speaker of heard) {
        if (speaker === agent || answerHeard(detail, speaker, agent, round - 1, grid) !== now) continue;
        const key = `${speaker}\u0000${agent}`;
        weights.set(key, { from: speaker, to: agent, weight: (weights.get(key)?.weight ?? 0) + 1 });
      }
    }
  }
  return [...weights.values()].sort((a, b) => b.weight - a.weight || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** Every answer of the debate in display order: the options first, then others as they appear. */
export function answerOrder(detail: DebateDetail): string[] {
  const seen = new Set<string>(detail.options);
  const extra: string[] = [];
  for (const answer of [...detail.arguments.map((arg) => arg.answer), ...detail.votes.map((vote) => vote.answer), detail.decision?.answer ?? undefined]) {
    if (answer === undefined || answer === null || seen.has(answer)) continue;
    seen.add(answer);
    extra.push(answer);
  }
  return [...detail.options, ...extra];
}

/** Each agent's final answer: its vote, else its last public answer, else null (it said nothing). */
export function finalAnswers(detail: DebateDetail): Map<string, string | null> {
  const grid = answerGrid(detail);
  const votes = new Map(detail.votes.map((vote) => [vote.agent, vote.answer]));
  return new Map(
    detail.agents.map((agent) => {
      const row = grid.get(agent) ?? [];
      const last = [...row].reverse().find((answer) => answer !== undefined);
      return [agent, votes.get(agent) ?? last ?? null];
    }),
  );
}

export interface RoundDistribution {
  readonly round: number;
  /** Agents that answered in the round. */
  readonly total: number;
  /** Count per answer, in `answers` order (zeros included). */
  readonly counts: readonly { readonly answer: string; readonly count: number }[];
}

/** How many agents gave each answer in each round (one answer per agent and round). */
export function roundDistributions(detail: DebateDetail, answers: readonly string[] = answerOrder(detail)): RoundDistribution[] {
  const grid = answerGrid(detail);
  const out: RoundDistribution[] = [];
  for (let round = 1; round <= detail.rounds; round += 1) {
    const tally = new Map<string, number>();
    for (const row of grid.values()) {
      const answer = row[round - 1];
      if (answer !== undefined) tally.set(answer, (tally.get(answer) ?? 0) + 1);
    }
    const order = [...answers, ...[...tally.keys()].filter((answer) => !answers.includes(answer))];
    out.push({ round, total: [...tally.values()].reduce((sum, count) => sum + count, 0), counts: order.map((answer) => ({ answer, count: tally.get(answer) ?? 0 })) });
  }
  return out;
}

export interface StackSegment {
  readonly round: number;
  readonly answer: string;
  readonly count: number;
  /** Cumulative counts below and at the top of the segment. */
  readonly y0: number;
  readonly y1: number;
}

/** Stacked bar segments (zero counts left out). */
export function stackSegments(distributions: readonly RoundDistribution[]): StackSegment[] {
  const out: StackSegment[] = [];
  for (const distribution of distributions) {
    let y = 0;
    for (const { answer, count } of distribution.counts) {
      if (count === 0) continue;
      out.push({ round: distribution.round, answer, count, y0: y, y1: y + count });
      y += count;
    }
  }
  return out;
}

export interface ConsensusShare {
  readonly round: number;
  /** The plurality answer (ties: the first in answer order); null when nobody answered. */
  readonly answer: string | null;
  readonly agreeing: number;
  readonly total: number;
  /** agreeing / total, 0 when nobody answered. */
  readonly share: number;
}

/** Per round: the share of the agents answering that round who agree with its plurality answer. */
export function consensusShares(distributions: readonly RoundDistribution[]): ConsensusShare[] {
  return distributions.map((distribution) => {
    let best: { answer: string; count: number } | undefined;
    for (const item of distribution.counts) if (item.count > 0 && (best === undefined || item.count > best.count)) best = item;
    return {
      round: distribution.round,
      answer: best?.answer ?? null,
      agreeing: best?.count ?? 0,
      total: distribution.total,
      share: best === undefined || distribution.total === 0 ? 0 : best.count / distribution.total,
    };
  });
}

export interface TrajectoryPoint {
  readonly round: number;
  readonly confidence: number;
  readonly answer: string;
  /** True when the answer differs from the agent's previous one. */
  readonly changed: boolean;
}

export interface Trajectory {
  readonly agent: string;
  readonly points: readonly TrajectoryPoint[];
}

/** Each agent's stated confidence per round (its public message), with its answer changes marked. */
export function trajectories(detail: DebateDetail): Trajectory[] {
  const grid = answerGrid(detail);
  return detail.agents.map((agent) => {
    const points: TrajectoryPoint[] = [];
    let previous: string | undefined;
    for (let round = 1; round <= detail.rounds; round += 1) {
      const answer = grid.get(agent)?.[round - 1];
      if (answer === undefined) continue;
      const arg = detail.arguments.find((item) => item.agent === agent && item.round === round && item.answer === answer && item.to === undefined) ?? detail.arguments.find((item) => item.agent === agent && item.round === round && item.answer === answer);
      const confidence = arg?.confidence ?? Number.NaN;
      points.push({ round, confidence, answer, changed: previous !== undefined && previous !== answer });
      previous = answer;
    }
    return { agent, points };
  });
}

export type TranscriptRow = { readonly kind: 'argument'; readonly position: number; readonly argument: DebateArgument } | { readonly kind: 'fault'; readonly position: number; readonly fault: DebateFault };

export interface TranscriptFilter {
  readonly agent: string | undefined;
  readonly round: number | undefined;
}

/** Does the fault concern the agent (its sender, receiver or crashed agent)? */
function faultInvolves(fault: DebateFault, agent: string): boolean {
  if (fault.from === agent || fault.to === agent || fault.target === agent) return true;
  return fault.target !== undefined && fault.target.split('->').includes(agent);
}

/** Arguments and faults in log order, filtered by agent and round. */
export function transcriptRows(detail: DebateDetail, filter: TranscriptFilter): TranscriptRow[] {
  const rows: TranscriptRow[] = [
    ...detail.arguments.filter((arg) => (filter.agent === undefined || arg.agent === filter.agent) && (filter.round === undefined || arg.round === filter.round)).map((argument) => ({ kind: 'argument' as const, position: argument.position, argument })),
    ...detail.faults
      .filter((fault) => (filter.agent === undefined || faultInvolves(fault, filter.agent)) && (filter.round === undefined || fault.round === filter.round))
      .map((fault) => ({ kind: 'fault' as const, position: fault.position, fault })),
  ];
  return rows.sort((a, b) => a.position - b.position);
}

/** A confidence as a percentage ("–" when unknown). */
export function formatConfidence(confidence: number): string {
  return Number.isFinite(confidence) ? `${Math.round(confidence * 100)}%` : '–';
}

/** A fault in a few words: "drop ada->bob, round 2 (cleared)". */
export function describeFault(fault: DebateFault): string {
  const what = `${fault.kind ?? 'fault'} ${fault.target ?? ''}`.trim();
  const round = fault.round === undefined ? '' : `, round ${fault.round}`;
  return `${what}${round}${fault.type === 'FaultCleared' ? ' (cleared)' : ''}`;
}

const palette = ['#4fa3ff', '#f0883e', '#3fb950', '#d2a8ff', '#f85149', '#e3b341', '#39c5cf', '#ff7b72', '#a5d6ff', '#8b949e'];

/** A colour per answer, stable for a given answer order; unknown answers and "none" are grey. */
export function answerColour(answers: readonly string[], answer: string | null | undefined): string {
  if (answer === null || answer === undefined) return '#6e7681';
  const index = answers.indexOf(answer);
  return index < 0 ? '#6e7681' : palette[index % palette.length]!;
}

/** Who heard whom, as undirected pairs (sorted names, each once): the graph's layout springs. */
export function heardPairs(detail: DebateDetail): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const arg of detail.arguments) {
    for (const peer of arg.repliesTo) {
      if (peer === arg.agent) continue;
      const pair: [string, string] = arg.agent < peer ? [arg.agent, peer] : [peer, arg.agent];
      const key = `${pair[0]}\u0000${pair[1]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(pair);
    }
  }
  return out;
}
