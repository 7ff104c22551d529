import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/events/event.ts';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom, type Random } from '../../src/core/kernel/random.ts';
import { agentBeliefs, type AgentBeliefs } from '../../src/core/projections/agent-beliefs.ts';
import { debateStandings, type DebateStanding } from '../../src/core/projections/debate-standings.ts';
import { checkQuorum, debateEvents, debateSpecSchema, parseDebateSpec, runDebate, type ArgumentRecord, type DebateOutcome, type DebateRecord, type DebateSpec, type FaultRecord, type VoteRecord } from '../../src/core/debate/index.ts';

const categorical = { kind: 'categorical', options: ['a', 'b', 'c', 'd'], correct: 'a' } as const;
const names = (count: number, prefix = 'r'): string[] => Array.from({ length: count }, (_, index) => `${prefix}${index}`);
const reasoners = (count: number, params: Record<string, unknown> = {}, prefix = 'r') => names(count, prefix).map((name) => ({ name, model: 'reasoner', params }));

const argumentsOf = (outcome: DebateOutcome): ArgumentRecord[] => outcome.records.filter((record): record is ArgumentRecord => record.type === 'argument');
const faultsOf = (outcome: DebateOutcome): FaultRecord[] => outcome.records.filter((record): record is FaultRecord => record.type === 'fault');
const votesOf = (outcome: DebateOutcome): VoteRecord[] => outcome.records.filter((record): record is VoteRecord => record.type === 'vote');

