import { describe, expect, it } from 'vitest';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { parseExperiment, replicateSeed, resultsCsv, summarise, summariseCells, workOrder, type ReplicateResult } from '../../src/core/debate/experiment.ts';

const base = {
  version: 1,
  name: 'grid',
  seed: 3,
  replicates: 4,
  debate: {
    question: { kind: 'categorical', options: ['a', 'b'], correct: 'a' },
    agents: [
      { name: 'x', model: 'reasoner', params: { competence: 0.6 } },
      { name: 'y', model: 'reasoner', params: { competence: 0.7 } },
    ],
  },
  grid: [
    { path: 'agents[*].params.persuasionBias', values: [0, 0.5] },
    { path: 'agents.count', values: [2, 5] },
    { path: 'setup', variants: [{ protocol: 'simultaneous', 'aggregation.kind': 'plurality' }, { protocol: 'mad', 'aggregation.kind': 'judge' }] },
  ],
};

describe('experiments', () => {
  it('expands the grid into cells, every combination, in grid order', () => {
    const experiment = parseExperiment(base);
    expect(experiment.cells).toHaveLength(8);
    const last = experiment.cells[7]!;
    expect(last.parameters).toEqual({ 'agents[*].params.persuasionBias': 0.5, 'agents.count': 5, setup: { protocol: 'mad', 'aggregation.kind': 'judge' } });
    expect(last.spec.agents.map((agent) => agent.name)).toEqual(['x', 'y', 'x-2', 'y-2', 'x-3']);
    expect(last.spec.agents.every((agent) => agent.model === 'reasoner' && (agent.params as { persuasionBias: number }).persuasionBias === 0.5)).toBe(true);
    expect(last.spec.protocol).toBe('mad');
    expect(last.spec.aggregation.kind).toBe('judge');
    expect(experiment.cells[0]!.spec.agents).toHaveLength(2);
  });

  it('orders work replicate by replicate, and gives each replicate one seed in every cell', () => {
    const experiment = parseExperiment(base);
    const order = [...workOrder(experiment)];
    expect(order).toHaveLength(32);
    expect(order.slice(0, 9).map((item) => `${item.cell}/${item.replicate}`)).toEqual(['0/0', '1/0', '2/0', '3/0', '4/0', '5/0', '6/0', '7/0', '0/1']);
    const seeds = Array.from({ length: 1_000 }, (_, replicate) => replicateSeed(3, replicate));
    expect(new Set(seeds).size).toBe(1_000);
    expect(seeds.every((seed) => Number.isSafeInteger(seed) && seed >= 0)).toBe(true);
    expect(replicateSeed(3, 5)).toBe(seeds[5]);
    expect(replicateSeed(4, 5)).not.toBe(seeds[5]);
  });

  it('names the field of a bad experiment, and the cell that makes a bad debate', () => {
    const issue = (document: unknown): string => {
      try {
        parseExperiment(document);
      } catch (error) {
        expect(error).toBeInstanceOf(AuraError);
        const first = (error as AuraError).issues[0];
        return `${first?.path.join('.')}: ${first?.message}`;
      }
      throw new Error('accepted');
    };
    expect(issue({ ...base, replicates: 0 })).toMatch(/^replicates: expected an integer/);
    expect(issue({ ...base, grid: [{ path: 'rounds', values: [1], variants: [{}] }] })).toBe('grid.0: expected exactly one of values or variants');
    expect(issue({ ...base, grid: [{ path: 'agents..x', values: [1] }] })).toMatch(/^grid\.0\.path: not a path segment/);
    expect(issue({ ...base, grid: [{ path: 'rounds', values: [2, 0] }] })).toMatch(/^debate\.rounds: expected an integer between 1/);
    expect(issue({ ...base, debate: { ...base.debate, agents: [] } })).toMatch(/^debate\.agents/);
  });

  it('summarises replicates: mean, sample deviation and a 95% interval, independent of arrival order', () => {
    expect(summarise([1, 0, 1, 1])).toMatchObject({ n: 4, mean: 0.75, std: 0.5 });
    const { ciLow, ciHigh } = summarise([1, 0, 1, 1]);
    expect(ciHigh - ciLow).toBeCloseTo((2 * 1.96 * 0.5) / 2, 9);
    expect(summarise([5])).toMatchObject({ n: 1, mean: 5, std: 0, ciLow: 5, ciHigh: 5 });
    const experiment = parseExperiment({ ...base, grid: [] });
    const results: ReplicateResult[] = [0, 1, 2, 3].map((replicate) => ({ cell: 0, replicate, seed: replicate, correct: replicate !== 2, decided: true, consensus: replicate === 0, rounds: 3, messages: 6 }));
    const csv = resultsCsv(experiment, summariseCells(experiment, results));
    expect(resultsCsv(experiment, summariseCells(experiment, [...results].reverse()))).toBe(csv);
    expect(csv.split('\n')[1]).toBe('0,4,0.75,0.5,0.26,1.24,0.25,0.5,-0.24,0.74,3,0,3,3,6,0,6,6');
  });
});
