import { describe, expect, it } from 'vitest';
import type { BrowsedEvent } from '../../src/shared/api.ts';
import {
  answerColour,
  answerGrid,
  answerOrder,
  consensusShares,
  debateSummaries,
  describeFault,
  finalAnswers,
  heardPairs,
  influenceEdges,
  parseDebate,
  roundDistributions,
  stackSegments,
  trajectories,
  transcriptRows,
} from '../../src/renderer/src/features/debates/debate-math.ts';
import {
  chartDomain,
  chartSeries,
  csvSafeLabel,
  defaultAxes,
  defaultFixed,
  exportFileName,
  pathLabel,
  seriesCsv,
  standaloneSvg,
  svgDataUrl,
  valueKey,
  valueLabel,
  type SweepResults,
} from '../../src/renderer/src/features/debates/sweep-math.ts';

let position = 100;
const event = (type: string, payload: Record<string, unknown>, stream = 'debate-triage-1', virtualTimeUs = 5_000_000): BrowsedEvent => ({
  position: (position += 1),
  stream,
  version: 1,
  id: `e${position}`,
  type,
  schemaVersion: 1,
  virtualTimeUs,
  payload,
});
const argument = (agent: string, round: number, answer: string, confidence: number, repliesTo: string[], extra: Record<string, unknown> = {}): BrowsedEvent =>
  event('ArgumentMade', { debateId: 'triage-1', agent, round, answer, confidence, rationale: `${agent} says ${answer}`, repliesTo, ...extra });

const everyoneBut = (agent: string): string[] => ['ada', 'bob', 'cyd'].filter((name) => name !== agent);

/**
 * Three agents, three rounds. Round 1: ada noise, bob incident, cyd incident. Round 2: ada
 * changes to incident (having heard bob and cyd, both incident), bob stays, cyd changes to
 * noise (heard ada's noise). Round 3: cyd back to incident (bob and ada said incident in
 * round 2). A drop fault between rounds 1 and 2, then votes and the decision.
 */
function triageEvents(): BrowsedEvent[] {
  position = 100;
  return [
    event('DebateStarted', { debateId: 'triage-1', question: 'Incident?', agents: ['ada', 'bob', 'cyd'], protocol: 'simultaneous', options: ['incident', 'noise'] }),
    argument('ada', 1, 'noise', 0.4, []),
    argument('bob', 1, 'incident', 0.7, []),
    argument('cyd', 1, 'incident', 0.8, []),
    event('FaultInjected', { debateId: 'triage-1', faultId: 'triage-1/fault-0/1', kind: 'drop', round: 1, target: 'bob->cyd', from: 'bob', to: 'cyd' }),
    event('FaultCleared', { faultId: 'triage-1/fault-0/1' }),
    argument('ada', 2, 'incident', 0.8, everyoneBut('ada')),
    argument('bob', 2, 'incident', 0.75, everyoneBut('bob')),
    argument('cyd', 2, 'noise', 0.5, ['ada']),
    argument('ada', 3, 'incident', 0.85, everyoneBut('ada')),
    argument('bob', 3, 'incident', 0.8, everyoneBut('bob')),
    argument('cyd', 3, 'incident', 0.6, everyoneBut('cyd')),
    event('VoteCast', { debateId: 'triage-1', agent: 'ada', round: 3, answer: 'incident', confidence: 0.85, weight: 1 }),
    event('VoteCast', { debateId: 'triage-1', agent: 'bob', round: 3, answer: 'incident', confidence: 0.8, weight: 1 }),
    event('VoteCast', { debateId: 'triage-1', agent: 'cyd', round: 3, answer: 'incident', confidence: 0.6, weight: 1 }),
    event('ConsensusReached', { debateId: 'triage-1', answer: 'incident', round: 3 }),
    event('DebateDecided', { debateId: 'triage-1', round: 3, method: 'plurality', answer: 'incident', correct: true, stoppedBy: 'fixed-rounds', votes: 3, liveAgents: 3, messages: 9 }),
  ];
}