function issuesOf(document: unknown): { path: string; message: string }[] {
  try {
    parseDebateSpec(document);
  } catch (error) {
    if (error instanceof AuraError) return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('debate spec parser', () => {
  it('fills in defaults', () => {
    const spec = parseDebateSpec({ question: categorical, agents: [{ name: 'x', model: 'reasoner' }] });
    expect(spec).toMatchObject({
      debateId: 'debate',
      protocol: 'simultaneous',
      aggregation: { kind: 'plurality' },
      termination: { kind: 'fixed-rounds' },
      topology: { kind: 'full' },
      rounds: 3,
      faults: [],
      judge: { name: 'judge', competence: 0.8, decisiveness: 0.5 },
    });
    expect(spec.agents[0]).toEqual({ name: 'x', model: 'reasoner', params: { competence: 0.6, correlation: 0, calibration: 0.5, stubbornness: 0.3, conformity: 0, persuasionBias: 0, noise: 1 } });
    const numeric = parseDebateSpec({ question: { kind: 'numeric', truth: 3 }, agents: [{ name: 'x', model: 'degroot' }] });
    expect(numeric.aggregation).toEqual({ kind: 'trimmed-mean', trim: 0.2 });
    expect(numeric.question).toEqual({ kind: 'numeric', text: '', truth: 3, tolerance: 0.01 });
  });

  it('reports every error with its exact path', () => {
    const issues = issuesOf({
      question: { kind: 'categorical', options: ['a', 'b', 'a'], correct: 'z' },
      agents: [
        { name: 'x', model: 'reasoner', params: { competence: 1.5, wat: 1 } },
        { name: 'x', model: 'degroot' },
        { name: 'y', model: 'stubborn-wrong', params: { answer: 'a' } },
        { name: 'z', model: 'nobody' },
      ],
      aggregation: { kind: 'trimmed-mean' },
      topology: { kind: 'centralised', hub: 'ghost' },
      faults: [{ kind: 'crash', agent: 'ghost' }, { kind: 'drop', probability: 2 }, { kind: 'partition', groups: [['x'], ['x']], fromRound: 3, toRound: 2 }],
    });
    const paths = issues.map((issue) => issue.path);
    expect(paths).toContain('agents.3.model');
    expect(paths).toContain('faults.1.probability');
    // Structural errors come first; fix them and the cross-field checks report next.
    const second = issuesOf({
      question: { kind: 'categorical', options: ['a', 'b', 'a'], correct: 'z' },
      agents: [
        { name: 'x', model: 'reasoner', params: { competence: 1.5, wat: 1 } },
        { name: 'x', model: 'degroot' },
        { name: 'y', model: 'stubborn-wrong', params: { answer: 'a' } },
      ],
      aggregation: { kind: 'trimmed-mean' },
      topology: { kind: 'centralised', hub: 'ghost' },
      faults: [{ kind: 'crash', agent: 'ghost' }, { kind: 'partition', groups: [['x'], ['x']], fromRound: 3, toRound: 2 }],
    });
    const byPath = new Map(second.map((issue) => [issue.path, issue.message]));
    expect(byPath.get('question.options.2')).toMatch(/duplicate option "a"/);
    expect(byPath.get('question.correct')).toMatch(/one of the options/);
    expect(byPath.get('agents.0.params.competence')).toMatch(/between 0 and 1/);
    expect(byPath.get('agents.0.params.wat')).toMatch(/unknown field/);
    expect(byPath.get('agents.1.name')).toMatch(/duplicate agent name "x"/);
    expect(byPath.get('agents.1.model')).toMatch(/needs a numeric question/);
    expect(byPath.get('aggregation.kind')).toMatch(/numeric question/);
    expect(byPath.get('topology.hub')).toMatch(/agent name/);
    expect(byPath.get('faults.0.agent')).toMatch(/agent name/);
    expect(byPath.get('faults.1.toRound')).toMatch(/>= fromRound/);
    expect(byPath.get('faults.1.groups.1.0')).toMatch(/more than one group/);
    // y's stubborn answer is the correct one.
    expect(issuesOf({ question: categorical, agents: [{ name: 'y', model: 'stubborn-wrong', params: { answer: 'a' } }] }).map((issue) => issue.path)).toEqual(['agents.0.params.answer']);
    expect(issuesOf({ question: categorical, agents: reasoners(3), topology: { kind: 'sparse', k: 3 } }).map((issue) => issue.path)).toEqual(['topology.k']);
    expect(issuesOf({ question: categorical, agents: reasoners(1), protocol: 'mad' }).map((issue) => issue.path)).toEqual(['protocol']);
    expect(issuesOf({ question: { kind: 'numeric', truth: 1 }, agents: reasoners(2), aggregation: { kind: 'plurality' } }).map((issue) => issue.path)).toEqual(['aggregation.kind']);
  });

  it('round-trips through JSON: the spec is plain data; the schema is emitted for editors', () => {
    expect(debateSpecSchema.jsonSchema()).toMatchObject({ type: 'object', required: ['question', 'agents'] });
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(3), faults: [{ kind: 'drop', probability: 0.1 }] });
    expect(parseDebateSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });
});

/** A spec that exercises most of the engine at once. */
const busy = parseDebateSpec({
  debateId: 'busy',
  question: categorical,
  agents: [...reasoners(4, { persuasionBias: 0.3, conformity: 0.4, correlation: 0.3 }), { name: 'byz', model: 'byzantine' }, { name: 'slowpoke', model: 'slow' }, { name: 'bay', model: 'bayesian' }],
  protocol: 'sequential',
  aggregation: { kind: 'confidence-weighted' },
  topology: { kind: 'sparse', k: 3 },
  rounds: 4,
  faults: [
    { kind: 'drop', probability: 0.2 },
    { kind: 'duplicate', probability: 0.1 },
    { kind: 'delay', probability: 0.1 },
    { kind: 'reorder', probability: 0.3 },
    { kind: 'crash', agent: 'r3', fromRound: 3 },
  ],
});

describe('runDebate', () => {
  it('is deterministic: same spec and seed give the same records, canonical JSON byte for byte', () => {
    for (const seed of [0, 1, 42, 2 ** 40]) {
      const before = canonicalJson(busy);
      const a = canonicalJson(runDebate(busy, createRandom(seed)));
      const b = canonicalJson(runDebate(busy, createRandom(seed)));
      expect(a, `seed ${seed}`).toBe(b);
      expect(canonicalJson(busy), 'the spec is not mutated').toBe(before);
    }
    const outputs = new Set(Array.from({ length: 20 }, (_, seed) => canonicalJson(runDebate(busy, createRandom(seed)))));
    expect(outputs.size).toBeGreaterThan(15);
  });

  it('keeps PRNG streams independent: an added adversary or fault does not change the others’ first-round draws', () => {
    const honest = reasoners(4, { competence: 0.5, correlation: 0.5 });
    const base = parseDebateSpec({ question: categorical, agents: honest });
    const variants = [
      parseDebateSpec({ question: categorical, agents: [...honest, { name: 'mallory', model: 'byzantine' }] }),
      parseDebateSpec({ question: categorical, agents: [{ name: 'mallory', model: 'stubborn-wrong' }, ...honest] }),
      parseDebateSpec({ question: categorical, agents: honest, faults: [{ kind: 'drop', probability: 0.5 }, { kind: 'crash', agent: 'r2', fromRound: 2 }] }),
    ];
    const firstRound = (outcome: DebateOutcome) =>
      argumentsOf(outcome)
        .filter((record) => record.round === 1 && record.agent.startsWith('r'))
        .map((record) => [record.agent, record.answer, record.confidence]);
    let compared = 0;
    for (let seed = 0; seed < 200; seed++) {
      const expected = firstRound(runDebate(base, createRandom(seed)));
      for (const variant of variants) {
        expect(firstRound(runDebate(variant, createRandom(seed))), `seed ${seed}`).toEqual(expected);
        compared += 1;
      }
    }
    expect(compared).toBe(600);
    // ...while later rounds do react to the adversary.
    const later = (spec: DebateSpec, seed: number) => canonicalJson(argumentsOf(runDebate(spec, createRandom(seed))).filter((record) => record.round > 1 && record.agent.startsWith('r')));
    expect(Array.from({ length: 50 }, (_, seed) => later(base, seed) !== later(variants[0]!, seed)).some(Boolean)).toBe(true);
  });

  it('runs and terminates for every protocol x aggregation x termination x topology', () => {
    const protocols = ['simultaneous', 'sequential', 'mad', 'round-robin'];
    const terminations = [{ kind: 'fixed-rounds' }, { kind: 'unanimity' }, { kind: 'stable', rounds: 1 }, { kind: 'judge' }, { kind: 'message-budget', messages: 7 }];
    const topologies = [{ kind: 'full' }, { kind: 'sparse', k: 2 }, { kind: 'centralised', hub: 'r1' }];
    const questions = [
      {
        question: categorical,
        aggregations: [{ kind: 'plurality' }, { kind: 'confidence-weighted' }, { kind: 'judge' }, { kind: 'supermajority', fraction: 0.6 }, { kind: 'unanimity' }],
        agents: [...reasoners(3, { persuasionBias: 0.5, conformity: 0.3 }), { name: 'bay', model: 'bayesian' }, { name: 'vot', model: 'voter' }, { name: 'syc', model: 'sycophant' }],
      },
      {
        question: { kind: 'numeric', truth: 10, tolerance: 0.5 },
        aggregations: [{ kind: 'trimmed-mean' }, { kind: 'judge' }],
        agents: [...reasoners(2, { persuasionBias: 0.5 }), { name: 'deg', model: 'degroot' }, { name: 'fj', model: 'friedkin-johnsen' }, { name: 'hk', model: 'hegselmann-krause', params: { epsilon: 1 } }, { name: 'bay', model: 'bayesian' }],
      },
    ];
    const stops = new Set<string>();
    let runs = 0;
    for (const { question, aggregations, agents } of questions) {
      for (const protocol of protocols) {
        for (const aggregation of aggregations) {
          for (const termination of terminations) {
            for (const topology of topologies) {
              const spec = parseDebateSpec({ question, agents, protocol, aggregation, termination, topology, rounds: 6 });
              for (let seed = 0; seed < 3; seed++) {
                const context = `${protocol} ${aggregation.kind} ${termination.kind} ${topology.kind} seed ${seed}`;
                const outcome = runDebate(spec, createRandom(seed));
                runs += 1;
                expect(outcome.roundsPlayed, context).toBeGreaterThanOrEqual(1);
                expect(outcome.roundsPlayed, context).toBeLessThanOrEqual(6);
                expect(outcome.records[0]?.type, context).toBe('debate-started');
                expect(outcome.records.at(-1), context).toBe(outcome.decision);
                expect(outcome.records.at(-2)?.type, context).toBe(outcome.decision.answer === null ? 'consensus-failed' : 'consensus-reached');
                expect(checkQuorum(outcome, spec), context).toBeNull();
                if (termination.kind === 'message-budget') expect(outcome.messages, context).toBeLessThanOrEqual(7);
                if (outcome.roundsPlayed < 6) expect(outcome.decision.stoppedBy, context).not.toBe('round-cap');
                stops.add(outcome.decision.stoppedBy);
              }
            }
          }
        }
      }
    }
    expect(runs).toBe((4 * 5 * 5 * 3 + 4 * 2 * 5 * 3) * 3);
    expect([...stops].sort()).toEqual(['fixed-rounds', 'judge', 'message-budget', 'moderator', 'round-cap', 'stable', 'unanimity']);
  });

  it('MAD: affirmatives speak before negatives each round, and the moderator can stop early', () => {
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(4, { persuasionBias: 0.5 }), protocol: 'mad', rounds: 5 });
    let early = 0;
    for (let seed = 0; seed < 100; seed++) {
      const outcome = runDebate(spec, createRandom(seed));
      for (let round = 1; round <= outcome.roundsPlayed; round++) {
        expect(argumentsOf(outcome).filter((record) => record.round === round).map((record) => record.agent), `seed ${seed}`).toEqual(['r0', 'r2', 'r1', 'r3']);
      }
      if (outcome.decision.stoppedBy === 'moderator' && outcome.roundsPlayed < 5) early += 1;
    }
    expect(early).toBeGreaterThan(50);
  });

  it('round robin: everyone opens, then one speaker per round in order', () => {
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(3), protocol: 'round-robin', rounds: 6 });
    const outcome = runDebate(spec, createRandom(5));
    expect(argumentsOf(outcome).map((record) => `${record.round}:${record.agent}`)).toEqual(['1:r0', '1:r1', '1:r2', '2:r0', '3:r1', '4:r2', '5:r0', '6:r1']);
  });

  it('sequential: each agent reads the earlier answers of the round', () => {
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(4), protocol: 'sequential', rounds: 2 });
    const first = argumentsOf(runDebate(spec, createRandom(9))).filter((record) => record.round === 1);
    expect(first.map((record) => record.repliesTo)).toEqual([[], ['r0'], ['r0', 'r1'], ['r0', 'r1', 'r2']]);
  });
});

