/**
 * Published results about debates and opinion dynamics, reproduced qualitatively by the engine
 * over many seeded debates, with margins several standard errors wide. Each test names its source.
 */
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/core/kernel/random.ts';
import { parseDebateSpec, runDebate, type DebateSpec } from '../../src/core/debate/index.ts';

const question = { kind: 'categorical', options: ['a', 'b', 'c', 'd'], correct: 'a' } as const;
const reasoners = (count: number, params: Record<string, unknown>) => Array.from({ length: count }, (_, index) => ({ name: `r${index}`, model: 'reasoner', params }));
const debates = 2_000;

/** Share of debates whose decision is correct, over seeds [first, first + debates). */
function accuracy(spec: DebateSpec, first = 0): number {
  let correct = 0;
  for (let seed = first; seed < first + debates; seed++) if (runDebate(spec, createRandom(seed)).decision.correct) correct += 1;
  return correct / debates;
}

/** Share of the agents' answers that are correct, per round (index 0 = round 1). */
function accuracyByRound(spec: DebateSpec): number[] {
  const correct = new Array<number>(spec.rounds).fill(0);
  const total = new Array<number>(spec.rounds).fill(0);
  for (let seed = 0; seed < debates; seed++) {
    for (const record of runDebate(spec, createRandom(seed)).records) {
      if (record.type !== 'argument') continue;
      total[record.round - 1]! += 1;
      if (record.answer === 'a') correct[record.round - 1]! += 1;
    }
  }
  return correct.map((count, index) => count / total[index]!);
}

