import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportChaosToolkit, importChaosToolkit } from '../../src/core/chaos/chaostoolkit.ts';
import { experimentToDocument, validateExperiment, type Experiment } from '../../src/core/chaos/experiment.ts';
import { parseExperimentText } from '../../src/node/chaos-experiment.ts';
import { repoRoot } from '../support/fixtures.ts';

const example = parseExperimentText(readFileSync(join(repoRoot, 'scenarios', 'chaos', 'load-spike.yaml'), 'utf8'), 'load-spike.yaml');
const clockExample = parseExperimentText(readFileSync(join(repoRoot, 'scenarios', 'chaos', 'clock-skew.yaml'), 'utf8'), 'clock-skew.yaml');

/** Every fault kind, one-sided tolerances, no description, a warm-up, custom rollbacks. */
const everything: Experiment = validateExperiment({
  title: 'Everything at once',
  scenario: 'hello.yaml',
  seed: 9,
  duration: '90s',
  warmup: '5s',
  steadyStateHypothesis: {
    title: 'All is well',
    probes: [
      { name: 'rate', metric: 'events_per_second', window: '2500ms', tolerance: { min: 0.5 } },
      { name: 'orders', metric: 'events_per_second', generator: 'orders', window: '5s', tolerance: { min: 10, max: 100.25 } },
      { name: 'shipped', metric: 'events_per_second_of_type', eventType: 'OrderShipped', window: '5s', tolerance: { max: 40 } },
      { name: 'alerts', metric: 'alerts_firing', window: '1s', tolerance: { min: 0, max: 0 } },
      { name: 'streams', metric: 'stream_count', generator: 'payments', window: '5s', tolerance: { min: 1 } },
      { name: 'clock', metric: 'clock_offset_ms', generator: 'orders', window: '5s', tolerance: { max: 250.5 } },
    ],
  },
  method: [
    { at: '5s', fault: { kind: 'load-spike', generator: 'orders', factor: 2.5, duration: '3.5s' } },
    { at: '12s', name: 'ramp', fault: { kind: 'load-ramp', generator: 'payments', factor: 0.5, over: '4s', duration: '10s' } },
    { at: '12s', fault: { kind: 'hot-stream', generator: 'orders', share: 0.25, stream: 3, duration: '2s' } },
    { at: '30s', name: 'quiet', fault: { kind: 'pause-generator', generator: 'orders' } },
    { at: '31s', name: 'late-clock', fault: { kind: 'clock-skew', generator: 'payments', offset: '-1500ms', duration: '5s' } },
    { at: '40s', fault: { kind: 'clock-jump', generator: 'orders', by: '+2m' } },
  ],
  rollbacks: { policy: 'on-deviation', actions: [{ kind: 'undo', fault: 'quiet' }, { kind: 'set', path: 'workload.payments.rate.perSecond', value: 15 }, { kind: 'undo-all' }] },
  abort: { probe: 'orders', failures: 4 },
});

interface CtkActivity {
  type: string;
  name: string;
  tolerance?: unknown;
  pauses?: { before?: number };
  provider: { type: string; path: string; arguments: string[] };
}
interface Ctk {
  version: string;
  title: string;
  description: unknown;
  extensions: unknown[];
  'steady-state-hypothesis': { probes: CtkActivity[] };
  method: CtkActivity[];
  rollbacks: CtkActivity[];
}

