import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { faultCatalogue, faultInfo, selectTargets } from '../../src/core/chaos/catalogue.ts';
import { checkAcknowledged, checkAvailability, checkChain, checkDebateSafety, checkNoDuplicates, checkProjections, combineChecks } from '../../src/core/chaos/checkers.ts';
import { scoreDrill, validateDrill } from '../../src/core/chaos/drill.ts';
import { debateUnderPartition } from '../../src/core/chaos/split-brain.ts';
import { parseDebateSpec } from '../../src/core/debate/spec.ts';
import { AuraError, formatPath } from '../../src/core/kernel/errors.ts';
import { createRandom } from '../../src/core/kernel/random.ts';
import { repoRoot } from '../support/fixtures.ts';

const names = ['a', 'b', 'c', 'd', 'e'];

describe('fault catalogue and blast radius', () => {
  it('lists every fault once, by layer, and names unknown kinds', () => {
    expect(new Set(faultCatalogue.map((fault) => fault.kind)).size).toBe(faultCatalogue.length);
    expect(new Set(faultCatalogue.map((fault) => fault.layer))).toEqual(new Set(['engine', 'storage', 'network', 'agents', 'load', 'time']));
    for (const fault of faultCatalogue) expect(fault.usedBy.length, fault.kind).toBeGreaterThan(0);
    expect(faultInfo('engine-kill').recovery).toBe('restart-engine');
    expect(() => faultInfo('meteor')).toThrow(/unknown fault kind "meteor"/);
  });

  it('selects one, a minority, a majority, a percentage or named targets, the same for the same seed', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const pick = (radius: Parameters<typeof selectTargets>[0]) => selectTargets(radius, names, createRandom(seed));
      expect(pick({ select: 'one' })).toHaveLength(1);
      expect(pick({ select: 'minority' })).toHaveLength(2);
      expect(pick({ select: 'majority' })).toHaveLength(3);
      expect(pick({ select: 'all' })).toEqual(names);
      expect(pick({ select: 'percent', percent: 40 })).toHaveLength(2);
      expect(pick({ select: 'percent', percent: 1 })).toHaveLength(1);
      expect(pick({ select: 'minority' })).toEqual(pick({ select: 'minority' }));
      for (const chosen of pick({ select: 'majority' })) expect(names).toContain(chosen);
    }
    // Different seeds strike different targets (not always the first ones).
    const firsts = new Set(Array.from({ length: 20 }, (_, seed) => selectTargets({ select: 'one' }, names, createRandom(seed))[0]));
    expect(firsts.size).toBeGreaterThan(2);
    expect(selectTargets({ select: 'named', names: ['e', 'b'] }, names, createRandom(1))).toEqual(['b', 'e']);
    expect(() => selectTargets({ select: 'named', names: ['z'] }, names, createRandom(1))).toThrow(/no target named "z"/);
    expect(() => selectTargets({ select: 'percent', percent: 0 }, names, createRandom(1))).toThrow(/\(0, 100\]/);
    expect(selectTargets({ select: 'minority' }, ['solo'], createRandom(1))).toEqual(['solo']);
  });
});

describe('checkers', () => {
  const log = new Map([
    [1, { hash: 'h1', lost: false }],
    [2, { hash: 'h2', lost: false }],
    [3, { hash: 'h3', lost: true }],
  ]);
  it('finds lost, unnamed, and altered acknowledged appends', () => {
    const result = checkAcknowledged(
      [{ position: 1, hash: 'h1' }, { position: 2, hash: 'other' }, { position: 3 }, { position: 4 }],
      (position) => log.get(position),
    );
    expect(result.ok).toBe(false);
    expect(result.checked).toBe(4);
    expect(result.anomalies.map((anomaly) => `${anomaly.class}:${anomaly.positions?.[0]}`)).toEqual(['altered-acknowledged:2', 'lost-acknowledged:3', 'unnamed-loss:4']);
    expect(checkAcknowledged([{ position: 4 }], (position) => log.get(position), new Set([4])).anomalies[0]?.class).toBe('lost-acknowledged');
    expect(checkAcknowledged([{ position: 1, hash: 'h1' }], (position) => log.get(position)).ok).toBe(true);
  });

  it('classifies chain and stream-version problems, projections, duplicates, safety and availability', () => {
    const [chain, versions] = checkChain(10, [
      { position: 4, kind: 'chain', detail: 'bad link' },
      { position: 6, kind: 'stream_version', detail: 'gap' },
      { position: 7, kind: 'lost', detail: 'tombstone' },
    ]);
    expect(chain?.anomalies.map((anomaly) => anomaly.positions)).toEqual([[4]]);
    expect(versions?.anomalies.map((anomaly) => anomaly.class)).toEqual(['stream-version-gap']);
    expect(checkProjections([{ name: 'p', shard: 0, checkpoint: 9, stored: { b: 1, a: 2 }, replayed: { a: 2, b: 1 } }]).ok).toBe(true);
    expect(checkProjections([{ name: 'p', shard: 0, checkpoint: 9, stored: { a: 1 }, replayed: { a: 2 } }]).anomalies[0]?.class).toBe('projection-divergence');
    expect(checkNoDuplicates([{ position: 1, id: 'x' }, { position: 2, id: 'y' }, { position: 3, id: 'x' }]).anomalies[0]?.positions).toEqual([1, 3]);
    expect(checkDebateSafety([{ debateId: 'd', sideSize: 2, agents: 5, decided: true }]).anomalies[0]?.class).toBe('minority-decided');
    expect(checkDebateSafety([{ debateId: 'd', sideSize: 3, agents: 5, decided: true }, { debateId: 'e', sideSize: 2, agents: 4, decided: false }]).ok).toBe(true);
    const availability = checkAvailability([{ startMs: 0, endMs: 900, up: true }, { startMs: 900, endMs: 1000, up: false }], 0.95);
    expect(availability.availability).toBeCloseTo(0.9);
    expect(availability.anomalies[0]?.class).toBe('availability-breach');
    const report = combineChecks([chain!, versions!, availability]);
    expect(report.ok).toBe(false);
    expect(report.anomalyTotal).toBe(3);
    expect(report.anomalies['broken-chain']?.count).toBe(1);
  });
});