describe('debate list', () => {
  it('joins each DebateStarted with its DebateDecided by stream, in log order', () => {
    position = 0;
    const events = [
      event('DebateStarted', { debateId: 'triage-2', question: 'q', agents: ['a'], protocol: 'simultaneous' }, 'debate-triage-2', 10_000_000),
      event('DebateDecided', { debateId: 'triage-2', answer: null, correct: false, round: 3, stoppedBy: 'fixed-rounds' }, 'debate-triage-2', 10_000_000),
      event('DebateStarted', { debateId: 'triage-3', question: 'q', agents: ['a'], protocol: 'simultaneous' }, 'debate-triage-3', 15_000_000),
    ];
    // Listed by position even when read out of order.
    const list = debateSummaries([events[2]!, events[1]!, events[0]!]);
    expect(list.map((item) => item.debateId)).toEqual(['triage-2', 'triage-3']);
    expect(list[0]!.decision).toMatchObject({ answer: null, correct: false, round: 3 });
    expect(list[0]!.virtualTimeUs).toBe(10_000_000);
    expect(list[1]!.decision).toBeUndefined();
    expect(list[1]!.stream).toBe('debate-triage-3');
  });
});

describe('a debate read back from its events', () => {
  const detail = parseDebate('debate-triage-1', triageEvents());

  it('parses arguments, faults (the cleared one with the injected one’s details), votes and the decision', () => {
    expect(detail.debateId).toBe('triage-1');
    expect(detail.agents).toEqual(['ada', 'bob', 'cyd']);
    expect(detail.rounds).toBe(3);
    expect(detail.arguments).toHaveLength(9);
    expect(detail.faults.map((fault) => [fault.type, fault.kind, fault.target])).toEqual([
      ['FaultInjected', 'drop', 'bob->cyd'],
      ['FaultCleared', 'drop', 'bob->cyd'],
    ]);
    expect(detail.votes).toHaveLength(3);
    expect(detail.consensus).toEqual({ answer: 'incident', round: 3, reached: true });
    expect(detail.decision).toMatchObject({ answer: 'incident', correct: true, messages: 9 });
  });

  it('ignores malformed arguments instead of throwing', () => {
    const broken = parseDebate('debate-x-1', [event('ArgumentMade', { agent: 'ada', round: 'one', answer: 'x' }), event('ArgumentMade', 'not json' as unknown as Record<string, unknown>)]);
    expect(broken.arguments).toEqual([]);
    expect(broken.rounds).toBe(0);
  });

  it('grids each agent’s answer per round', () => {
    expect(Object.fromEntries(answerGrid(detail))).toEqual({ ada: ['noise', 'incident', 'incident'], bob: ['incident', 'incident', 'incident'], cyd: ['incident', 'noise', 'incident'] });
  });

  it('draws influence edges to agents that changed their answer, from the peers they heard who had said it', () => {
    expect(influenceEdges(detail)).toEqual([
      // cyd went back to incident in round 3 having heard ada and bob, both incident in round 2.
      { from: 'ada', to: 'cyd', weight: 2 }, // also cyd -> noise in round 2 (ada said noise in round 1)
      { from: 'bob', to: 'ada', weight: 1 },
      { from: 'bob', to: 'cyd', weight: 1 },
      { from: 'cyd', to: 'ada', weight: 1 },
    ]);
  });

  it('credits only peers the agent heard (repliesTo), and nobody when no answer changed', () => {
    // cyd in round 2 heard only ada; bob (who said incident, not noise) is not credited anyway,
    // and nobody influences bob, who never changed.
    expect(influenceEdges(detail).some((edge) => edge.to === 'bob')).toBe(false);
    position = 0;
    const still = parseDebate('s', [argument('ada', 1, 'x', 0.5, []), argument('bob', 1, 'y', 0.5, []), argument('ada', 2, 'x', 0.5, ['bob']), argument('bob', 2, 'x', 0.5, [])]);
    // bob changed to ada's answer but heard nobody: no edge.
    expect(influenceEdges(still)).toEqual([]);
  });

  it('uses what a Byzantine agent told each listener', () => {
    position = 0;
    const byzantine = parseDebate('b', [
      event('DebateStarted', { debateId: 'b', question: 'q', agents: ['ada', 'byz'], protocol: 'simultaneous', options: ['x', 'y'] }),
      argument('ada', 1, 'x', 0.5, []),
      argument('byz', 1, 'x', 0.5, []),
      argument('byz', 1, 'y', 0.9, [], { to: ['ada'] }),
      argument('ada', 2, 'y', 0.6, ['byz']),
    ]);
    expect(influenceEdges(byzantine)).toEqual([{ from: 'byz', to: 'ada', weight: 1 }]);
  });

  it('lists heard pairs once each', () => {
    expect(heardPairs(detail)).toEqual([
      ['ada', 'bob'],
      ['ada', 'cyd'],
      ['bob', 'cyd'],
    ]);
  });

  it('counts answers per round, stacks them and measures the plurality’s share', () => {
    const answers = answerOrder(detail);
    expect(answers).toEqual(['incident', 'noise']);
    const distributions = roundDistributions(detail, answers);
    expect(distributions.map((item) => [item.round, item.total, item.counts.map((count) => count.count)])).toEqual([
      [1, 3, [2, 1]],
      [2, 3, [2, 1]],
      [3, 3, [3, 0]],
    ]);
    expect(stackSegments(distributions).filter((segment) => segment.round === 1)).toEqual([
      { round: 1, answer: 'incident', count: 2, y0: 0, y1: 2 },
      { round: 1, answer: 'noise', count: 1, y0: 2, y1: 3 },
    ]);
    const shares = consensusShares(distributions);
    expect(shares.map((share) => [share.answer, share.agreeing, share.total])).toEqual([
      ['incident', 2, 3],
      ['incident', 2, 3],
      ['incident', 3, 3],
    ]);
    expect(shares[0]!.share).toBeCloseTo(2 / 3);
    expect(shares[2]!.share).toBe(1);
  });

  it('gives a zero share (and no answer) to a round nobody answered in, and breaks ties by answer order', () => {
    expect(consensusShares([{ round: 1, total: 0, counts: [{ answer: 'a', count: 0 }] }])).toEqual([{ round: 1, answer: null, agreeing: 0, total: 0, share: 0 }]);
    expect(
      consensusShares([
        {
          round: 1,
          total: 2,
          counts: [
            { answer: 'b', count: 1 },
            { answer: 'a', count: 1 },
          ],
        },
      ])[0]!.answer,
    ).toBe('b');
  });

  it('traces each agent’s confidence per round and marks its answer changes', () => {
    const byAgent = Object.fromEntries(trajectories(detail).map((item) => [item.agent, item.points]));
    expect(byAgent.ada!.map((point) => [point.round, point.confidence, point.changed])).toEqual([
      [1, 0.4, false],
      [2, 0.8, true],
      [3, 0.85, false],
    ]);
    expect(byAgent.cyd!.map((point) => point.changed)).toEqual([false, true, true]);
    expect(byAgent.bob!.every((point) => !point.changed)).toBe(true);
  });

  it('takes each agent’s vote as its final answer, else its last answer, else none', () => {
    expect(Object.fromEntries(finalAnswers(detail))).toEqual({ ada: 'incident', bob: 'incident', cyd: 'incident' });
    position = 0;
    const crashed = parseDebate('c', [event('DebateStarted', { debateId: 'c', question: 'q', agents: ['ada', 'dead'], protocol: 'simultaneous' }), argument('ada', 1, 'x', 0.5, [])]);
    expect(Object.fromEntries(finalAnswers(crashed))).toEqual({ ada: 'x', dead: null });
  });

  it('filters the transcript by agent and round, faults inline with the agents they concern', () => {
    expect(transcriptRows(detail, { agent: undefined, round: undefined }).map((row) => row.kind)).toEqual(['argument', 'argument', 'argument', 'fault', 'fault', 'argument', 'argument', 'argument', 'argument', 'argument', 'argument']);
    const ada = transcriptRows(detail, { agent: 'ada', round: undefined });
    expect(ada.every((row) => row.kind === 'argument' && row.argument.agent === 'ada')).toBe(true);
    expect(ada).toHaveLength(3);
    const cyd = transcriptRows(detail, { agent: 'cyd', round: undefined });
    expect(cyd.filter((row) => row.kind === 'fault')).toHaveLength(2);
    expect(transcriptRows(detail, { agent: undefined, round: 2 })).toHaveLength(3);
    expect(transcriptRows(detail, { agent: 'bob', round: 1 }).map((row) => row.kind)).toEqual(['argument', 'fault', 'fault']);
    expect(describeFault(detail.faults[1]!)).toBe('drop bob->cyd, round 1 (cleared)');
  });

  it('colours answers by their order, unknown and missing answers grey', () => {
    expect(answerColour(['a', 'b'], 'a')).not.toBe(answerColour(['a', 'b'], 'b'));
    expect(answerColour(['a', 'b'], null)).toBe(answerColour(['a', 'b'], 'zzz'));
  });
});

