/**
 * The debate runner: `runDebate(spec, random)` plays one debate and returns what happened as an
 * ordered list of plain records (records.ts), and `checkQuorum` checks, from those records only,
 * that no decision was made without the aggregation's quorum.
 *
 * Randomness: everything comes from `random`, split by label so that one kind of randomness never
 * shifts another: `question` (the shared error), `agents/<name>/...` (each agent's own streams),
 * `topology/<name>` (sparse neighbours), `faults/<index>`, `judge`, `aggregation` (ties).
 *
 * A round: crashes taking effect are reported; the protocol's speakers speak in order, each
 * reading the messages delivered to it since its previous turn; messages go through the
 * topology and the faults; end-of-round messages are delivered. Then termination is checked:
 * the spec's condition, MAD's moderator, the message budget (checked after every speech, so it
 * is never exceeded), and the round cap. At the end every live agent (not crashed; a slow
 * agent's vote arrives too late) votes its current answer and the aggregation decides.
 */
import type { Random } from '../kernel/random.ts';
import { aggregate, judgePick, recalibrate, trimmedMean, type Ballot } from './aggregation.ts';
import { createAgent, drawSharedError, isCorrect, questionModel, sameAnswer, type AgentModel, type AgentRole, type ModelOracle, type Message, type QuestionModel, type Statement } from './agents.ts';
import { FaultInjector, type Transmission } from './faults.ts';
import { buildRoutes, Schedule } from './protocols.ts';
import type { ArgumentRecord, DebateOutcome, DebateRecord, DecisionRecord, FinalAnswer, StopReason, VoteRecord } from './records.ts';
import type { DebateSpec } from './spec.ts';

/** Delivered at once rather than at the end of a round. */
const now = -1;

interface Pending {
  readonly at: number;
  readonly to: number;
  readonly message: Message;
  readonly reorder: number;
}

/** An answer as text: the option, or the estimate rounded to 6 decimals. */
export function formatAnswer(spec: DebateSpec, value: number): string {
  if (spec.question.kind === 'categorical') return spec.question.options[value] ?? String(value);
  return String(Math.round(value * 1e6) / 1e6);
}

export interface RunDebateOptions {
  /** Answers of `llm` agents (see ModelOracle); without it such an agent throws PromptNeeded. */
  readonly oracle?: ModelOracle;
}

export function runDebate(spec: DebateSpec, random: Random, options: RunDebateOptions = {}): DebateOutcome {
  return new DebateRun(spec, random, options).run();
}

class DebateRun {
  private readonly names: string[];
  private readonly n: number;
  private readonly question: QuestionModel;
  private readonly agents: AgentModel[];
  private readonly records: DebateRecord[] = [];
  private readonly faults: FaultInjector;
  private readonly routes: ReturnType<typeof buildRoutes>;
  private readonly recipients: number[][];
  private readonly schedule: Schedule;
  private inboxes: Message[][];
  private pending: Pending[] = [];
  private messages = 0;
  private readonly budget: number;
  private exhausted = false;
  private readonly seen: Int32Array;
  private stamp = 0;
  private judgeStream: Random | null = null;
  private aggregationStream: Random | null = null;

  constructor(
    private readonly spec: DebateSpec,
    private readonly random: Random,
    private readonly runOptions: RunDebateOptions = {},
  ) {
    this.names = spec.agents.map((agent) => agent.name);
    this.n = this.names.length;
    this.question = questionModel(spec.question);
    const sharedError = drawSharedError(random.split('question'), this.question);
    const agentStreams = random.split('agents');
    const options = spec.question.kind === 'categorical' ? spec.question.options : [];
    this.agents = spec.agents.map((agent, index) => createAgent(agent, { index, names: this.names, question: this.question, sharedError, ...(this.runOptions.oracle === undefined ? {} : { oracle: this.runOptions.oracle }) }, agentStreams.split(agent.name), options, spec.question.text));
    this.faults = new FaultInjector(spec.faults, this.names, spec.debateId, random, (record) => this.records.push(record));
    this.routes = buildRoutes(spec.topology, this.names, random);
    this.recipients = this.names.map((_, j) => [...(this.routes.direct[j] ?? []), ...(this.routes.relayed[j] ?? [])].sort((a, b) => a - b));
    this.schedule = new Schedule(spec.protocol, this.n);
    this.inboxes = this.names.map(() => []);
    this.budget = spec.termination.kind === 'message-budget' ? spec.termination.messages : Infinity;
    this.seen = new Int32Array(this.n);
  }

  private get judgeRandom(): Random {
    return (this.judgeStream ??= this.random.split('judge'));
  }