describe('Chaos Toolkit export', () => {
  it('writes a Chaos Toolkit experiment: ranges, process providers, pauses, rollbacks', () => {
    const ctk = exportChaosToolkit(everything) as unknown as Ctk;
    expect(ctk.version).toBe('1.0.0');
    expect(ctk.title).toBe('Everything at once');
    expect(typeof ctk.description).toBe('string');
    const probes = ctk['steady-state-hypothesis'].probes;
    expect(probes[1]).toEqual({
      type: 'probe',
      name: 'orders',
      tolerance: [10, 100.25],
      provider: { type: 'process', path: 'aura-lab', arguments: ['probe', '--metric', 'events_per_second', '--window', '5s', '--generator', 'orders'] },
    });
    expect(probes[0]?.tolerance).toEqual([0.5, Number.MAX_VALUE]);
    expect(probes[2]?.tolerance).toEqual([-Number.MAX_VALUE, 40]);
    expect(ctk.method.map((action) => [action.type, action.name, action.pauses?.before])).toEqual([
      ['action', 'load-spike-1', 5],
      ['action', 'ramp', 7],
      ['action', 'hot-stream-3', undefined],
      ['action', 'quiet', 18],
      ['action', 'late-clock', 1],
      ['action', 'clock-jump-6', 9],
    ]);
    expect(ctk.method[1]?.provider.arguments).toEqual(['fault', '--kind', 'load-ramp', '--generator', 'payments', '--factor', '0.5', '--over', '4s', '--duration', '10s', '--name', 'ramp']);
    expect(ctk.method[4]?.provider.arguments).toEqual(['fault', '--kind', 'clock-skew', '--generator', 'payments', '--offset', '-1500ms', '--duration', '5s', '--name', 'late-clock']);
    expect(ctk.method[5]?.provider.arguments).toEqual(['fault', '--kind', 'clock-jump', '--generator', 'orders', '--by', '2m']);
    expect(probes[5]?.provider.arguments).toEqual(['probe', '--metric', 'clock_offset_ms', '--window', '5s', '--generator', 'orders']);
    expect(ctk.rollbacks.map((action) => action.provider.arguments)).toEqual([
      ['rollback', '--undo', 'quiet'],
      ['rollback', '--set', 'workload.payments.rate.perSecond=15'],
      ['rollback', '--undo-all'],
    ]);
    expect(ctk.extensions).toEqual([{ name: 'aura-lab', formatVersion: 1, scenario: 'hello.yaml', seed: 9, duration: '90s', warmup: '5s', rollbackPolicy: 'on-deviation', abort: { probe: 'orders', failures: 4 }, generatedDescription: true }]);
    // Plain JSON: nothing is lost by serialising it.
    expect(JSON.parse(JSON.stringify(ctk))).toEqual(ctk);
  });

  it('round-trips exactly through import, for the example and for every field', () => {
    for (const experiment of [example, clockExample, everything]) {
      const back = importChaosToolkit(JSON.parse(JSON.stringify(exportChaosToolkit(experiment))));
      expect(back.unmapped).toEqual([]);
      expect(back.issues).toEqual([]);
      expect(back.experiment).toEqual(experiment);
      expect(validateExperiment(back.document)).toEqual(experiment);
      expect(back.document).toEqual(experimentToDocument(experiment));
    }
  });
});