describe('published findings', () => {
  // Du et al. 2023, "Improving Factuality and Reasoning in Language Models through Multiagent
  // Debate", Table 1: debate > majority vote of independent answers > a single agent (e.g.
  // arithmetic 81.8 > 69.0 > 67.0). In the simulation the gain of debate comes from a positive
  // persuasion bias (agents adopt correct peer answers more readily than wrong ones).
  it('Du et al. 2023: debate beats a majority vote of independent answers, which beats a single agent', () => {
    const params = { competence: 0.6, persuasionBias: 0.7, stubbornness: 0.2, correlation: 0.3 };
    const single = accuracy(parseDebateSpec({ question, agents: reasoners(1, params), rounds: 1 }), 100_000);
    const majority = accuracy(parseDebateSpec({ question, agents: reasoners(3, params), rounds: 1 }));
    const debate = accuracy(parseDebateSpec({ question, agents: reasoners(3, params), protocol: 'simultaneous', aggregation: { kind: 'plurality' }, rounds: 3 }));
    console.log(`Du et al. ordering: single ${single.toFixed(3)}, majority ${majority.toFixed(3)}, debate ${debate.toFixed(3)}`);
    // Standard errors are about 0.011 each; the margins are about 4 of them.
    expect(majority).toBeGreaterThan(single + 0.05);
    expect(debate).toBeGreaterThan(majority + 0.05);
  });

  // Choi et al. 2025, "Debate or Vote: Which Yields Better Decisions in Multi-Agent Large Language
  // Models?": without a bias toward the correct answer, debate is a martingale over the agents'
  // beliefs: the expected share of correct answers does not move across rounds.
  it('Choi et al. 2025: with zero persuasion bias, accuracy stays flat across rounds (a martingale); with a bias it rises', () => {
    const flat = accuracyByRound(parseDebateSpec({ question, agents: reasoners(5, { competence: 0.6, persuasionBias: 0, stubbornness: 0.3 }), rounds: 5 }));
    const biased = accuracyByRound(parseDebateSpec({ question, agents: reasoners(5, { competence: 0.6, persuasionBias: 0.5, stubbornness: 0.3 }), rounds: 5 }));
    console.log(`Choi et al.: per-round accuracy, no bias ${flat.map((value) => value.toFixed(3)).join(' ')}; bias 0.5 ${biased.map((value) => value.toFixed(3)).join(' ')}`);
    for (const value of flat) expect(Math.abs(value - flat[0]!)).toBeLessThan(0.025);
    expect(biased.at(-1)!).toBeGreaterThan(biased[0]! + 0.15);
    for (let round = 1; round < biased.length; round++) expect(biased[round]!).toBeGreaterThan(biased[round - 1]!);
  });

  // Du et al. 2023, Figure 10 (and the ANCHORS note): accuracy rises with the number of agents,
  // then flattens.
  it('Du et al. 2023: accuracy rises with the number of agents and then flattens', () => {
    const params = { competence: 0.6, persuasionBias: 0.5, stubbornness: 0.3, conformity: 0.3, correlation: 0.3 };
    const sizes = [1, 3, 5, 9, 15];
    const results = sizes.map((size) => accuracy(parseDebateSpec({ question, agents: reasoners(size, params), rounds: 3 })));
    console.log(`accuracy by agents: ${sizes.map((size, index) => `${size}: ${results[index]!.toFixed(3)}`).join(', ')}`);
    for (let index = 1; index < results.length; index++) expect(results[index]!).toBeGreaterThan(results[index - 1]! - 0.01);
    const firstGain = results[1]! - results[0]!;
    const lastGain = results[4]! - results[3]!;
    expect(firstGain).toBeGreaterThan(0.1);
    expect(results[4]!).toBeGreaterThan(results[0]! + 0.2);
    // Six more agents at the end gain less than a third of what the first two extra agents gained.
    expect(lastGain).toBeLessThan(firstGain / 3);
  });

  // Lamport, Shostak and Pease 1982, "The Byzantine Generals Problem": agreement among honest
  // agents with f Byzantine ones is possible iff n >= 3f + 1. The honest agents run the
  // phase-king algorithm (Berman, Garay and Perry 1989), which meets that bound.
  it('Lamport et al. 1982: honest agents always agree when n >= 3f + 1, and not always when f >= n/3', () => {
    const disagreements = (n: number, f: number, strategy: 'mirror' | 'random', seeds = 300): number => {
      const spec = parseDebateSpec({
        question: { kind: 'categorical', options: ['a', 'b'], correct: 'a' },
        // Byzantine agents first, so that they are the kings of the first phases.
        agents: [...Array.from({ length: f }, (_, index) => ({ name: `byz${index}`, model: 'byzantine', params: { strategy } })), ...Array.from({ length: n - f }, (_, index) => ({ name: `honest${index}`, model: 'phase-king', params: { faults: f } }))],
        rounds: 3 * (f + 1) + 1,
      });
      let count = 0;
      for (let seed = 0; seed < seeds; seed++) {
        const honest = runDebate(spec, createRandom(seed)).finalAnswers.filter((answer) => answer.name.startsWith('honest'));
        if (new Set(honest.map((answer) => answer.answer)).size > 1) count += 1;
      }
      return count;
    };
    for (const [n, f] of [[4, 1], [7, 2], [10, 3]] as const) {
      for (const strategy of ['mirror', 'random'] as const) expect(disagreements(n, f, strategy), `n=${n} f=${f} ${strategy}`).toBe(0);
    }
    for (const [n, f] of [[3, 1], [6, 2], [9, 3]] as const) {
      expect(disagreements(n, f, 'mirror'), `n=${n} f=${f}`).toBeGreaterThan(0);
    }
  });

  // Hegselmann and Krause 2002, "Opinion Dynamics and Bounded Confidence": the number of opinion
  // clusters falls as the confidence bound grows, from fragmentation to polarisation to consensus
  // (roughly 1 / (2 epsilon) clusters for small epsilon).
  it('Hegselmann and Krause 2002: fewer opinion clusters as the confidence bound grows', () => {
    const clusters = (values: number[]): number => {
      const sorted = [...values].sort((a, b) => a - b);
      let count = 1;
      for (let index = 1; index < sorted.length; index++) if (sorted[index]! - sorted[index - 1]! > 1e-3) count += 1;
      return count;
    };
    const meanClusters = (epsilon: number): number => {
      let total = 0;
      const seeds = 100;
      for (let seed = 0; seed < seeds; seed++) {
        const initial = createRandom(seed).split('initial opinions');
        const spec = parseDebateSpec({
          question: { kind: 'numeric', truth: 0.5, tolerance: 1e-9 },
          agents: Array.from({ length: 30 }, (_, index) => ({ name: `o${index}`, model: 'hegselmann-krause', params: { epsilon, initial: initial.nextFloat() } })),
          rounds: 200,
          termination: { kind: 'stable', rounds: 1 },
        });
        const outcome = runDebate(spec, createRandom(seed));
        expect(outcome.decision.stoppedBy, `seed ${seed}: converged`).toBe('stable');
        total += clusters(outcome.finalAnswers.map((answer) => answer.value!));
      }
      return total / seeds;
    };
    const narrow = meanClusters(0.05);
    const middle = meanClusters(0.15);
    const wide = meanClusters(0.3);
    console.log(`Hegselmann-Krause mean clusters: epsilon 0.05 ${narrow}, 0.15 ${middle}, 0.3 ${wide}`);
    expect(narrow).toBeGreaterThan(5);
    expect(middle).toBeLessThan(narrow - 2);
    expect(wide).toBeLessThan(middle - 0.5);
    expect(wide).toBeLessThanOrEqual(2);
  });
});