  private readonly tieRandom = (): Random => (this.aggregationStream ??= this.random.split('aggregation'));

  private alive(agent: number, round: number): boolean {
    return !(this.agents[agent] as AgentModel).crashed && round < this.faults.crashRound(agent);
  }

  run(): DebateOutcome {
    const spec = this.spec;
    this.records.push({
      type: 'debate-started',
      debateId: spec.debateId,
      question: spec.question.text,
      agents: this.names,
      protocol: spec.protocol,
      ...(spec.question.kind === 'categorical' ? { options: spec.question.options } : {}),
    });
    const termination = spec.termination;
    const judged = termination.kind === 'judge' || spec.protocol === 'mad';
    let previous: (number | null)[] = this.names.map(() => null);
    let lastChange = 0;
    let stoppedBy: StopReason = termination.kind === 'fixed-rounds' ? 'fixed-rounds' : 'round-cap';
    let judgeValue: number | null = null;
    let judgeBallots: Ballot[] | null = null;
    let round = 0;

    while (round < spec.rounds) {
      round += 1;
      this.faults.startRound(round);
      const plan = this.schedule.round(round);
      for (const slot of plan.slots) {
        if (this.exhausted) break;
        this.turn(slot.agent, slot.role, round, plan.immediate);
      }
      this.deliverEndOfRound(round);
      if (this.exhausted) {
        stoppedBy = 'message-budget';
        break;
      }
      const current = this.agents.map((agent) => agent.current());
      if (current.some((value, index) => !same(this.question, value, previous[index] ?? null))) lastChange = round;
      previous = current;
      if (termination.kind === 'unanimity') {
        const ballots = this.ballots(round);
        if (ballots.length > 0 && ballots.length === this.liveCount(round) && this.agree(ballots)) {
          stoppedBy = 'unanimity';
          break;
        }
      } else if (termination.kind === 'stable' && round - lastChange >= termination.rounds) {
        stoppedBy = 'stable';
        break;
      }
      if (judged) {
        const ballots = this.ballots(round);
        if (ballots.length > 0 && (this.agree(ballots) || this.judgeRandom.nextFloat() < spec.judge.decisiveness)) {
          judgeValue = judgePick(ballots, this.question, spec.judge.competence, this.judgeRandom);
          judgeBallots = ballots;
          stoppedBy = spec.protocol === 'mad' ? 'moderator' : 'judge';
          break;
        }
      }
    }

    const finalRound = round;
    const ballots = judgeBallots ?? this.ballots(finalRound);
    const live = this.liveCount(finalRound);
    const result = aggregate(spec.aggregation, ballots, live, this.tieRandom, () => judgeValue ?? judgePick(ballots, this.question, spec.judge.competence, this.judgeRandom));
    const numeric = spec.question.kind === 'numeric';
    ballots.forEach((ballot, index) => {
      const vote: VoteRecord = {
        type: 'vote',
        debateId: spec.debateId,
        agent: this.names[ballot.agent] as string,
        round: finalRound,
        answer: formatAnswer(spec, ballot.value),
        ...(numeric ? { value: ballot.value } : {}),
        confidence: ballot.confidence,
        weight: result.weights[index] as number,
      };
      this.records.push(vote);
    });
    const answer = result.value === null ? null : formatAnswer(spec, result.value);
    if (answer === null) this.records.push({ type: 'consensus-failed', debateId: spec.debateId, round: finalRound, reason: result.reason || 'no decision' });
    else this.records.push({ type: 'consensus-reached', debateId: spec.debateId, answer, round: finalRound });
    const decision: DecisionRecord = {
      type: 'decision',
      debateId: spec.debateId,
      round: finalRound,
      method: spec.aggregation.kind,
      answer,
      ...(numeric && result.value !== null ? { value: result.value } : {}),
      correct: result.value !== null && isCorrect(this.question, result.value),
      stoppedBy,
      votes: ballots.length,
      liveAgents: live,
      messages: this.messages,
    };
    this.records.push(decision);
    const finalAnswers: FinalAnswer[] = this.agents.map((agent, index) => {
      const value = agent.current();
      return { name: this.names[index] as string, answer: value === null ? null : formatAnswer(spec, value), value, alive: this.alive(index, finalRound) };
    });
    return { debateId: spec.debateId, records: this.records, roundsPlayed: finalRound, messages: this.messages, decision, finalAnswers };
  }

  private liveCount(round: number): number {
    let live = 0;
    for (let agent = 0; agent < this.n; agent++) if (this.alive(agent, round)) live += 1;
    return live;
  }