describe('Chaos Toolkit import', () => {
  it('maps clock faults, with signed durations, and names a jump without --by or a bad offset', () => {
    const fault = (args: string[]): unknown => ({ type: 'action', name: args[1], provider: { type: 'process', path: 'aura-lab', arguments: ['fault', ...args] } });
    const document = (method: unknown[]): unknown => ({
      title: 't',
      extensions: [{ name: 'aura-lab', scenario: 'baseline.yaml' }],
      'steady-state-hypothesis': { title: 'h', probes: [{ type: 'probe', name: 'clock', tolerance: [0, 100], provider: { type: 'process', path: 'aura-lab', arguments: ['probe', '--metric', 'clock_offset_ms', '--window', '2s'] } }] },
      method,
    });
    const good = importChaosToolkit(document([{ ...(fault(['--kind', 'clock-skew', '--generator', 'orders', '--offset', '+500ms']) as object), pauses: { before: 10 } }, fault(['--kind', 'clock-jump', '--generator', 'requests', '--by', '-3s', '--duration', '4s'])]));
    expect(good.unmapped).toEqual([]);
    expect(good.issues).toEqual([]);
    expect(good.experiment?.method.map((step) => [step.at, step.name, step.fault])).toEqual([
      [10_000_000, 'clock-skew', { kind: 'clock-skew', generator: 'orders', offset: 500_000 }],
      [10_000_000, 'clock-jump', { kind: 'clock-jump', generator: 'requests', by: -3_000_000, duration: 4_000_000 }],
    ]);
    const bad = importChaosToolkit(document([{ ...(fault(['--kind', 'clock-jump', '--generator', 'orders']) as object), pauses: { before: 10 } }, fault(['--kind', 'clock-skew', '--generator', 'orders', '--offset', '2'])]));
    expect(bad.experiment).toBeUndefined();
    expect(bad.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['method.0.fault.by', expect.any(String)],
      ['method.1.fault.offset', 'expected a signed duration such as -2s, +500ms or 1m (not zero), got "2"'],
    ]);
  });

  const sample: unknown = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'chaos', 'ctk-partly-mappable.json'), 'utf8'));

  it('names everything that does not map by JSON pointer', () => {
    const result = importChaosToolkit(sample);
    expect(result.unmapped.map((item) => item.path)).toEqual([
      '/configuration/api_url',
      '/configuration/namespace',
      '/secrets/k8s',
      '/controls/0',
      '/extensions/1',
      '/tags/1',
      '/steady-state-hypothesis/probes/0/provider/arguments/7',
      '/steady-state-hypothesis/probes/1/provider',
      '/steady-state-hypothesis/probes/2/tolerance',
      '/method/1/provider',
      '/method/2/background',
      '/method/3/type',
      '/rollbacks/1/provider',
    ]);
    const reason = (path: string): string => result.unmapped.find((item) => item.path === path)?.reason ?? '';
    expect(reason('/steady-state-hypothesis/probes/1/provider')).toMatch(/python provider \(chaosk8s\.probes\.all_pods_healthy\)/);
    expect(reason('/method/1/provider')).toMatch(/http provider/);
    expect(reason('/steady-state-hypothesis/probes/2/tolerance')).toMatch(/regex tolerance does not map.*left out/);
    expect(reason('/steady-state-hypothesis/probes/0/provider/arguments/7')).toBe('unknown argument --percentile of aura-lab probe');
  });

  it('maps what maps: probes, tolerances, pauses onto moments, rollbacks and the extension', () => {
    const result = importChaosToolkit(sample);
    expect(result.issues).toEqual([]);
    expect(result.experiment).toBeDefined();
    const experiment = result.experiment as Experiment;
    expect(experiment.scenario).toBe('baseline.yaml');
    expect(experiment.seed).toBe(3);
    expect(experiment.duration).toBe(120_000_000);
    expect(experiment.steadyStateHypothesis.probes.map((probe) => [probe.name, probe.metric, probe.tolerance])).toEqual([
      ['orders-rate', 'events_per_second', { min: 100, max: 600 }],
      ['no-alerts', 'alerts_firing', { max: 0 }],
    ]);
    // before 30 -> 30s; the http action's pause still passes (35s); before 10 -> 45s.
    expect(experiment.method.map((step) => [step.at, step.name, step.fault.kind])).toEqual([
      [30_000_000, 'orders-spike', 'load-spike'],
      [45_000_000, 'pause-orders', 'pause-generator'],
    ]);
    expect(experiment.rollbacks).toEqual({ policy: 'on-deviation', actions: [{ kind: 'undo-all' }] });
  });

  it('maps number, boolean and range tolerances and reports the others', () => {
    const probe = (tolerance: unknown): unknown => ({
      type: 'probe',
      name: 'p',
      tolerance,
      provider: { type: 'process', path: 'aura-lab', arguments: ['probe', '--metric', 'alerts_firing', '--window', '1s'] },
    });
    const result = importChaosToolkit({
      title: 't',
      description: 'd',
      extensions: [{ name: 'aura-lab', scenario: 'hello.yaml' }],
      'steady-state-hypothesis': { title: 'h', probes: [probe(3), probe(true), probe({ type: 'range', range: [1, 2] }), probe({ type: 'jsonpath', path: '$.x' }), probe({ type: 'range', range: [0, 1], target: 'stdout' }), probe('ok')] },
      method: [],
    });
    const probes = (result.document.steadyStateHypothesis as { probes: { tolerance: unknown }[] }).probes;
    expect(probes.map((item) => item.tolerance)).toEqual([{ min: 3, max: 3 }, { min: 1 }, { min: 1, max: 2 }]);
    expect(result.unmapped.map((item) => item.path)).toEqual(['/steady-state-hypothesis/probes/3/tolerance', '/steady-state-hypothesis/probes/4/tolerance', '/steady-state-hypothesis/probes/5/tolerance']);
  });

  it('reports a document without our extension or method as incomplete, and never throws on junk', () => {
    const result = importChaosToolkit({ title: 'Live only', description: 'd', method: [{ type: 'action', name: 'a', provider: { type: 'python', module: 'm', func: 'f' } }], runtime: { hypothesis: { strategy: 'continuously' } } });
    expect(result.experiment).toBeUndefined();
    expect(result.unmapped.map((item) => item.path)).toEqual(['/runtime', '', '/method/0/provider']);
    expect(result.issues.map((issue) => issue.path.join('.'))).toEqual(expect.arrayContaining(['scenario', 'steadyStateHypothesis', 'method']));
    expect(importChaosToolkit([1, 2]).unmapped).toEqual([{ path: '', reason: 'expected a Chaos Toolkit experiment (a JSON object)' }]);
  });
});
