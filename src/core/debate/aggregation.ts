/**
 * Turning the agents' final votes into a decision, and the judge.
 *
 * - plurality: the most voted answer (ties broken at random from the `aggregation` stream);
 *   needs at least one vote.
 * - confidence-weighted (ReConcile, Chen et al. 2024): each vote weighs its confidence,
 *   recalibrated as ReConcile does (1.0 / 0.8 / 0.5 / 0.3 / 0.1) unless `recalibrate: false`;
 *   needs at least one vote.
 * - judge: a judge picks one of the voted answers: the best one with probability `competence`,
 *   else a vote at random; needs at least one vote.
 * - supermajority(fraction): an answer voted by at least `fraction` of the live agents (not
 *   crashed), else no decision.
 * - unanimity: every live agent voted the same answer, else no decision.
 * - trimmed-mean(trim): numeric; the mean of the votes without the floor(trim * n) lowest and
 *   highest; needs at least one vote left.
 */
import type { Random } from '../kernel/random.ts';
import type { QuestionModel } from './agents.ts';
import type { Aggregation } from './spec.ts';

export interface Ballot {
  readonly agent: number;
  readonly value: number;
  readonly confidence: number;
}

export interface AggregateResult {
  /** The decided answer, or null (no quorum). */
  readonly value: number | null;
  /** Weight of each ballot, in ballot order. */
  readonly weights: readonly number[];
  /** Why there is no decision (empty when there is one). */
  readonly reason: string;
}

/** ReConcile's confidence recalibration. */
export function recalibrate(confidence: number): number {
  if (confidence >= 1) return 1;
  if (confidence >= 0.9) return 0.8;
  if (confidence >= 0.8) return 0.5;
  if (confidence > 0.6) return 0.3;
  return 0.1;
}

/** Weighted tally in first-appearance order. */
export function tally(ballots: readonly Ballot[], weights: readonly number[]): Map<number, number> {
  const totals = new Map<number, number>();
  ballots.forEach((ballot, index) => totals.set(ballot.value, (totals.get(ballot.value) ?? 0) + (weights[index] as number)));
  return totals;
}

/** The answer with the largest total; ties broken with `random` (drawn only on a tie). */
function argmax(totals: Map<number, number>, random: () => Random): { value: number; total: number } {
  let best = -Infinity;
  let tied = 0;
  for (const total of totals.values()) {
    if (total > best) {
      best = total;
      tied = 1;
    } else if (total === best) tied += 1;
  }
  let pick = tied > 1 ? random().int(0, tied - 1) : 0;
  for (const [value, total] of totals) {
    if (total === best) {
      if (pick === 0) return { value, total };
      pick -= 1;
    }
  }
  throw new RangeError('argmax of an empty tally');
}

/** The judge's pick among the votes: the best with probability `competence`, else one at random. */
export function judgePick(ballots: readonly Ballot[], question: QuestionModel, competence: number, random: Random): number | null {
  if (ballots.length === 0) return null;
  if (random.nextFloat() < competence) {
    let best: number | null = null;
    for (const ballot of ballots) {
      if (question.kind === 'categorical') {
        if (ballot.value === question.truth) best = ballot.value;
      } else if (best === null || Math.abs(ballot.value - question.truth) < Math.abs(best - question.truth)) best = ballot.value;
    }
    if (best !== null) return best;
  }
  return (ballots[random.int(0, ballots.length - 1)] as Ballot).value;
}

export function trimmedMean(values: readonly number[], trim: number): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(trim * sorted.length);
  const kept = sorted.slice(cut, sorted.length - cut);
  if (kept.length === 0) return null;
  let sum = 0;
  for (const value of kept) sum += value;
  return sum / kept.length;
}

const unit = (ballots: readonly Ballot[]): number[] => ballots.map(() => 1);

export function aggregate(aggregation: Aggregation, ballots: readonly Ballot[], liveAgents: number, random: () => Random, judge: () => number | null): AggregateResult {
  if (ballots.length === 0) return { value: null, weights: [], reason: liveAgents === 0 ? 'every agent crashed' : 'no valid votes' };
  switch (aggregation.kind) {
    case 'plurality': {
      const weights = unit(ballots);
      return { value: argmax(tally(ballots, weights), random).value, weights, reason: '' };
    }
    case 'confidence-weighted': {
      const weights = ballots.map((ballot) => (aggregation.recalibrate ? recalibrate(ballot.confidence) : ballot.confidence));
      const totals = tally(ballots, weights);
      let positive = false;
      for (const total of totals.values()) if (total > 0) positive = true;
      if (!positive) return { value: null, weights, reason: 'no vote carries any confidence' };
      return { value: argmax(totals, random).value, weights, reason: '' };
    }
    case 'judge':
      return { value: judge(), weights: unit(ballots), reason: '' };
    case 'supermajority': {
      const weights = unit(ballots);
      const top = argmax(tally(ballots, weights), random);
      if (liveAgents > 0 && top.total >= aggregation.fraction * liveAgents) return { value: top.value, weights, reason: '' };
      return { value: null, weights, reason: `no supermajority: the most voted answer has ${top.total} of ${liveAgents} live agents, ${aggregation.fraction} needed` };
    }
    case 'unanimity': {
      const weights = unit(ballots);
      const first = (ballots[0] as Ballot).value;
      const unanimous = ballots.every((ballot) => ballot.value === first);
      if (unanimous && ballots.length === liveAgents) return { value: first, weights, reason: '' };
      return { value: null, weights, reason: unanimous ? `not unanimous: ${ballots.length} of ${liveAgents} live agents voted` : 'not unanimous: the votes differ' };
    }
    case 'trimmed-mean': {
      const weights = unit(ballots);
      const value = trimmedMean(
        ballots.map((ballot) => ballot.value),
        aggregation.trim,
      );
      return value === null ? { value: null, weights, reason: 'no vote left after trimming' } : { value, weights, reason: '' };
    }
  }
}