const summary = (mean: number | null, half = 0.1) => ({ n: 20, mean, std: mean === null ? null : 0.3, ciLow: mean === null ? null : mean - half, ciHigh: mean === null ? null : mean + half });

/** persuasion: bias [0, 0.3, 0.6] x rounds [1, 3] x setup [two variants]. Accuracy = bias + rounds / 10 (+ 0.01 for the mad variant). */
function sweepResults(): SweepResults {
  const biases = [0, 0.3, 0.6];
  const rounds = [1, 3];
  const setups = [{ protocol: 'simultaneous' }, { protocol: 'mad', 'aggregation.kind': 'judge' }];
  const cells: SweepResults['cells'] = [];
  for (const bias of biases)
    for (const round of rounds)
      for (const [index, setup] of setups.entries()) {
        const accuracy = bias + round / 10 + index / 100;
        cells.push({ cell: cells.length, parameters: { 'agents[*].params.persuasionBias': bias, rounds: round, setup }, accuracy: summary(accuracy), consensusRate: summary(1, 0), rounds: summary(round, 0), messages: summary(bias === 0.6 && round === 3 ? null : round * 5) });
      }
  return {
    name: 'persuasion',
    description: 'd',
    replicates: 20,
    grid: [
      { path: 'agents[*].params.persuasionBias', values: biases },
      { path: 'rounds', values: rounds },
      { path: 'setup', values: setups },
    ],
    cells,
  };
}

