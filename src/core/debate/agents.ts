/**
 * Agent models. Each agent is deterministic given its own PRNG stream (split from the debate's
 * stream by the agent's name), the question, and the messages it receives. Answers are numbers
 * inside the engine: an option's index for categorical questions, the estimate for numeric ones.
 *
 * No Math.exp/log/pow/sqrt anywhere: only + - * / and comparisons, which IEEE 754 fixes exactly,
 * so the same inputs give the same bits on every engine.
 */
import type { Random } from '../kernel/random.ts';
import type { AgentSpec, BayesianParams, ByzantineParams, DegrootParams, FriedkinJohnsenParams, HegselmannKrauseParams, LlmParams, NumericInitialParams, PhaseKingParams, Question, ReasonerParams, StubbornWrongParams, SycophantParams, VoterParams } from './spec.ts';

/** The question as the engine sees it. */
export interface QuestionModel {
  readonly kind: 'categorical' | 'numeric';
  /** Number of options (categorical; 0 for numeric). */
  readonly optionCount: number;
  /** The correct option's index, or the numeric truth. */
  readonly truth: number;
  /** Numeric answers within this distance of the truth are correct, and agree with each other. */
  readonly tolerance: number;
}

export function questionModel(question: Question): QuestionModel {
  return question.kind === 'categorical'
    ? { kind: 'categorical', optionCount: question.options.length, truth: question.options.indexOf(question.correct), tolerance: 0 }
    : { kind: 'numeric', optionCount: 0, truth: question.truth, tolerance: question.tolerance };
}

export function isCorrect(question: QuestionModel, value: number): boolean {
  return question.kind === 'categorical' ? value === question.truth : Math.abs(value - question.truth) <= question.tolerance;
}

/** Two answers are the same (categorical) or within the tolerance (numeric). */
export function sameAnswer(question: QuestionModel, a: number, b: number): boolean {
  return question.kind === 'categorical' ? a === b : Math.abs(a - b) <= question.tolerance;
}

/** A message as delivered: who sent it, in which round, what it said. */
export interface Message {
  readonly from: number;
  readonly round: number;
  readonly value: number;
  readonly confidence: number;
}

export type AgentRole = 'debater' | 'affirmative' | 'negative';

export interface Turn {
  /** 1-based round. */
  readonly round: number;
  readonly role: AgentRole;
  /** Messages delivered since this agent's previous turn, in delivery order (duplicates included). */
  readonly inbox: readonly Message[];
}

export interface Statement {
  readonly value: number;
  readonly confidence: number;
  readonly rationale: string;
}

/** What an agent says at a turn: one statement to everyone, one per recipient, or nothing. */
export type Speech = Statement | { readonly perRecipient: (to: number) => Statement } | null;

export interface AgentModel {
  /** Its messages (and vote) arrive one round late. */
  readonly late: boolean;
  /** Never speaks nor votes. */
  readonly crashed: boolean;
  speak(turn: Turn): Speech;
  /** Its current public answer (for unanimity and stability checks), null before it has one. */
  current(): number | null;
  /** Its vote at the end, null if it has nothing to vote. */
  vote(): Statement | null;
}

/** What every agent knows about the debate it is in. */
export interface AgentEnv {
  readonly index: number;
  readonly names: readonly string[];
  readonly question: QuestionModel;
  /**
   * The debate's shared error draw: a wrong option's index (categorical) or an error in units of
   * noise (numeric). Correlated agents tend to make this same mistake.
   */
  readonly sharedError: number;
  /** Answers of real models (agents of the `llm` model), looked up by prompt. */
  readonly oracle?: ModelOracle;
}

/** What an `llm` agent is asked at a turn: plain data, the same on every replay. */
export interface ModelPrompt {
  readonly agent: string;
  readonly endpoint: string;
  readonly persona: string;
  readonly question: string;
  /** The options of a categorical question; null for a numeric one. */
  readonly options: readonly string[] | null;
  readonly round: number;
  readonly role: AgentRole;
  /** What the agent heard since its previous turn. */
  readonly heard: readonly { readonly from: string; readonly round: number; readonly answer: string; readonly confidence: number }[];
}