describe('the debate safety invariant under a partition', () => {
  const spec = parseDebateSpec({
    debateId: 'split',
    question: { kind: 'categorical', options: ['yes', 'no'], correct: 'yes' },
    protocol: 'simultaneous',
    rounds: 3,
    aggregation: { kind: 'plurality' },
    agents: names.map((name) => ({ name, model: 'reasoner', params: { competence: 0.8, persuasionBias: 0.3 } })),
  });
  it('never lets a minority side decide, over many seeds, and the majority can', () => {
    let majorityDecided = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const random = createRandom(seed);
      const minority = selectTargets({ select: 'minority' }, names, random.split('who'));
      const outcome = debateUnderPartition(spec, [names.filter((name) => !minority.includes(name)), minority], random.split('debate'));
      expect(checkDebateSafety(outcome.decisions).ok, `seed ${seed}`).toBe(true);
      expect(outcome.sides[1]?.decided, `seed ${seed}`).toBe(false);
      if (outcome.sides[0]?.decided === true) majorityDecided += 1;
      expect(outcome.healed.answer).not.toBeNull();
    }
    expect(majorityDecided).toBeGreaterThan(50);
  });
});

describe('drills', () => {
  const drillsDir = join(repoRoot, 'scenarios', 'drills');
  it('ships the four seed drills, each valid, with the seed target and a stricter lab one', () => {
    const files = readdirSync(drillsDir).filter((name) => name.endsWith('.yaml'));
    const drills = files.map((name) => validateDrill(parse(readFileSync(join(drillsDir, name), 'utf8'))));
    expect(drills.map((drill) => drill.kind).sort()).toEqual(['complete-failure', 'database-corruption', 'network-partition', 'performance-degradation']);
    for (const drill of drills) {
      for (const target of drill.targets) if (target.seed !== undefined) expect(target.lab, `${drill.drill} ${target.metric}`).toBeLessThanOrEqual(target.seed);
    }
    const recovery = (kind: string) => drills.find((drill) => drill.kind === kind)?.targets.find((target) => target.metric === 'recoveryMs' || target.metric === 'convergeMs');
    expect(recovery('complete-failure')).toMatchObject({ seed: 15 * 60_000, lab: 2_000 });
    expect(recovery('database-corruption')).toMatchObject({ seed: 30 * 60_000, lab: 5_000 });
    expect(recovery('network-partition')).toMatchObject({ seed: 2 * 60_000, lab: 1_000 });
  });

  it('rejects a bad drill with the path of each problem', () => {
    const issues = (document: unknown): string[] => {
      try {
        validateDrill(document);
      } catch (error) {
        if (error instanceof AuraError) return error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
        throw error;
      }
      return [];
    };
    const good = { version: 1, drill: 'x', kind: 'complete-failure', title: 'X', description: '', targets: [{ metric: 'recoveryMs', lab: '2s' }], runbook: ['restart-engine'] };
    expect(issues(good)).toEqual([]);
    expect(issues({ ...good, kind: 'meteor' })[0]).toMatch(/^kind: /);
    expect(issues({ ...good, targets: [{ metric: 'speed', lab: 1 }] })[0]).toMatch(/^targets\[0\]\.metric: unknown metric "speed"/);
    expect(issues({ ...good, targets: [{ metric: 'recoveryMs', lab: 'soon' }] })[0]).toMatch(/^targets\[0\]\.lab: /);
    expect(issues({ ...good, runbook: ['pray'] })[0]).toMatch(/^runbook\[0\]: /);
    expect(issues({ ...good, targets: [{ metric: 'recoveryMs', lab: 1 }, { metric: 'recoveryMs', lab: 2 }] })[0]).toMatch(/^targets\[1\]\.metric: duplicate target/);
  });

  it('scores: full weight for a lab target met, half for the seed only, and passes only when every lab target is met', () => {
    const drill = validateDrill({
      version: 1,
      drill: 'x',
      kind: 'complete-failure',
      title: 'X',
      description: '',
      targets: [
        { metric: 'recoveryMs', seed: '15m', lab: '2s', weight: 50 },
        { metric: 'lostAcknowledged', lab: 0, weight: 30 },
        { metric: 'availability', lab: 0.9, weight: 20 },
      ],
      runbook: ['restart-engine'],
    });
    const perfect = scoreDrill(drill, { recoveryMs: 1_200, lostAcknowledged: 0, availability: 0.95 }, 1, 'auto');
    expect(perfect).toMatchObject({ passed: true, score: 100 });
    const slow = scoreDrill(drill, { recoveryMs: 60_000, lostAcknowledged: 0, availability: 0.95 }, 1, 'trainer');
    expect(slow).toMatchObject({ passed: false, score: 75, mode: 'trainer' });
    expect(slow.targets[0]).toMatchObject({ metLab: false, metSeed: true });
    const missing = scoreDrill(drill, { lostAcknowledged: 3 }, 1, 'auto');
    expect(missing.score).toBe(0);
    expect(missing.targets[0]?.value).toBeNull();
  });
});