describe('sweep chart series', () => {
  const results = sweepResults();

  it('keys values stably (object keys sorted) and labels them for people', () => {
    expect(valueKey({ b: 1, a: [2, 'x'] })).toBe(valueKey({ a: [2, 'x'], b: 1 }));
    expect(valueKey(0.3)).toBe('0.3');
    expect(valueKey('0.3')).not.toBe(valueKey(0.3));
    expect(valueLabel({ protocol: 'mad', 'aggregation.kind': 'judge' })).toBe('protocol=mad, aggregation.kind=judge');
    expect(valueLabel(0.6)).toBe('0.6');
    expect(pathLabel('agents[*].params.persuasionBias')).toBe('persuasionBias');
  });

  it('picks the last numeric parameter for x and the first other one for the lines, the rest at their first value', () => {
    expect(defaultAxes(results.grid)).toEqual({ x: 'rounds', series: 'agents[*].params.persuasionBias' });
    expect(defaultFixed(results.grid, 'rounds', 'agents[*].params.persuasionBias')).toEqual({ setup: valueKey({ protocol: 'simultaneous' }) });
    expect(defaultAxes([{ path: 'setup', values: [{ a: 1 }] }])).toEqual({ x: 'setup', series: undefined });
  });

  it('makes one line per series value, one point per x value, from the cells matching the fixed values', () => {
    const fixed = defaultFixed(results.grid, 'rounds', 'agents[*].params.persuasionBias');
    const lines = chartSeries(results, { metric: 'accuracy', x: 'rounds', series: 'agents[*].params.persuasionBias', fixed });
    expect(lines.map((line) => line.label)).toEqual(['0', '0.3', '0.6']);
    expect(lines[1]!.points.map((point) => [point.xValue, point.mean])).toEqual([
      [1, 0.3 + 0.1],
      [3, 0.3 + 0.3],
    ]);
    expect(lines[1]!.points[0]!.ciLow).toBeCloseTo(0.3);
    // The other variant fixed: every mean is 0.01 higher.
    const mad = chartSeries(results, { metric: 'accuracy', x: 'rounds', series: 'agents[*].params.persuasionBias', fixed: { setup: valueKey({ 'aggregation.kind': 'judge', protocol: 'mad' }) } });
    expect(mad[0]!.points[0]!.mean).toBeCloseTo(0.11);
  });

  it('leaves out points without a mean, uses a point axis for non-numeric x, and draws one line without a series', () => {
    const messages = chartSeries(results, { metric: 'messages', x: 'rounds', series: 'agents[*].params.persuasionBias', fixed: defaultFixed(results.grid, 'rounds', 'agents[*].params.persuasionBias') });
    expect(messages[2]!.points).toHaveLength(1);
    const bySetup = chartSeries(results, { metric: 'accuracy', x: 'setup', series: undefined, fixed: { rounds: '1', 'agents[*].params.persuasionBias': '0' } });
    expect(bySetup).toHaveLength(1);
    expect(bySetup[0]!.points.map((point) => [point.xValue, point.xIndex, point.xLabel])).toEqual([
      [undefined, 0, 'protocol=simultaneous'],
      [undefined, 1, 'protocol=mad, aggregation.kind=judge'],
    ]);
    expect(chartSeries(results, { metric: 'accuracy', x: 'nope', series: undefined, fixed: {} })).toEqual([]);
  });

  it('spans the y domain over means and intervals, rates from 0 to at least 1', () => {
    const lines = chartSeries(results, { metric: 'accuracy', x: 'rounds', series: 'agents[*].params.persuasionBias', fixed: defaultFixed(results.grid, 'rounds', 'agents[*].params.persuasionBias') });
    const [low, high] = chartDomain(lines, 'accuracy');
    expect(low).toBe(0);
    expect(high).toBeCloseTo(1.0);
    expect(chartDomain([], 'rounds')).toEqual([0, 1]);
    expect(chartDomain([{ key: 'k', label: 'k', points: [{ xKey: '1', xLabel: '1', xValue: 1, xIndex: 0, n: 1, mean: 5, ciLow: 5, ciHigh: 5 }] }], 'rounds')).toEqual([4, 6]);
  });

  it('makes labels CSV-safe: quoted with doubled quotes, formulas defused, numbers untouched', () => {
    expect(csvSafeLabel('plain')).toBe('plain');
    expect(csvSafeLabel('protocol=mad, aggregation.kind=judge')).toBe('"protocol=mad, aggregation.kind=judge"');
    expect(csvSafeLabel('say "hi"')).toBe('"say ""hi"""');
    expect(csvSafeLabel('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvSafeLabel('@cmd')).toBe("'@cmd");
    expect(csvSafeLabel('-0.5')).toBe('-0.5');
    const csv = seriesCsv([{ key: 'k', label: 'a,b', points: [{ xKey: '1', xLabel: '1', xValue: 1, xIndex: 0, n: 20, mean: 0.5, ciLow: 0.3, ciHigh: null }] }], 'setup', 'rounds');
    expect(csv).toBe('setup,rounds,n,mean,ciLow,ciHigh\n"a,b",1,20,0.5,0.3,\n');
  });

  it('exports the SVG as a standalone document with its namespace, as a data URL, under a safe file name', () => {
    const text = standaloneSvg('<svg viewBox="0 0 1 1"><g/></svg>');
    expect(text).toContain('<svg xmlns="http://www.w3.org/2000/svg" viewBox');
    expect(standaloneSvg('<svg xmlns="http://www.w3.org/2000/svg"/>').match(/xmlns=/g)).toHaveLength(1);
    const url = svgDataUrl(text);
    expect(url.startsWith('data:image/svg+xml')).toBe(true);
    expect(decodeURIComponent(url.slice(url.indexOf(',') + 1))).toBe(text);
    expect(exportFileName('persuasion', 'consensusRate', 'png')).toBe('persuasion-consensusrate.png');
    expect(exportFileName('../x y', 'a', 'svg')).toBe('x-y-a.svg');
  });
});