describe('topologies', () => {
  it('sparse: each agent hears the same k peers every round', () => {
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(7), topology: { kind: 'sparse', k: 2 }, rounds: 4 });
    for (let seed = 0; seed < 50; seed++) {
      const heard = new Map<string, string>();
      for (const record of argumentsOf(runDebate(spec, createRandom(seed)))) {
        if (record.round === 1) continue;
        expect(record.repliesTo, `seed ${seed}`).toHaveLength(2);
        expect(record.repliesTo, `seed ${seed}`).not.toContain(record.agent);
        const set = [...record.repliesTo].sort().join(',');
        expect(heard.get(record.agent) ?? set, `seed ${seed}`).toBe(set);
        heard.set(record.agent, set);
      }
    }
  });

  it('centralised: leaves hear each other through the hub, and nothing once it has crashed', () => {
    const agents = reasoners(4);
    const healthy = runDebate(parseDebateSpec({ question: categorical, agents, topology: { kind: 'centralised', hub: 'r0' } }), createRandom(3));
    for (const record of argumentsOf(healthy).filter((item) => item.round > 1)) expect(record.repliesTo).toHaveLength(3);
    const crashed = runDebate(parseDebateSpec({ question: categorical, agents, topology: { kind: 'centralised', hub: 'r0' }, faults: [{ kind: 'crash', agent: 'r0', fromRound: 1 }] }), createRandom(3));
    const leaves = argumentsOf(crashed);
    expect(leaves.map((record) => record.agent)).not.toContain('r0');
    for (const record of leaves) expect(record.repliesTo, `${record.agent} round ${record.round}`).toEqual([]);
  });
});