export interface ModelReply {
  readonly answer: string;
  readonly confidence: number;
  readonly rationale: string;
}

/**
 * Answers to prompts, from outside the engine. `undefined`: not known yet (the debate stops with
 * PromptNeeded, the caller asks the model and runs the debate again); `null`: the model failed,
 * and the agent stays silent that turn.
 */
export interface ModelOracle {
  answer(prompt: ModelPrompt): ModelReply | null | undefined;
}

/** Thrown by an `llm` agent whose answer is not known yet. */
export class PromptNeeded extends Error {
  constructor(readonly prompt: ModelPrompt) {
    super(`no answer yet for ${prompt.agent} in round ${prompt.round}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Approximately standard normal: a sum of four uniforms, centred and scaled (sqrt(3) as a literal). */
export function approxNormal(random: Random): number {
  return (random.nextFloat() + random.nextFloat() + random.nextFloat() + random.nextFloat() - 2) * 1.7320508075688772;
}

/** A uniformly random wrong option. */
export function randomWrong(random: Random, question: QuestionModel): number {
  const pick = random.int(0, question.optionCount - 2);
  return pick >= question.truth ? pick + 1 : pick;
}

/** Draws the debate's shared error (see AgentEnv.sharedError). */
export function drawSharedError(random: Random, question: QuestionModel): number {
  return question.kind === 'categorical' ? randomWrong(random, question) : approxNormal(random);
}

/** An independent first answer: correct with probability `competence`, else a (possibly shared) wrong one. */
function independentCategorical(random: Random, env: AgentEnv, competence: number, correlation: number): number {
  const u = random.nextFloat();
  const shared = random.nextFloat();
  if (u < competence) return env.question.truth;
  return shared < correlation ? env.sharedError : randomWrong(random, env.question);
}

/** An independent numeric estimate: truth + noise * (the shared error, or one's own). */
function independentNumeric(random: Random, env: AgentEnv, noise: number, correlation: number, initial?: number): number {
  if (initial !== undefined) return initial;
  const shared = random.nextFloat();
  const error = shared < correlation ? env.sharedError : approxNormal(random);
  return env.question.truth + noise * error;
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

/** Rounded to 4 decimals, so records stay readable (and exact: Math.round is exact). */
export function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/**
 * Stated confidence: 0.6 + calibration * (quality - 0.5) * 0.6 + uniform jitter of +-0.1, in
 * [0.01, 0.99]. quality is 1 for a correct answer and 0 for a wrong one (numeric: closeness).
 * calibration 1 makes confidence informative, 0 uninformative, -1 misleading.
 */
export function statedConfidence(random: Random, quality: number, calibration: number): number {
  const jitter = (random.nextFloat() - 0.5) * 0.2;
  return round4(clamp(0.6 + calibration * (quality - 0.5) * 0.6 + jitter, 0.01, 0.99));
}

function answerQuality(question: QuestionModel, value: number, noise: number): number {
  if (question.kind === 'categorical') return value === question.truth ? 1 : 0;
  const scale = noise > 0 ? 2 * noise : 1;
  return 1 - clamp(Math.abs(value - question.truth) / scale, 0, 1);
}

/** Share of (own + received) statements that agree with `value`. */
function agreement(question: QuestionModel, value: number, inbox: readonly Message[]): number {
  let same = 1;
  for (const message of inbox) if (sameAnswer(question, message.value, value)) same += 1;
  return round4(same / (inbox.length + 1));
}

/** The most frequent value in the inbox (categorical), ties broken with `random`. */
function pluralityOf(inbox: readonly Message[], optionCount: number, random: Random): number {
  const counts = new Array<number>(optionCount).fill(0);
  let best = 0;
  for (const message of inbox) {
    const count = (counts[message.value] ?? 0) + 1;
    counts[message.value] = count;
    if (count > best) best = count;
  }
  let tied = 0;
  for (const count of counts) if (count === best) tied += 1;
  let pick = tied === 1 ? 0 : random.int(0, tied - 1);
  for (let option = 0; option < optionCount; option++) {
    if (counts[option] === best) {
      if (pick === 0) return option;
      pick -= 1;
    }
  }
  return 0;
}

function medianOf(inbox: readonly Message[]): number {
  const values = inbox.map((message) => message.value).sort((a, b) => a - b);
  const middle = values.length >> 1;
  return values.length % 2 === 1 ? (values[middle] as number) : ((values[middle - 1] as number) + (values[middle] as number)) / 2;
}

function meanOf(inbox: readonly Message[]): number {
  let sum = 0;
  for (const message of inbox) sum += message.value;
  return sum / inbox.length;
}

/** The majority of the inbox: plurality (categorical) or median (numeric). */
function majorityOf(question: QuestionModel, inbox: readonly Message[], random: Random): number {
  return question.kind === 'categorical' ? pluralityOf(inbox, question.optionCount, random) : medianOf(inbox);
}

/** Base class: keeps the stated answer and vote. */
abstract class BaseAgent implements AgentModel {
  late = false;
  crashed = false;
  protected stated: Statement | null = null;
  constructor(protected readonly env: AgentEnv) {}
  abstract speak(turn: Turn): Speech;
  current(): number | null {
    return this.stated === null ? null : this.stated.value;
  }
  vote(): Statement | null {
    return this.stated;
  }
  protected say(value: number, confidence: number, rationale: string): Statement {
    this.stated = { value, confidence, rationale };
    return this.stated;
  }
}

// ---------------------------------------------------------------------------------------------
// Simulated reasoner

/**
 * A simulated LLM reasoner. Alone it is right with probability `competence`; when wrong it makes
 * the debate's shared mistake with probability `correlation`. At each later turn it keeps its
 * answer with probability `stubbornness`; otherwise it considers the peers' majority (with
 * probability `conformity`) or one random peer message, and adopts it if it is correct, or with
 * probability 1 - persuasionBias if it is wrong. With persuasionBias 0 and conformity 0 the
 * expected share of correct agents is a martingale (Choi et al. 2025).
 *
 * Numeric questions: an estimate truth + noise * error; at a turn it moves a share
 * (1 - stubbornness) of the way to its target (conformity mixes the peers' median into their
 * mean), fully if the target is closer to the truth, else scaled by 1 - persuasionBias.
 */
class Reasoner extends BaseAgent {
  private belief: number | null = null;
  private readonly initialRandom: Random;
  private readonly updateRandom: Random;
  private readonly confidenceRandom: Random;

  constructor(
    env: AgentEnv,
    private readonly params: ReasonerParams,
    random: Random,
    late: boolean,
  ) {
    super(env);
    this.late = late;
    this.initialRandom = random.split('initial');
    this.updateRandom = random.split('update');
    this.confidenceRandom = random.split('confidence');
  }

  speak(turn: Turn): Speech {
    const question = this.env.question;
    let rationale: string;
    let first = false;
    if (this.belief === null) {
      this.belief = question.kind === 'categorical' ? independentCategorical(this.initialRandom, this.env, this.params.competence, this.params.correlation) : independentNumeric(this.initialRandom, this.env, this.params.noise, this.params.correlation);
      rationale = 'independent answer';
      first = true;
    } else {
      rationale = 'no new arguments; kept its answer';
    }
    // A negative debater (MAD) opens with its own, divergent answer.
    if (turn.inbox.length > 0 && !(first && turn.role === 'negative')) {
      rationale = question.kind === 'categorical' ? this.updateCategorical(turn.inbox) : this.updateNumeric(turn.inbox);
    }
    const belief = this.belief;
    return this.say(belief, statedConfidence(this.confidenceRandom, answerQuality(question, belief, this.params.noise), this.params.calibration), rationale);
  }

  private updateCategorical(inbox: readonly Message[]): string {
    const random = this.updateRandom;
    const own = this.belief as number;
    if (random.nextFloat() < this.params.stubbornness) return 'kept its answer';
    const majority = random.nextFloat() < this.params.conformity;
    const candidate = majority ? pluralityOf(inbox, this.env.question.optionCount, random) : (inbox[random.int(0, inbox.length - 1)] as Message).value;
    if (candidate === own) return majority ? 'agrees with the majority' : 'a peer agrees; kept its answer';
    const adopt = candidate === this.env.question.truth ? 1 : 1 - this.params.persuasionBias;
    if (random.nextFloat() < adopt) {
      this.belief = candidate;
      return majority ? 'adopted the majority answer' : 'adopted a peer answer';
    }
    return majority ? 'resisted the majority' : 'resisted a peer answer';
  }

  private updateNumeric(inbox: readonly Message[]): string {
    const own = this.belief as number;
    const truth = this.env.question.truth;
    const conformity = this.params.conformity;
    const target = (1 - conformity) * meanOf(inbox) + conformity * medianOf(inbox);
    const closer = Math.abs(target - truth) < Math.abs(own - truth);
    const weight = (1 - this.params.stubbornness) * (closer ? 1 : 1 - this.params.persuasionBias);
    this.belief = own + weight * (target - own);
    return weight === 0 ? 'kept its estimate' : 'moved toward the peers';
  }
}

// ---------------------------------------------------------------------------------------------
// Classical opinion dynamics

/** Numeric agents that start from an initial opinion and update by a rule. */
abstract class OpinionAgent extends BaseAgent {
  protected opinion: number | null = null;
  protected initialOpinion = 0;
  protected readonly initialRandom: Random;
  constructor(
    env: AgentEnv,
    protected readonly base: NumericInitialParams,
    random: Random,
  ) {
    super(env);
    this.initialRandom = random.split('initial');
  }

  speak(turn: Turn): Speech {
    let rationale = 'initial opinion';
    if (this.opinion === null) {
      this.opinion = independentNumeric(this.initialRandom, this.env, this.base.noise, this.base.correlation, this.base.initial);
      this.initialOpinion = this.opinion;
    } else if (turn.inbox.length === 0) {
      rationale = 'heard no one; kept its opinion';
    }
    if (turn.inbox.length > 0) rationale = this.update(turn.inbox);
    return this.say(this.opinion, agreement(this.env.question, this.opinion, turn.inbox), rationale);
  }

  protected abstract update(inbox: readonly Message[]): string;
}

/** DeGroot (1974): the new opinion is the weighted average of one's own and the peers'. */
class DeGroot extends OpinionAgent {
  constructor(
    env: AgentEnv,
    protected readonly params: DegrootParams,
    random: Random,
  ) {
    super(env, params, random);
  }

  protected averaged(inbox: readonly Message[]): number {
    let total = this.params.selfWeight * (this.opinion as number);
    let weight = this.params.selfWeight;
    for (const message of inbox) {
      const w = this.params.weights[this.env.names[message.from] as string] ?? 1;
      total += w * message.value;
      weight += w;
    }
    return weight > 0 ? total / weight : (this.opinion as number);
  }

  protected update(inbox: readonly Message[]): string {
    this.opinion = this.averaged(inbox);
    return 'weighted average of the peers';
  }
}

/** Friedkin-Johnsen (1990): DeGroot, but a share 1 - susceptibility stays anchored to the initial opinion. */
class FriedkinJohnsen extends DeGroot {
  constructor(
    env: AgentEnv,
    private readonly fj: FriedkinJohnsenParams,
    random: Random,
  ) {
    super(env, fj, random);
  }

  protected override update(inbox: readonly Message[]): string {
    this.opinion = this.fj.susceptibility * this.averaged(inbox) + (1 - this.fj.susceptibility) * this.initialOpinion;
    return 'averaged, anchored to its initial opinion';
  }
}

/** Hegselmann-Krause (2002): average only the opinions within epsilon of one's own. */
class HegselmannKrause extends OpinionAgent {
  constructor(
    env: AgentEnv,
    private readonly params: HegselmannKrauseParams,
    random: Random,
  ) {
    super(env, params, random);
  }

  protected update(inbox: readonly Message[]): string {
    const own = this.opinion as number;
    let total = own;
    let count = 1;
    for (const message of inbox) {
      if (Math.abs(message.value - own) <= this.params.epsilon) {
        total += message.value;
        count += 1;
      }
    }
    this.opinion = total / count;
    return `averaged ${count - 1} of ${inbox.length} peers within epsilon`;
  }
}

/** Voter model (Clifford and Sudbury 1973; Holley and Liggett 1975): copy a random neighbour. */
class Voter extends BaseAgent {
  private opinion: number | null = null;
  private readonly initialRandom: Random;
  private readonly updateRandom: Random;
  constructor(
    env: AgentEnv,
    private readonly params: VoterParams,
    random: Random,
  ) {
    super(env);
    this.initialRandom = random.split('initial');
    this.updateRandom = random.split('update');
  }

  speak(turn: Turn): Speech {
    let rationale = 'kept its opinion';
    if (this.opinion === null) {
      this.opinion = this.env.question.kind === 'categorical' ? independentCategorical(this.initialRandom, this.env, this.params.competence, this.params.correlation) : independentNumeric(this.initialRandom, this.env, this.params.noise, this.params.correlation, this.params.initial);
      rationale = 'initial opinion';
    }
    if (turn.inbox.length > 0 && this.updateRandom.nextFloat() >= this.params.stubbornness) {
      const message = turn.inbox[this.updateRandom.int(0, turn.inbox.length - 1)] as Message;
      this.opinion = message.value;
      rationale = `copied ${this.env.names[message.from] ?? '?'}`;
    }
    return this.say(this.opinion, agreement(this.env.question, this.opinion, turn.inbox), rationale);
  }
}

/**
 * Bayesian voting: a private signal, and every peer statement of the turn taken as an
 * independent signal. Categorical: the posterior over options given a signal of accuracy
 * `competence` and peer signals of assumed accuracy `peerAccuracy`; it states the most probable
 * option (its own signal on ties) with that probability as confidence. Numeric: the
 * precision-weighted mean of its signal and the peers' statements.
 */
class Bayesian extends BaseAgent {
  private signal: number | null = null;
  private readonly initialRandom: Random;
  constructor(
    env: AgentEnv,
    private readonly params: BayesianParams,
    random: Random,
  ) {
    super(env);
    this.initialRandom = random.split('initial');
  }

  speak(turn: Turn): Speech {
    const question = this.env.question;
    if (this.signal === null) {
      this.signal = question.kind === 'categorical' ? independentCategorical(this.initialRandom, this.env, this.params.competence, this.params.correlation) : independentNumeric(this.initialRandom, this.env, this.params.noise, this.params.correlation, this.params.initial);
    }
    const signal = this.signal;
    if (question.kind === 'numeric') {
      let total = this.params.selfPrecision * signal;
      let precision = this.params.selfPrecision;
      for (const message of turn.inbox) {
        total += this.params.peerPrecision * message.value;
        precision += this.params.peerPrecision;
      }
      const value = total / precision;
      return this.say(value, round4(this.params.selfPrecision / precision), turn.inbox.length === 0 ? 'its private signal' : 'posterior mean of its signal and the peers');
    }
    const k = question.optionCount;
    const posterior = new Array<number>(k).fill(1);
    const observe = (observed: number, accuracy: number): void => {
      const other = (1 - accuracy) / (k - 1);
      let sum = 0;
      for (let option = 0; option < k; option++) {
        const p = (posterior[option] as number) * (option === observed ? accuracy : other);
        posterior[option] = p;
        sum += p;
      }
      if (sum > 0) for (let option = 0; option < k; option++) posterior[option] = (posterior[option] as number) / sum;
    };
    observe(signal, this.params.competence);
    for (const message of turn.inbox) observe(message.value, this.params.peerAccuracy);
    let best = signal;
    for (let option = 0; option < k; option++) if ((posterior[option] as number) > (posterior[best] as number)) best = option;
    return this.say(best, round4(clamp(posterior[best] as number, 0, 1)), turn.inbox.length === 0 ? 'its private signal' : 'most probable answer given the peers');
  }
}

// ---------------------------------------------------------------------------------------------
// Adversaries

/** Tells different peers different answers; votes the debate's shared wrong answer. */
class Byzantine extends BaseAgent {
  private readonly heard = new Map<number, number>();
  private readonly equivocate: Random;
  private readonly wrong: number;
  constructor(
    env: AgentEnv,
    private readonly params: ByzantineParams,
    random: Random,
  ) {
    super(env);
    this.equivocate = random.split('equivocate');
    this.wrong = env.question.kind === 'categorical' ? env.sharedError : env.question.truth + env.sharedError;
  }

  speak(turn: Turn): Speech {
    for (const message of turn.inbox) this.heard.set(message.from, message.value);
    this.say(this.wrong, this.params.confidence, 'votes the wrong answer');
    return {
      perRecipient: (to) => {
        const heard = this.heard.get(to);
        const value = this.params.strategy === 'mirror' && heard !== undefined ? heard : this.randomAnswer();
        return { value, confidence: this.params.confidence, rationale: this.params.strategy === 'mirror' && heard !== undefined ? 'tells the peer what it said' : 'tells the peer a random answer' };
      },
    };
  }

  private randomAnswer(): number {
    const question = this.env.question;
    return question.kind === 'categorical' ? this.equivocate.int(0, question.optionCount - 1) : question.truth + approxNormal(this.equivocate);
  }
}

/** Insists on one wrong answer (the shared one unless told), with high confidence. */
class StubbornWrong extends BaseAgent {
  private readonly wrong: number;
  constructor(
    env: AgentEnv,
    private readonly params: StubbornWrongParams,
    options: readonly string[],
  ) {
    super(env);
    this.wrong = env.question.kind === 'categorical' ? (params.answer === undefined ? env.sharedError : options.indexOf(params.answer)) : env.question.truth + params.offset;
  }

  speak(): Speech {
    return this.say(this.wrong, this.params.confidence, 'insists on its answer');
  }
}

/** Copies the majority of what it hears; alone, it guesses. */
class Sycophant extends BaseAgent {
  private readonly initialRandom: Random;
  private readonly tieRandom: Random;
  constructor(
    env: AgentEnv,
    private readonly params: SycophantParams,
    random: Random,
  ) {
    super(env);
    this.initialRandom = random.split('initial');
    this.tieRandom = random.split('ties');
  }

  speak(turn: Turn): Speech {
    const question = this.env.question;
    if (turn.inbox.length > 0) {
      const value = majorityOf(question, turn.inbox, this.tieRandom);
      return this.say(value, agreement(question, value, turn.inbox), 'agrees with the majority');
    }
    if (this.stated !== null) return this.say(this.stated.value, this.stated.confidence, 'heard no one; kept its answer');
    const value = question.kind === 'categorical' ? independentCategorical(this.initialRandom, this.env, this.params.competence, 0) : independentNumeric(this.initialRandom, this.env, 1, 0);
    return this.say(value, 0.5, 'guessed, with no one to agree with');
  }
}

/** Sends nothing and votes nothing. */
class Crashed extends BaseAgent {
  constructor(env: AgentEnv) {
    super(env);
    this.crashed = true;
  }
  speak(): Speech {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Byzantine agreement

/**
 * An honest agent running the phase-king algorithm (Berman, Garay and Perry 1989; in the form of
 * Wattenhofer's "King algorithm", which needs n >= 3f + 1). Each phase is three rounds: value,
 * propose, king; phase p's king is agent p (in spec order). After f + 1 phases, one more round
 * states the decided value: run it for 3(f + 1) + 1 rounds of the simultaneous protocol.
 * It only uses messages sent in the previous round (late ones are ignored).
 */
class PhaseKing extends BaseAgent {
  private x: number;
  private proposed: number | null = null;
  private proposalsForX = 0;
  private readonly f: number;
  private readonly n: number;
  constructor(env: AgentEnv, params: PhaseKingParams, random: Random) {
    super(env);
    this.n = env.names.length;
    this.f = params.faults ?? Math.floor((this.n - 1) / 3);
    const initial = random.split('initial');
    this.x = env.question.kind === 'categorical' ? independentCategorical(initial, env, params.competence, params.correlation) : independentNumeric(initial, env, 1, params.correlation);
  }

  override current(): number {
    return this.x;
  }

  override vote(): Statement {
    return { value: this.x, confidence: 1, rationale: 'phase-king decision' };
  }

  speak(turn: Turn): Speech {
    const step = (turn.round - 1) % 3;
    const phase = Math.floor((turn.round - 1) / 3);
    const previous = turn.inbox.filter((message) => message.round === turn.round - 1);
    if (step === 0) {
      if (turn.round > 1) {
        const king = (phase - 1) % this.n;
        const kingMessage = king === this.env.index ? null : previous.find((message) => message.from === king);
        if (kingMessage !== undefined && kingMessage !== null && this.proposalsForX < this.n - this.f) this.x = kingMessage.value;
      }
      return this.say(this.x, 1, 'value');
    }
    if (step === 1) {
      const counts = new Map<number, number>([[this.x, 1]]);
      for (const message of previous) counts.set(message.value, (counts.get(message.value) ?? 0) + 1);
      this.proposed = null;
      for (const [value, count] of counts) if (count >= this.n - this.f) this.proposed = value;
      return this.proposed === null ? null : this.say(this.proposed, 1, 'propose');
    }
    const counts = new Map<number, number>();
    if (this.proposed !== null) counts.set(this.proposed, 1);
    for (const message of previous) counts.set(message.value, (counts.get(message.value) ?? 0) + 1);
    for (const [value, count] of counts) if (count > this.f) this.x = value;
    this.proposalsForX = counts.get(this.x) ?? 0;
    return phase % this.n === this.env.index ? this.say(this.x, 1, 'king') : null;
  }
}

/** A real model: says what the oracle says it said; silent when the model failed. */
class LlmAgent implements AgentModel {
  readonly late = false;
  readonly crashed = false;
  private last: Statement | null = null;

  constructor(
    private readonly env: AgentEnv,
    private readonly params: LlmParams,
    private readonly options: readonly string[],
    private readonly questionText: string,
  ) {}

  speak(turn: Turn): Speech {
    const categorical = this.env.question.kind === 'categorical';
    const show = (value: number): string => (categorical ? (this.options[value] ?? String(value)) : String(value));
    const name = this.env.names[this.env.index] as string;
    const prompt: ModelPrompt = {
      agent: name,
      endpoint: this.params.endpoint ?? name,
      persona: this.params.persona,
      question: this.questionText,
      options: categorical ? this.options : null,
      round: turn.round,
      role: turn.role,
      heard: turn.inbox.map((message) => ({ from: this.env.names[message.from] as string, round: message.round, answer: show(message.value), confidence: message.confidence })),
    };
    const reply = this.env.oracle?.answer(prompt);
    if (reply === undefined) throw new PromptNeeded(prompt);
    if (reply === null) return null;
    const value = categorical ? this.options.indexOf(reply.answer) : Number(reply.answer);
    if (!(value >= 0 || (!categorical && Number.isFinite(value)))) return null;
    this.last = { value, confidence: Math.min(1, Math.max(0, reply.confidence)), rationale: reply.rationale };
    return this.last;
  }

  current(): number | null {
    return this.last?.value ?? null;
  }

  vote(): Statement | null {
    return this.last;
  }
}

// ---------------------------------------------------------------------------------------------

/** The agent model for a spec entry, on its own stream. */
export function createAgent(spec: AgentSpec, env: AgentEnv, random: Random, options: readonly string[], questionText = ''): AgentModel {
  switch (spec.model) {
    case 'reasoner':
      return new Reasoner(env, spec.params, random, false);
    case 'slow':
      return new Reasoner(env, spec.params, random, true);
    case 'degroot':
      return new DeGroot(env, spec.params, random);
    case 'friedkin-johnsen':
      return new FriedkinJohnsen(env, spec.params, random);
    case 'hegselmann-krause':
      return new HegselmannKrause(env, spec.params, random);
    case 'voter':
      return new Voter(env, spec.params, random);
    case 'bayesian':
      return new Bayesian(env, spec.params, random);
    case 'byzantine':
      return new Byzantine(env, spec.params, random);
    case 'stubborn-wrong':
      return new StubbornWrong(env, spec.params, options);
    case 'sycophant':
      return new Sycophant(env, spec.params, random);
    case 'crashed':
      return new Crashed(env);
    case 'phase-king':
      return new PhaseKing(env, spec.params, random);
    case 'llm':
      return new LlmAgent(env, spec.params, options, questionText);
  }
}