  /** Votes of the live agents whose vote arrives in time. */
  private ballots(round: number): Ballot[] {
    const ballots: Ballot[] = [];
    this.agents.forEach((agent, index) => {
      if (agent.late || !this.alive(index, round)) return;
      const vote = agent.vote();
      if (vote !== null) ballots.push({ agent: index, value: vote.value, confidence: vote.confidence });
    });
    return ballots;
  }

  private agree(ballots: readonly Ballot[]): boolean {
    const first = (ballots[0] as Ballot).value;
    return ballots.every((ballot) => sameAnswer(this.question, ballot.value, first));
  }

  private turn(agent: number, role: AgentRole, round: number, immediate: boolean): void {
    if (!this.alive(agent, round)) return;
    const model = this.agents[agent] as AgentModel;
    const inbox = this.inboxes[agent] as Message[];
    this.inboxes[agent] = [];
    const speech = model.speak({ round, role, inbox });
    if (speech === null) return;
    const recipients = this.recipients[agent] as number[];
    const base = model.late ? round + 1 : immediate ? now : round;
    const repliesTo = this.sendersOf(inbox);
    const name = this.names[agent] as string;
    const numeric = this.spec.question.kind === 'numeric';
    const argument = (statement: Statement, to?: string[]): ArgumentRecord => ({
      type: 'argument',
      debateId: this.spec.debateId,
      agent: name,
      round,
      answer: formatAnswer(this.spec, statement.value),
      ...(numeric ? { value: statement.value } : {}),
      confidence: statement.confidence,
      rationale: statement.rationale,
      repliesTo,
      ...(to === undefined ? {} : { to }),
      ...(model.late ? { late: true as const } : {}),
    });
    if ('perRecipient' in speech) {
      if (recipients.length === 0) return;
      const byRecipient: Message[] = new Array<Message>(this.n);
      const groups = new Map<number, { statement: Statement; to: string[] }>();
      for (const to of recipients) {
        const statement = speech.perRecipient(to);
        byRecipient[to] = { from: agent, round, value: statement.value, confidence: statement.confidence };
        const group = groups.get(statement.value);
        if (group === undefined) groups.set(statement.value, { statement, to: [this.names[to] as string] });
        else group.to.push(this.names[to] as string);
      }
      this.count();
      for (const group of groups.values()) this.records.push(argument(group.statement, group.to));
      this.route(agent, round, base, (to) => byRecipient[to] as Message);
    } else {
      this.count();
      this.records.push(argument(speech));
      const message: Message = { from: agent, round, value: speech.value, confidence: speech.confidence };
      this.route(agent, round, base, () => message);
    }
  }

  private count(): void {
    this.messages += 1;
    if (this.messages >= this.budget) this.exhausted = true;
  }

  private sendersOf(inbox: readonly Message[]): string[] {
    this.stamp += 1;
    const out: string[] = [];
    for (const message of inbox) {
      if (this.seen[message.from] !== this.stamp) {
        this.seen[message.from] = this.stamp;
        out.push(this.names[message.from] as string);
      }
    }
    return out;
  }

  private route(from: number, round: number, base: number, messageFor: (to: number) => Message): void {
    const hub = this.routes.hub;
    let toHub: Transmission | null = null;
    for (const to of this.routes.direct[from] as number[]) {
      const transmission = this.faults.transmit(from, to, round);
      if (to === hub) toHub = transmission;
      if (transmission !== null) this.enqueue(to, messageFor(to), round, base, transmission.delay, transmission);
    }
    const relayed = this.routes.relayed[from] as number[];
    if (relayed.length === 0 || toHub === null || !this.alive(hub, round)) return;
    for (const to of relayed) {
      const transmission = this.faults.transmit(hub, to, round);
      if (transmission !== null) this.enqueue(to, messageFor(to), round, base, toHub.delay + transmission.delay, transmission);
    }
  }

  private enqueue(to: number, message: Message, round: number, base: number, delay: number, transmission: Transmission): void {
    const at = base === now ? (delay > 0 ? round + delay : now) : base + delay;
    for (let copy = 0; copy < transmission.copies; copy++) {
      if (at === now) this.insert(to, message, transmission.reorder);
      else this.pending.push({ at, to, message, reorder: transmission.reorder });
    }
  }

  private insert(to: number, message: Message, reorder: number): void {
    const inbox = this.inboxes[to] as Message[];
    if (reorder >= 0) inbox.splice(this.faults.reorderPosition(reorder, inbox.length), 0, message);
    else inbox.push(message);
  }