describe('faults', () => {
  const five = reasoners(5);

  it('a partition blocks messages between groups while it lasts', () => {
    const spec = parseDebateSpec({ question: categorical, agents: five, rounds: 4, faults: [{ kind: 'partition', groups: [['r0', 'r1'], ['r2', 'r3', 'r4']], fromRound: 1, toRound: 2 }] });
    const side = (name: string) => (name === 'r0' || name === 'r1' ? 'left' : 'right');
    for (let seed = 0; seed < 30; seed++) {
      const outcome = runDebate(spec, createRandom(seed));
      for (const record of argumentsOf(outcome)) {
        // Rounds 2 and 3 read messages sent in rounds 1 and 2: the partition's rounds.
        if (record.round === 2 || record.round === 3) {
          for (const peer of record.repliesTo) expect(side(peer), `seed ${seed}: ${record.agent} heard ${peer} in round ${record.round}`).toBe(side(record.agent));
        }
        if (record.round === 4) expect(record.repliesTo, `seed ${seed}: the partition has healed`).toHaveLength(4);
      }
      const blocked = faultsOf(outcome);
      expect(blocked).toHaveLength(2 * 2 * 3 * 2); // rounds 1-2, 2x3 pairs, both directions
      for (const record of blocked) {
        expect(record.kind).toBe('partition');
        expect(side(record.from!)).not.toBe(side(record.to!));
      }
    }
  });

  it('a crashed agent stops sending and voting from its crash round', () => {
    const spec = parseDebateSpec({ question: categorical, agents: five, rounds: 4, faults: [{ kind: 'crash', agent: 'r2', fromRound: 2 }] });
    for (let seed = 0; seed < 30; seed++) {
      const outcome = runDebate(spec, createRandom(seed));
      const spoken = argumentsOf(outcome);
      expect(spoken.filter((record) => record.agent === 'r2').map((record) => record.round), `seed ${seed}`).toEqual([1]);
      expect(spoken.filter((record) => record.round === 2 && record.agent !== 'r2').every((record) => record.repliesTo.includes('r2')), `seed ${seed}`).toBe(true);
      expect(spoken.filter((record) => record.round >= 3).some((record) => record.repliesTo.includes('r2')), `seed ${seed}`).toBe(false);
      expect(votesOf(outcome).map((vote) => vote.agent)).not.toContain('r2');
      expect(faultsOf(outcome)).toEqual([expect.objectContaining({ kind: 'crash', target: 'r2', round: 2 })]);
      expect(outcome.decision.liveAgents).toBe(4);
      expect(outcome.finalAnswers.find((answer) => answer.name === 'r2')?.alive).toBe(false);
    }
  });

  it('drop, delay, duplicate and reorder act on messages and are reported', () => {
    const run = (fault: Record<string, unknown>, seed = 4) => runDebate(parseDebateSpec({ question: categorical, agents: five, rounds: 4, faults: [fault] }), createRandom(seed));
    const dropped = run({ kind: 'drop', probability: 1 });
    expect(argumentsOf(dropped).every((record) => record.repliesTo.length === 0)).toBe(true);
    expect(faultsOf(dropped)).toHaveLength(4 * 20);
    expect(faultsOf(dropped).every((record) => record.kind === 'drop')).toBe(true);
    expect(dropped.decision.answer).not.toBeNull();

    const delayed = run({ kind: 'delay', probability: 1 });
    const delayedRounds = (round: number) => argumentsOf(delayed).filter((record) => record.round === round);
    expect(delayedRounds(2).every((record) => record.repliesTo.length === 0)).toBe(true);
    expect(delayedRounds(3).every((record) => record.repliesTo.length === 4)).toBe(true);

    const duplicated = run({ kind: 'duplicate', probability: 1, from: 'r0' });
    expect(faultsOf(duplicated)).toHaveLength(4 * 4);
    expect(faultsOf(duplicated).every((record) => record.kind === 'duplicate' && record.from === 'r0')).toBe(true);

    const sometimes = run({ kind: 'drop', probability: 0.3, fromRound: 2, toRound: 3 });
    expect(faultsOf(sometimes).length).toBeGreaterThan(0);
    expect(faultsOf(sometimes).every((record) => record.round === 2 || record.round === 3)).toBe(true);
    expect(faultsOf(run({ kind: 'drop', probability: 0 }))).toEqual([]);

    // Reordering changes what (some) agents make of their inbox, never who they heard.
    const plain = parseDebateSpec({ question: categorical, agents: reasoners(5, { conformity: 0 }), rounds: 3 });
    const shuffled = parseDebateSpec({ ...plain, faults: [{ kind: 'reorder', probability: 1, fromRound: 1 }] });
    let changed = 0;
    for (let seed = 0; seed < 40; seed++) {
      const a = runDebate(plain, createRandom(seed));
      const b = runDebate(shuffled, createRandom(seed));
      expect(faultsOf(b).every((record) => record.kind === 'reorder')).toBe(true);
      expect(argumentsOf(b).map((record) => [...record.repliesTo].sort())).toEqual(argumentsOf(a).map((record) => [...record.repliesTo].sort()));
      if (canonicalJson(argumentsOf(a).map((record) => record.answer)) !== canonicalJson(argumentsOf(b).map((record) => record.answer))) changed += 1;
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('fault records have unique ids and map to FaultInjected/FaultCleared pairs', () => {
    const outcome = runDebate(busy, createRandom(11));
    const ids = faultsOf(outcome).map((record) => record.faultId);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    const events = debateEvents(outcome.records);
    const injected = events.filter((event) => event.type === 'FaultInjected').length;
    const cleared = events.filter((event) => event.type === 'FaultCleared').length;
    expect(injected).toBe(ids.length);
    expect(cleared).toBe(faultsOf(outcome).filter((record) => record.kind !== 'crash').length);
  });
});

describe('adversaries and models', () => {
  it('Byzantine agents tell different peers different answers', () => {
    const spec = parseDebateSpec({ question: categorical, agents: [...reasoners(4, { competence: 0.5 }), { name: 'byz', model: 'byzantine' }], rounds: 3 });
    let equivocated = 0;
    for (let seed = 0; seed < 30; seed++) {
      const byz = argumentsOf(runDebate(spec, createRandom(seed))).filter((record) => record.agent === 'byz');
      for (let round = 1; round <= 3; round++) {
        const said = byz.filter((record) => record.round === round);
        const recipients = said.flatMap((record) => record.to ?? []);
        expect(recipients.sort(), `seed ${seed}`).toEqual(['r0', 'r1', 'r2', 'r3']);
        if (new Set(said.map((record) => record.answer)).size > 1) equivocated += 1;
      }
    }
    expect(equivocated).toBeGreaterThan(30);
  });

  it('a slow agent’s messages arrive a round late and its vote is not counted; a crashed agent says nothing', () => {
    const spec = parseDebateSpec({ question: categorical, agents: [...reasoners(3), { name: 'slowpoke', model: 'slow' }, { name: 'dead', model: 'crashed' }], rounds: 4 });
    const outcome = runDebate(spec, createRandom(2));
    const spoken = argumentsOf(outcome);
    expect(spoken.filter((record) => record.agent === 'slowpoke').every((record) => record.late === true)).toBe(true);
    expect(spoken.filter((record) => record.agent === 'dead')).toEqual([]);
    const heardSlow = (round: number) => spoken.filter((record) => record.round === round && record.agent.startsWith('r')).every((record) => record.repliesTo.includes('slowpoke'));
    expect(heardSlow(2)).toBe(false);
    expect(heardSlow(3)).toBe(true);
    expect(votesOf(outcome).map((vote) => vote.agent).sort()).toEqual(['r0', 'r1', 'r2']);
    expect(outcome.decision.liveAgents).toBe(4);
  });

  it('stubbornly wrong agents insist; sycophants follow the majority', () => {
    const spec = parseDebateSpec({
      question: categorical,
      agents: [{ name: 'w1', model: 'stubborn-wrong', params: { answer: 'c' } }, { name: 'w2', model: 'stubborn-wrong', params: { answer: 'c' } }, { name: 'syc', model: 'sycophant' }],
      rounds: 3,
    });
    const outcome = runDebate(spec, createRandom(1));
    expect(argumentsOf(outcome).filter((record) => record.round > 1).map((record) => record.answer)).toEqual(['c', 'c', 'c', 'c', 'c', 'c']);
    expect(outcome.decision).toMatchObject({ answer: 'c', correct: false });
  });

  it('DeGroot reaches consensus; Friedkin-Johnsen keeps anchored disagreement; voters copy', () => {
    const initial = [0, 0.2, 0.5, 0.9, 1];
    const spread = (outcome: DebateOutcome) => {
      const values = outcome.finalAnswers.map((answer) => answer.value as number);
      return Math.max(...values) - Math.min(...values);
    };
    const run = (model: string, params: Record<string, unknown> = {}) =>
      runDebate(parseDebateSpec({ question: { kind: 'numeric', truth: 0.5, tolerance: 1e-9 }, agents: initial.map((value, index) => ({ name: `o${index}`, model, params: { ...params, initial: value } })), rounds: 60 }), createRandom(1));
    expect(spread(run('degroot'))).toBeLessThan(1e-6);
    const anchored = spread(run('friedkin-johnsen', { susceptibility: 0.5 }));
    expect(anchored).toBeGreaterThan(0.1);
    expect(anchored).toBeLessThan(1);
    const voters = run('voter');
    for (const answer of voters.finalAnswers) expect(initial).toContain(answer.value);
  });

  it('a Bayesian voter follows a consistent crowd against its own signal', () => {
    const spec = parseDebateSpec({ question: categorical, agents: [{ name: 'bay', model: 'bayesian', params: { competence: 1 } }, ...['w1', 'w2', 'w3'].map((name) => ({ name, model: 'stubborn-wrong', params: { answer: 'b' } }))], rounds: 2 });
    const bay = argumentsOf(runDebate(spec, createRandom(0))).filter((record) => record.agent === 'bay');
    // competence 1 means certainty: the crowd cannot move it.
    expect(bay.map((record) => record.answer)).toEqual(['a', 'a']);
    const unsure = parseDebateSpec({ ...spec, agents: [{ name: 'bay', model: 'bayesian', params: { competence: 0.7, peerAccuracy: 0.6 } }, ...spec.agents.slice(1)] });
    const moved = argumentsOf(runDebate(unsure, createRandom(0))).filter((record) => record.agent === 'bay');
    expect(moved[1]?.answer).toBe('b');
    expect(moved[1]!.confidence).toBeGreaterThan(0.5);
  });
});

describe('quorum safety', () => {
  /** A random spec for a seed: any protocol, aggregation, termination, topology, agents and faults. */
  function randomSpec(random: Random): DebateSpec {
    const pick = <T>(items: readonly T[]): T => items[random.int(0, items.length - 1)] as T;
    const count = random.int(1, 7);
    const models = ['reasoner', 'reasoner', 'slow', 'byzantine', 'stubborn-wrong', 'sycophant', 'crashed', 'voter', 'bayesian', 'phase-king'];
    const agents = names(count, 'a').map((name) => ({ name, model: pick(models) }));
    const faults: Record<string, unknown>[] = [];
    for (let index = random.int(0, 4); index > 0; index--) {
      const kind = pick(['drop', 'duplicate', 'delay', 'reorder', 'crash', 'partition']);
      if (kind === 'crash') faults.push({ kind, agent: pick(agents).name, fromRound: random.int(1, 4) });
      else if (kind === 'partition') faults.push({ kind, groups: [agents.filter((_, index) => index % 2 === 0).map((agent) => agent.name)], fromRound: random.int(1, 3) });
      else faults.push({ kind, probability: random.nextFloat() });
    }
    const protocol = count >= 2 ? pick(['simultaneous', 'sequential', 'mad', 'round-robin']) : pick(['simultaneous', 'sequential', 'round-robin']);
    return parseDebateSpec({
      question: { kind: 'categorical', options: ['x', 'y', 'z'], correct: 'x' },
      agents,
      protocol,
      aggregation: pick([{ kind: 'plurality' }, { kind: 'confidence-weighted' }, { kind: 'judge' }, { kind: 'supermajority', fraction: pick([0.51, 2 / 3, 0.75, 1]) }, { kind: 'unanimity' }]),
      termination: pick([{ kind: 'fixed-rounds' }, { kind: 'unanimity' }, { kind: 'stable', rounds: random.int(1, 2) }, { kind: 'judge' }, { kind: 'message-budget', messages: random.int(1, 12) }]),
      topology: count >= 2 ? pick([{ kind: 'full' }, { kind: 'sparse', k: random.int(1, count - 1) }, { kind: 'centralised' }]) : { kind: 'full' },
      rounds: random.int(1, 6),
      faults,
    });
  }

  it('the runner never decides without its quorum (property over 3,000 seeds)', () => {
    const outcomes = { decided: 0, failed: 0, noVotes: 0 };
    for (let seed = 0; seed < 3_000; seed++) {
      const spec = randomSpec(createRandom(seed).split('spec'));
      const outcome = runDebate(spec, createRandom(seed));
      expect(checkQuorum(outcome, spec), `seed ${seed}: ${canonicalJson(spec)}`).toBeNull();
      expect(outcome.roundsPlayed, `seed ${seed}`).toBeLessThanOrEqual(spec.rounds);
      if (spec.termination.kind === 'message-budget') expect(outcome.messages, `seed ${seed}`).toBeLessThanOrEqual(spec.termination.messages);
      if (outcome.decision.answer === null) outcomes.failed += 1;
      else outcomes.decided += 1;
      if (outcome.decision.votes === 0) outcomes.noVotes += 1;
    }
    // The property was exercised on both sides, including debates where nobody could vote.
    expect(outcomes.decided).toBeGreaterThan(500);
    expect(outcomes.failed).toBeGreaterThan(100);
    expect(outcomes.noVotes).toBeGreaterThan(10);
  });

  it('checkQuorum catches decisions made without quorum', () => {
    const tamper = (outcome: DebateOutcome, change: (records: DebateRecord[]) => DebateRecord[]): DebateOutcome => ({ ...outcome, records: change([...outcome.records]) });
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(5, { competence: 0.9 }), aggregation: { kind: 'supermajority', fraction: 0.8 }, rounds: 3 });
    let seed = 0;
    let outcome = runDebate(spec, createRandom(seed));
    while (outcome.decision.answer === null) outcome = runDebate(spec, createRandom(++seed));
    expect(checkQuorum(outcome, spec)).toBeNull();
    // Two votes fewer: 3 of 5 is not 80%.
    let dropped = 0;
    expect(checkQuorum(tamper(outcome, (records) => records.filter((record) => record.type !== 'vote' || ++dropped > 2)), spec)?.rule).toBe('supermajority');
    // No votes at all.
    expect(checkQuorum(tamper(outcome, (records) => records.filter((record) => record.type !== 'vote')), spec)?.rule).toBe('supermajority');
    // A vote from an agent that had crashed.
    const crash: FaultRecord = { type: 'fault', debateId: 'debate', faultId: 'x', kind: 'crash', round: 1, target: 'r0' };
    expect(checkQuorum(tamper(outcome, (records) => [records[0]!, crash, ...records.slice(1)]), spec)?.rule).toBe('live-voters');

    const plurality = parseDebateSpec({ ...spec, aggregation: { kind: 'plurality' } });
    const votes = runDebate(plurality, createRandom(1));
    const loser = votesOf(votes).find((vote) => vote.answer !== votes.decision.answer);
    const wrongAnswer = loser?.answer ?? 'd';
    const rigged = tamper(votes, (records) => records.map((record) => (record.type === 'decision' ? { ...record, answer: wrongAnswer } : record)));
    expect(checkQuorum(rigged, plurality)?.rule).toBe('plurality');
    expect(checkQuorum(tamper(votes, (records) => records.filter((record) => record.type !== 'decision')), plurality)?.rule).toBe('decision');
  });
});

describe('lab events', () => {
  const recorded = (position: number, type: string, payload: unknown): RecordedEvent => ({
    position,
    stream: asStreamName('debate-busy'),
    version: position,
    id: asEventId(position.toString(16).padStart(32, '0')),
    type,
    schemaVersion: 1,
    payload: payload as RecordedEvent['payload'],
    metadata: { virtualTimeUs: position },
  });

  it('fold through the debate-standings and agent-beliefs projections', () => {
    const outcome = runDebate(busy, createRandom(8));
    const events = debateEvents(outcome.records).map((event, index) => recorded(index + 1, event.type, JSON.parse(JSON.stringify(event.payload))));
    let standing = debateStandings.initial() as DebateStanding;
    const beliefs = new Map<string, AgentBeliefs>();
    for (const event of events) {
      if (debateStandings.partitionBy!(event) !== undefined) standing = debateStandings.apply(standing, event);
      const agent = agentBeliefs.partitionBy!(event);
      if (agent !== undefined) beliefs.set(agent, agentBeliefs.apply(beliefs.get(agent) ?? agentBeliefs.initial(), event));
    }
    const spoken = argumentsOf(outcome);
    expect(standing.agents).toEqual(busy.agents.map((agent) => agent.name));
    expect(standing.protocol).toBe('sequential');
    expect(Object.values(standing.rounds).reduce((sum, tally) => sum + Object.values(tally).reduce((a, b) => a + b, 0), 0)).toBe(spoken.length);
    expect(standing.status).toBe(outcome.decision.answer === null ? 'no_consensus' : 'consensus');
    expect(beliefs.get('r0')?.points.length).toBe(spoken.filter((record) => record.agent === 'r0').length);
  });
});

describe('speed', () => {
  it('runs many 5-agent, 3-round debates per second (printed, not asserted)', () => {
    const spec = parseDebateSpec({ question: categorical, agents: reasoners(5, { persuasionBias: 0.5, conformity: 0.3 }), rounds: 3 });
    for (let seed = 0; seed < 200; seed++) runDebate(spec, createRandom(seed)); // warm-up
    const count = 5_000;
    let correct = 0;
    const start = performance.now();
    for (let seed = 0; seed < count; seed++) if (runDebate(spec, createRandom(seed)).decision.correct) correct += 1;
    const seconds = (performance.now() - start) / 1000;
    console.log(`debate engine: ${Math.round(count / seconds)} debates/s (5 agents x 3 rounds, single thread)`);
    expect(correct).toBeGreaterThan(0);
  });
});