  private deliverEndOfRound(round: number): void {
    if (this.pending.length === 0) return;
    const keep: Pending[] = [];
    for (const item of this.pending) {
      if (item.at === round) this.insert(item.to, item.message, item.reorder);
      else keep.push(item);
    }
    this.pending = keep;
  }
}

function same(question: QuestionModel, a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  return sameAnswer(question, a, b);
}

// ---------------------------------------------------------------------------------------------
// Safety

export interface QuorumViolation {
  readonly rule: string;
  readonly message: string;
}

/**
 * Checks, from the records alone, that the decision had its quorum: plurality, confidence-weighted
 * and judge at least one valid vote (and the answer is the most voted / heaviest / a voted one),
 * supermajority its fraction of the live agents, unanimity every live agent, trimmed-mean at
 * least one vote left after trimming. Votes must come from live agents, once each. Returns the
 * first violation, or null.
 */
export function checkQuorum(outcome: DebateOutcome, spec: DebateSpec): QuorumViolation | null {
  const records = outcome.records;
  let decision: DecisionRecord | undefined;
  for (const record of records) if (record.type === 'decision') decision = record;
  if (decision === undefined) return { rule: 'decision', message: 'the debate has no decision record' };
  if (decision.method !== spec.aggregation.kind) return { rule: 'decision', message: `decided by ${decision.method}, the spec says ${spec.aggregation.kind}` };
  if (decision.answer === null) return null;

  const crashed = new Set(spec.agents.filter((agent) => agent.model === 'crashed').map((agent) => agent.name));
  for (const record of records) if (record.type === 'fault' && record.kind === 'crash' && record.round <= decision.round) crashed.add(record.target);
  const live = spec.agents.length - crashed.size;
  const votes = records.filter((record): record is VoteRecord => record.type === 'vote');
  const voters = new Set<string>();
  for (const vote of votes) {
    if (crashed.has(vote.agent)) return { rule: 'live-voters', message: `${vote.agent} voted but had crashed` };
    if (voters.has(vote.agent)) return { rule: 'live-voters', message: `${vote.agent} voted twice` };
    voters.add(vote.agent);
  }
  const answer = decision.answer;
  const rule = spec.aggregation;
  if (votes.length === 0) return { rule: rule.kind, message: `decided ${JSON.stringify(answer)} without any valid vote` };
  const counts = new Map<string, number>();
  const weights = new Map<string, number>();
  for (const vote of votes) {
    counts.set(vote.answer, (counts.get(vote.answer) ?? 0) + 1);
    weights.set(vote.answer, (weights.get(vote.answer) ?? 0) + (rule.kind === 'confidence-weighted' ? (rule.recalibrate ? recalibrate(vote.confidence) : vote.confidence) : 1));
  }
  const countOf = counts.get(answer) ?? 0;
  const maxCount = Math.max(...counts.values());
  switch (rule.kind) {
    case 'plurality':
      return countOf === maxCount ? null : { rule: 'plurality', message: `decided ${JSON.stringify(answer)} with ${countOf} votes, but an answer had ${maxCount}` };
    case 'confidence-weighted': {
      const weightOf = weights.get(answer) ?? 0;
      const maxWeight = Math.max(...weights.values());
      if (!(maxWeight > 0)) return { rule: 'confidence-weighted', message: 'no vote carries any weight' };
      return weightOf >= maxWeight - 1e-9 ? null : { rule: 'confidence-weighted', message: `decided ${JSON.stringify(answer)} with weight ${weightOf}, but an answer had ${maxWeight}` };
    }
    case 'judge':
      return countOf > 0 ? null : { rule: 'judge', message: `the judge decided ${JSON.stringify(answer)}, which nobody voted` };
    case 'supermajority':
      return live > 0 && countOf >= rule.fraction * live ? null : { rule: 'supermajority', message: `decided ${JSON.stringify(answer)} with ${countOf} of ${live} live agents, ${rule.fraction} needed` };
    case 'unanimity':
      return live > 0 && countOf === live && votes.length === live ? null : { rule: 'unanimity', message: `decided ${JSON.stringify(answer)} with ${countOf} votes of ${live} live agents` };
    case 'trimmed-mean': {
      const values = votes.map((vote) => vote.value ?? Number(vote.answer));
      const mean = trimmedMean(values, rule.trim);
      if (mean === null) return { rule: 'trimmed-mean', message: 'no vote left after trimming' };
      const value = decision.value ?? Number(answer);
      return value >= Math.min(...values) && value <= Math.max(...values) ? null : { rule: 'trimmed-mean', message: `decided ${value}, outside the votes` };
    }
  }
}
