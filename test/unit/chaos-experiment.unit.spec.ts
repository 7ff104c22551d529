import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { chaosStream, checkExperimentAgainstScenario, formatSignedDurationUs, parseSignedDurationUs, runExperiment, validateExperiment, type Experiment, type ExperimentResult, type JournalEntry } from '../../src/core/chaos/experiment.ts';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { AuraError, type ErrorIssue } from '../../src/core/kernel/errors.ts';
import { faultWindows } from '../../src/core/projections/fault-windows.ts';
import type { RecordedEvent } from '../../src/core/events/event.ts';
import { RunKernel, type PlannedEvent } from '../../src/core/sim/kernel.ts';
import { validateScenario, type Scenario } from '../../src/core/sim/scenario.ts';
import { parseExperimentText, readExperimentFile } from '../../src/node/chaos-experiment.ts';
import { repoRoot, tinyScenarioText } from '../support/fixtures.ts';
import { join } from 'node:path';

/** orders: 20/s constant over order-0..2; payments: 7/s on payment-0; 60 virtual seconds. */
const scenario: Scenario = validateScenario(parse(tinyScenarioText({ seconds: 60 })));

function experiment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'Orders under a spike',
    scenario: 'tiny.yaml',
    steadyStateHypothesis: {
      title: 'Orders flow at about 20/s',
      probes: [{ name: 'orders-rate', metric: 'events_per_second', generator: 'orders', window: '2s', tolerance: { min: 15, max: 30 } }],
    },
    method: [{ at: '10s', name: 'spike', fault: { kind: 'load-spike', generator: 'orders', factor: 3, duration: '4s' } }],
    ...overrides,
  };
}

function issuesOf(run: () => unknown): ErrorIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof AuraError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a validation error');
}

function run(document: Record<string, unknown>, seed = 5): ExperimentResult {
  return runExperiment(validateExperiment(document), scenario, seed);
}

const probes = (result: ExperimentResult, phase: 'before' | 'method' | 'after', probe = 'orders-rate'): Extract<JournalEntry, { kind: 'probe' }>[] =>
  result.journal.run.filter((entry): entry is Extract<JournalEntry, { kind: 'probe' }> => entry.kind === 'probe' && entry.phase === phase && entry.probe === probe);

const chaosEvents = (result: ExperimentResult): PlannedEvent[] => result.events.filter((item) => item.stream === chaosStream);

describe('chaos experiment validation', () => {
  it('accepts a minimal experiment and fills the defaults', () => {
    const parsed = validateExperiment(experiment());
    expect(parsed.rollbacks).toEqual({ policy: 'always', actions: [{ kind: 'undo-all' }] });
    expect(parsed.method[0]?.at).toBe(10_000_000);
    expect(parsed.steadyStateHypothesis.probes[0]?.window).toBe(2_000_000);
  });

  it('names the path of every problem', () => {
    const issues = issuesOf(() =>
      validateExperiment(
        experiment({
          steadyStateHypothesis: {
            title: 't',
            probes: [
              { name: 'a', metric: 'latency_p99', window: '2s', tolerance: { max: 1 } },
              { name: 'b', metric: 'alerts_firing', window: 'soon', tolerance: {} },
              { name: 'c', metric: 'events_per_second_of_type', window: '1s', tolerance: { min: 1 } },
            ],
          },
          method: [{ at: '10s', fault: { kind: 'disk-full', generator: 'orders' } }, { at: '12s', fault: { kind: 'load-spike', generator: 'orders', factor: 0 } }],
          rollbacks: { policy: 'sometimes' },
        }),
      ),
    );
    const paths = issues.map((issue) => issue.path.join('.'));
    expect(paths).toContain('steadyStateHypothesis.probes.0.metric');
    expect(paths).toContain('steadyStateHypothesis.probes.1.window');
    expect(paths).toContain('steadyStateHypothesis.probes.1.tolerance');
    expect(paths).toContain('steadyStateHypothesis.probes.2.eventType');
    expect(paths).toContain('method.0.fault.kind');
    expect(paths).toContain('method.1.fault.factor');
    expect(paths).toContain('rollbacks.policy');
    expect(issues.find((issue) => issue.path.join('.') === 'method.0.fault.kind')?.message).toMatch(/expected one of load-spike, load-ramp, hot-stream, pause-generator, clock-skew, clock-jump, got "disk-full"/);
    expect(issues.find((issue) => issue.path.join('.') === 'steadyStateHypothesis.probes.1.tolerance')?.message).toBe('expected at least one of min or max');
  });

  it('checks names, the warm-up, the order of the method and the abort probe', () => {
    const issues = issuesOf(() =>
      validateExperiment(
        experiment({
          method: [
            { at: '1s', name: 'x', fault: { kind: 'pause-generator', generator: 'orders' } },
            { at: '20s', name: 'x', fault: { kind: 'pause-generator', generator: 'payments' } },
            { at: '15s', fault: { kind: 'load-ramp', generator: 'payments', factor: 2 } },
          ],
          abort: { probe: 'nope', failures: 2 },
          rollbacks: { policy: 'always', actions: [{ kind: 'undo', fault: 'y' }] },
        }),
      ),
    );
    expect(issues.map((issue) => [issue.path.join('.'), issue.message.split(':')[0]])).toEqual([
      ['method.0.at', 'expected at least the warm-up (2s)'],
      ['method.1.name', 'duplicate fault name "x"'],
      ['method.2.at', 'expected at or after method[1].at (20s)'],
      ['method.2.fault', 'expected over or duration (the ramp time)'],
      ['abort.probe', 'expected the name of a probe (orders-rate), got "nope"'],
      ['rollbacks.actions.0.fault', 'expected the name of a fault in the method (x, load-ramp-3), got "y"'],
    ]);
  });

  it('checks the experiment against its scenario', () => {
    const issues = issuesOf(() =>
      run(
        experiment({
          steadyStateHypothesis: { title: 't', probes: [{ name: 'p', metric: 'events_per_second_of_type', eventType: 'Nope', window: '2s', tolerance: { min: 0 } }] },
          method: [
            { at: '10s', fault: { kind: 'load-spike', generator: 'ghosts', factor: 2 } },
            { at: '10s', fault: { kind: 'hot-stream', generator: 'orders', share: 0.5, stream: 3 } },
            { at: '12s', fault: { kind: 'pause-generator', generator: 'orders', duration: '1s' } },
          ],
        }),
      ),
    );
    expect(issues.map((issue) => issue.path.join('.'))).toEqual(['steadyStateHypothesis.probes.0.eventType', 'method.0.fault.generator', 'method.1.fault.stream', 'method.2.at']);
    expect(issues[1]?.message).toMatch(/no generator named "ghosts" in scenario tiny \(generators: orders, payments\)/);
    expect(issues[3]?.message).toMatch(/overlaps method\[1\] on generator orders/);
  });

  it('needs room for the after-check before the run ends', () => {
    const issues = issuesOf(() => run(experiment({ duration: '15s' })));
    expect(issues).toEqual([{ path: ['duration'], message: 'the method ends at 14s and the after-check needs 2s more, but the run ends at 15s' }]);
  });

  it('locates errors in experiment files (file:line:column and field)', () => {
    const text = 'title: t\nscenario: tiny.yaml\nsteadyStateHypothesis:\n  title: t\n  probes:\n    - { name: p, metric: alerts_firing, window: 2s, tolerance: { max: 0 } }\nmethod:\n  - at: 10s\n    fault: { kind: melt, generator: orders }\n';
    const issues = issuesOf(() => parseExperimentText(text, 'x.yaml'));
    expect(issues).toEqual([expect.objectContaining({ path: ['method', 0, 'fault', 'kind'], file: 'x.yaml', line: 9, column: 20 })]);
  });

  it('loads the example experiment with its scenario from the scenarios directory', () => {
    const loaded = readExperimentFile(join(repoRoot, 'scenarios', 'chaos', 'load-spike.yaml'), { scenariosDir: join(repoRoot, 'scenarios') });
    expect(loaded.scenario.name).toBe('baseline');
    expect(loaded.experiment.method.map((step) => step.fault.kind)).toEqual(['load-spike', 'hot-stream']);
  });
});

describe('running a chaos experiment', () => {
  it('is deterministic: the same seed gives the same journal and events, ids included', () => {
    const document = experiment({ method: [{ at: '10s', fault: { kind: 'load-ramp', generator: 'orders', factor: 2, over: '4s', duration: '6s' } }, { at: '20s', fault: { kind: 'hot-stream', generator: 'orders', share: 0.6, stream: 1, duration: '5s' } }] });
    const a = run(document, 11);
    const b = run(document, 11);
    expect(canonicalJson(a.journal)).toBe(canonicalJson(b.journal));
    expect(canonicalJson(a.events)).toBe(canonicalJson(b.events));
    const other = run(document, 12);
    expect(canonicalJson(other.events)).not.toBe(canonicalJson(a.events));
    // How the kernel is chunked does not matter.
    const chunked = runExperiment(validateExperiment(document), scenario, 11, { batchEvents: 7 });
    expect(canonicalJson(chunked.events)).toBe(canonicalJson(a.events));
  });

  it('shows a load spike in the probe values and records it as operator actions and $chaos events', () => {
    const result = run(experiment());
    expect(result.journal.status).toBe('completed');
    expect(result.journal.steadyStateBefore).toEqual([expect.objectContaining({ probe: 'orders-rate', value: 20, ok: true })]);
    const during = probes(result, 'method').filter((entry) => entry.fromUs >= 10_000_000 && entry.toUs <= 14_000_000);
    expect(during.map((entry) => entry.value)).toEqual([60, 60]);
    expect(during.every((entry) => !entry.ok)).toBe(true);
    expect(result.journal.steadyStateAfter).toEqual([expect.objectContaining({ value: 20, ok: true })]);
    const changes = result.events.filter((item) => item.event.type === 'ParameterChanged');
    expect(changes.map((item) => [item.event.metadata.virtualTimeUs, (item.event.payload as { value: { perSecond: number } }).value.perSecond])).toEqual([
      [10_000_000, 60],
      [14_000_000, 20],
    ]);
    expect(result.actions.map((action) => action.action)).toEqual([
      { kind: 'set', path: 'workload.orders.rate', value: { profile: 'constant', perSecond: 60 } },
      { kind: 'set', path: 'workload.orders.rate', value: { profile: 'constant', perSecond: 20 } },
    ]);
    expect(chaosEvents(result).map((item) => [item.event.type, item.event.metadata.virtualTimeUs, (item.event.payload as { faultId: string }).faultId])).toEqual([
      ['FaultInjected', 10_000_000, 'spike'],
      ['FaultCleared', 14_000_000, 'spike'],
    ]);
    // The lab's fault-windows projection reads them as one closed window.
    let state = faultWindows.initial();
    result.events.forEach((item, index) => {
      state = faultWindows.apply(state, { ...item.event, stream: item.stream, position: index + 1, version: 1 } as RecordedEvent);
    });
    expect(state.windows).toEqual([{ faultId: 'spike', kind: 'load-spike', target: 'orders', startUs: 10_000_000, endUs: 14_000_000 }]);
  });

  it('pauses a generator and ramps one up in steps', () => {
    const result = run(experiment({
      steadyStateHypothesis: { title: 't', probes: [{ name: 'orders-rate', metric: 'events_per_second', generator: 'orders', window: '2s', tolerance: { min: 0 } }, { name: 'payments-rate', metric: 'events_per_second', generator: 'payments', window: '2s', tolerance: { min: 0 } }] },
      method: [
        { at: '10s', fault: { kind: 'pause-generator', generator: 'payments', duration: '4s' } },
        { at: '20s', fault: { kind: 'load-ramp', generator: 'orders', factor: 3, over: '4s', duration: '8s' } },
      ],
    }));
    expect(probes(result, 'method', 'payments-rate').filter((entry) => entry.fromUs >= 10_000_000 && entry.toUs <= 14_000_000).map((entry) => entry.value)).toEqual([0, 0]);
    const steps = result.journal.run.filter((entry): entry is Extract<JournalEntry, { kind: 'fault' }> => entry.kind === 'fault' && entry.phase === 'step');
    expect(steps.map((entry) => [entry.atUs, entry.factor])).toEqual([
      [21_000_000, 1.5],
      [22_000_000, 2],
      [23_000_000, 2.5],
      [24_000_000, 3],
    ]);
    const ramp = probes(result, 'method').filter((entry) => entry.fromUs >= 20_000_000 && entry.toUs <= 28_000_000).map((entry) => entry.value);
    expect(ramp[0]).toBeGreaterThan(20);
    expect(ramp[1]).toBeGreaterThan(ramp[0] as number);
    expect(ramp.slice(2)).toEqual([60, 60]);
  });

  it('routes a share of a generator to a hot stream, changing nothing but the stream', () => {
    const document = experiment({
      steadyStateHypothesis: { title: 't', probes: [{ name: 'orders-streams', metric: 'stream_count', generator: 'orders', window: '2s', tolerance: { min: 1 } }] },
      method: [{ at: '10s', fault: { kind: 'hot-stream', generator: 'orders', share: 1, stream: 2, duration: '4s' } }],
    });
    const result = run(document);
    expect(probes(result, 'method', 'orders-streams').filter((entry) => entry.fromUs >= 10_000_000 && entry.toUs <= 14_000_000).map((entry) => entry.value)).toEqual([1, 1]);
    expect(probes(result, 'before', 'orders-streams')[0]?.value).toBe(3);
    const inWindow = result.events.filter((item) => item.stream.startsWith('order-') && item.event.metadata.virtualTimeUs > 10_000_000 && item.event.metadata.virtualTimeUs <= 14_000_000);
    expect(inWindow.length).toBe(80);
    expect(new Set(inWindow.map((item) => item.stream))).toEqual(new Set(['order-2']));
    // The same events as the plain run (ids, types, payloads, times), only streams differ.
    const kernel = new RunKernel(scenario, 5);
    const plain = kernel.advance(Number.POSITIVE_INFINITY, 1_000_000);
    const strip = (items: PlannedEvent[]): string[] => items.filter((item) => !item.stream.startsWith('$')).map((item) => canonicalJson(item.event));
    expect(strip(result.events)).toEqual(strip(plain));
  });

  it('aborts after N consecutive failures, runs the rollbacks and checks the steady state after', () => {
    const result = run(experiment({ method: [{ at: '10s', name: 'spike', fault: { kind: 'load-spike', generator: 'orders', factor: 3, duration: '10s' } }], abort: { probe: 'orders-rate', failures: 2 } }));
    expect(result.journal.status).toBe('aborted');
    expect(result.journal.deviated).toBe(true);
    expect(result.journal.rollbacksRun).toBe(true);
    const afterMethod = result.journal.run.filter((entry) => entry.atUs >= 10_000_000 && entry.kind !== 'probe');
    expect(afterMethod.map((entry) => [entry.atUs, entry.kind])).toEqual([
      [10_000_000, 'fault'],
      [14_000_000, 'abort'],
      [14_000_000, 'rollback'],
    ]);
    expect(probes(result, 'method').map((entry) => entry.ok)).toEqual([true, true, true, true, false, false]);
    expect(result.journal.steadyStateAfter).toEqual([expect.objectContaining({ fromUs: 14_000_000, toUs: 16_000_000, value: 20, ok: true })]);
    expect(chaosEvents(result).map((item) => [item.event.type, (item.event.payload as { reason?: string }).reason ?? null])).toEqual([
      ['FaultInjected', null],
      ['FaultCleared', 'rollback'],
    ]);
  });

  it('follows the rollback policy: never, always, on-deviation', () => {
    const lasting = [{ at: '10s', name: 'spike', fault: { kind: 'load-spike', generator: 'orders', factor: 3 } }];
    const wide = { title: 't', probes: [{ name: 'orders-rate', metric: 'events_per_second', generator: 'orders', window: '2s', tolerance: { min: 15, max: 100 } }] };

    const never = run(experiment({ method: lasting, rollbacks: { policy: 'never' } }));
    expect(never.journal.status).toBe('deviated');
    expect(never.journal.rollbacksRun).toBe(false);
    expect(chaosEvents(never).map((item) => item.event.type)).toEqual(['FaultInjected']);
    const tail = never.events.filter((item) => item.stream.startsWith('order-') && item.event.metadata.virtualTimeUs >= 50_000_000);
    expect(tail.length).toBe(600); // still 60/s at the end of the run

    const always = run(experiment({ method: lasting, steadyStateHypothesis: wide, rollbacks: { policy: 'always' } }));
    expect(always.journal.status).toBe('completed');
    expect(always.journal.rollbacksRun).toBe(true);
    expect(always.journal.run.filter((entry) => entry.kind === 'rollback')).toEqual([expect.objectContaining({ atUs: 12_000_000, faultId: 'spike', action: { kind: 'undo-all' } })]);

    const held = run(experiment({ method: lasting, steadyStateHypothesis: wide, rollbacks: { policy: 'on-deviation' } }));
    expect(held.journal.status).toBe('completed');
    expect(held.journal.rollbacksRun).toBe(false);
    expect(chaosEvents(held).map((item) => item.event.type)).toEqual(['FaultInjected']);

    const deviated = run(experiment({ method: lasting, rollbacks: { policy: 'on-deviation', actions: [{ kind: 'set', path: 'workload.orders.rate.perSecond', value: 10 }] } }));
    expect(deviated.journal.status).toBe('deviated');
    expect(deviated.journal.rollbacksRun).toBe(true);
    expect(deviated.journal.run.filter((entry) => entry.kind === 'rollback')).toEqual([expect.objectContaining({ atUs: 12_000_000, actions: [{ path: 'workload.orders.rate.perSecond', value: 10 }] })]);
    expect(deviated.events.filter((item) => item.stream.startsWith('order-') && item.event.metadata.virtualTimeUs >= 50_000_000).length).toBe(100);
  });

  it('fails without running the method when the steady state does not hold first', () => {
    const strict = { title: 't', probes: [{ name: 'orders-rate', metric: 'events_per_second', generator: 'orders', window: '2s', tolerance: { min: 25 } }] };
    const result = run(experiment({ steadyStateHypothesis: strict }));
    expect(result.journal.status).toBe('failed');
    expect(result.journal.reason).toMatch(/orders-rate = 20/);
    expect(result.journal.run.every((entry) => entry.kind === 'probe' && entry.phase === 'before')).toBe(true);
    expect(chaosEvents(result)).toEqual([]);
    expect(result.events.at(-1)?.event.type).toBe('RunCompleted');
  });

  it('counts alerts firing and events of one type', () => {
    const alerting: Scenario = validateScenario({ ...parse(tinyScenarioText({ seconds: 30 })), alerts: [{ name: 'busy', kind: 'threshold', metric: 'events', above: 40, for: '1s' }] });
    const document: Experiment = validateExperiment(
      experiment({
        steadyStateHypothesis: {
          title: 't',
          probes: [
            { name: 'alerts', metric: 'alerts_firing', window: '2s', tolerance: { max: 0 } },
            { name: 'payments', metric: 'events_per_second_of_type', eventType: 'PaymentCaptured', window: '2s', tolerance: { min: 7, max: 7 } },
          ],
        },
      }),
    );
    const result = runExperiment(document, alerting, 5);
    expect(probes(result, 'method', 'alerts').map((entry) => entry.value)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(probes(result, 'method', 'payments').every((entry) => entry.value === 7)).toBe(true);
    expect(result.journal.status).toBe('completed');
    expect(result.journal.steadyStateAfter.map((entry) => entry.value)).toEqual([0, 7]);
  });
});

describe('time faults: clock-skew and clock-jump', () => {
  const clockProbes = {
    title: 'Stamps follow the run',
    probes: [
      { name: 'orders-clock', metric: 'clock_offset_ms', generator: 'orders', window: '2s', tolerance: { max: 100 } },
      { name: 'payments-clock', metric: 'clock_offset_ms', generator: 'payments', window: '2s', tolerance: { max: 100 } },
    ],
  };
  /** The same scenario and seed without faults: the kernel's own times of every event, by id. */
  const plainEvents = (seed = 5): PlannedEvent[] => new RunKernel(scenario, seed).advance(Number.POSITIVE_INFINITY, 1_000_000);
  const kernelTimes = (seed = 5): Map<string, number> => new Map(plainEvents(seed).map((item) => [item.event.id, item.event.metadata.virtualTimeUs]));
  const orders = (result: ExperimentResult): PlannedEvent[] => result.events.filter((item) => item.stream.startsWith('order-'));
  /** Each event's stamp minus the kernel's time of it, by the kernel's time. */
  const shifts = (items: PlannedEvent[], times: Map<string, number>): { kernelUs: number; shiftUs: number }[] =>
    items.map((item) => {
      const kernelUs = times.get(item.event.id) as number;
      return { kernelUs, shiftUs: item.event.metadata.virtualTimeUs - kernelUs };
    });
  const withoutStamp = (items: PlannedEvent[]): string[] => items.map((item) => canonicalJson({ stream: item.stream, event: { ...item.event, metadata: { ...item.event.metadata, virtualTimeUs: 0 } } }));
  const faultEntries = (result: ExperimentResult): Extract<JournalEntry, { kind: 'fault' | 'rollback' }>[] =>
    result.journal.run.filter((entry): entry is Extract<JournalEntry, { kind: 'fault' | 'rollback' }> => entry.kind === 'fault' || entry.kind === 'rollback');

  it('parses and prints signed durations', () => {
    expect(parseSignedDurationUs('-2s')).toBe(-2_000_000);
    expect(parseSignedDurationUs('+500ms')).toBe(500_000);
    expect(parseSignedDurationUs('1m30s')).toBe(90_000_000);
    expect(parseSignedDurationUs('0s')).toEqual({ error: expect.stringMatching(/not zero/) });
    expect(parseSignedDurationUs('--2s')).toEqual({ error: expect.stringMatching(/signed duration/) });
    expect(formatSignedDurationUs(-1_500_000)).toBe('-1500ms');
    expect(formatSignedDurationUs(90_000_000)).toBe('90s');
  });

  it('names the path of every problem: a jump without by, an offset that is not a duration, an unknown generator', () => {
    const issues = issuesOf(() =>
      validateExperiment(
        experiment({
          method: [
            { at: '10s', fault: { kind: 'clock-jump', generator: 'orders' } },
            { at: '11s', fault: { kind: 'clock-skew', generator: 'orders', offset: 'soon' } },
            { at: '12s', fault: { kind: 'clock-skew', generator: 'orders', offset: '0ms' } },
            { at: '13s', fault: { kind: 'clock-skew', generator: 'orders', offset: 500 } },
            { at: '14s', fault: { kind: 'clock-jump', generator: 'orders', by: '-25h' } },
          ],
        }),
      ),
    );
    expect(issues.map((issue) => issue.path.join('.'))).toEqual(['method.0.fault.by', 'method.1.fault.offset', 'method.2.fault.offset', 'method.3.fault.offset', 'method.4.fault.by']);
    expect(issues[1]?.message).toBe('expected a signed duration such as -2s, +500ms or 1m (not zero), got "soon"');
    expect(issues[2]?.message).toMatch(/not zero\), got "0ms"/);
    expect(issues[4]?.message).toBe('expected at most 24h either way, got -25h');

    const scenarioIssues = checkExperimentAgainstScenario(
      validateExperiment(
        experiment({
          steadyStateHypothesis: { title: 't', probes: [{ name: 'clock', metric: 'clock_offset_ms', generator: 'ghosts', window: '2s', tolerance: { max: 1 } }] },
          method: [
            { at: '10s', fault: { kind: 'clock-skew', generator: 'ghosts', offset: '1s' } },
            { at: '10s', fault: { kind: 'clock-skew', generator: 'orders', offset: '1s', duration: '4s' } },
            // A clock fault and a load fault on one generator are independent ...
            { at: '11s', fault: { kind: 'load-spike', generator: 'orders', factor: 2, duration: '1s' } },
            // ... two clock faults are not.
            { at: '12s', fault: { kind: 'clock-jump', generator: 'orders', by: '-1s' } },
          ],
        }),
      ),
      scenario,
    );
    expect(scenarioIssues.map((issue) => issue.path.join('.'))).toEqual(['steadyStateHypothesis.probes.0.generator', 'method.0.fault.generator', 'method.3.at']);
    expect(scenarioIssues[1]?.message).toMatch(/no generator named "ghosts" in scenario tiny \(generators: orders, payments\)/);
    expect(scenarioIssues[2]?.message).toBe('overlaps method[1] on generator orders (active until 14s); clock faults on one generator must not overlap');
  });

  it('stamps a skewed generator\'s events off by the offset while the skew lasts, and nothing else', () => {
    const document = experiment({ steadyStateHypothesis: clockProbes, method: [{ at: '10s', name: 'behind', fault: { kind: 'clock-skew', generator: 'orders', offset: '-2s', duration: '4s' } }] });
    const result = run(document);
    const times = kernelTimes();
    // Every orders event planned in (10s, 14s] is stamped 2 s early; every other one at the kernel's time.
    const ordered = shifts(orders(result), times);
    const during = ordered.filter((item) => item.kernelUs > 10_000_000 && item.kernelUs <= 14_000_000);
    expect(during).toHaveLength(80);
    expect(during.every((item) => item.shiftUs === -2_000_000)).toBe(true);
    expect(ordered.filter((item) => item.kernelUs <= 10_000_000 || item.kernelUs > 14_000_000).every((item) => item.shiftUs === 0)).toBe(true);
    // The payments generator, $run and $alerts keep the kernel's timeline; ids, types, payloads and streams do not change.
    const others = result.events.filter((item) => !item.stream.startsWith('order-') && item.stream !== chaosStream);
    expect(canonicalJson(others)).toBe(canonicalJson(plainEvents().filter((item) => !item.stream.startsWith('order-'))));
    expect(withoutStamp(result.events.filter((item) => item.stream !== chaosStream))).toEqual(withoutStamp(plainEvents()));
    // The probe sees it: 2000 ms in the windows of the skew, 0 before and after, and never on payments.
    expect(probes(result, 'before', 'orders-clock')[0]?.value).toBe(0);
    expect(probes(result, 'method', 'orders-clock').map((entry) => [entry.toUs, entry.value, entry.ok])).toEqual([
      [4_000_000, 0, true],
      [6_000_000, 0, true],
      [8_000_000, 0, true],
      [10_000_000, 0, true],
      [12_000_000, 2000, false],
      [14_000_000, 2000, false],
    ]);
    expect(probes(result, 'method', 'payments-clock').every((entry) => entry.value === 0)).toBe(true);
    expect(result.journal.steadyStateAfter.map((entry) => entry.value)).toEqual([0, 0]);
    expect(result.journal.status).toBe('completed');
    // Recorded like every fault: $chaos events, drawn by the fault-windows projection; no operator action.
    expect(result.actions).toEqual([]);
    expect(chaosEvents(result).map((item) => [item.event.type, item.event.metadata.virtualTimeUs, (item.event.payload as { kind: string }).kind])).toEqual([
      ['FaultInjected', 10_000_000, 'clock-skew'],
      ['FaultCleared', 14_000_000, 'clock-skew'],
    ]);
    let state = faultWindows.initial();
    result.events.forEach((item, index) => {
      state = faultWindows.apply(state, { ...item.event, stream: item.stream, position: index + 1, version: 1 } as RecordedEvent);
    });
    expect(state.windows).toEqual([{ faultId: 'behind', kind: 'clock-skew', target: 'orders', startUs: 10_000_000, endUs: 14_000_000 }]);
    expect(faultEntries(result).map((entry) => [entry.atUs, entry.kind, 'phase' in entry ? entry.phase : null, 'fault' in entry ? entry.fault : null, entry.clampedEvents])).toEqual([
      [10_000_000, 'fault', 'start', { kind: 'clock-skew', generator: 'orders', offset: '-2s', duration: '4s' }, undefined],
      [14_000_000, 'fault', 'end', { kind: 'clock-skew', generator: 'orders', offset: '-2s', duration: '4s' }, 0],
    ]);
  });

  it('ends a skew at the rollbacks: the hypothesis after the method deviates, the stamps come back', () => {
    const result = run(experiment({ steadyStateHypothesis: clockProbes, method: [{ at: '10s', name: 'ahead', fault: { kind: 'clock-skew', generator: 'orders', offset: '750ms' } }] }));
    expect(result.journal.status).toBe('deviated');
    expect(result.journal.steadyStateAfter).toEqual([expect.objectContaining({ probe: 'orders-clock', fromUs: 10_000_000, toUs: 12_000_000, value: 750, ok: false }), expect.objectContaining({ probe: 'payments-clock', value: 0, ok: true })]);
    expect(result.journal.run.filter((entry) => entry.kind === 'rollback')).toEqual([{ atUs: 12_000_000, kind: 'rollback', action: { kind: 'undo-all' }, faultId: 'ahead', actions: [], clampedEvents: 0 }]);
    const ordered = shifts(orders(result), kernelTimes());
    expect(ordered.filter((item) => item.kernelUs > 10_000_000 && item.kernelUs <= 12_000_000).map((item) => item.shiftUs)).toEqual(Array.from({ length: 40 }, () => 750_000));
    expect(ordered.filter((item) => item.kernelUs <= 10_000_000 || item.kernelUs > 12_000_000).every((item) => item.shiftUs === 0)).toBe(true);
    expect(chaosEvents(result).map((item) => [item.event.type, item.event.metadata.virtualTimeUs, (item.event.payload as { reason?: string }).reason ?? null])).toEqual([
      ['FaultInjected', 10_000_000, null],
      ['FaultCleared', 12_000_000, 'rollback'],
    ]);
  });

  it('keeps a jump until a rollback undoes it (or to the end of the run without one)', () => {
    const jump = [{ at: '10s', name: 'leap', fault: { kind: 'clock-jump', generator: 'payments', by: '+30s' } }];
    const wide = { title: 't', probes: [{ name: 'payments-clock', metric: 'clock_offset_ms', generator: 'payments', window: '2s', tolerance: { max: 60_000 } }] };
    const payments = (result: ExperimentResult): { kernelUs: number; shiftUs: number }[] => shifts(result.events.filter((item) => item.stream.startsWith('payment-')), kernelTimes());

    // Held (the hypothesis tolerates it, rollbacks only on deviation): stepped to the end of the run.
    const held = run(experiment({ steadyStateHypothesis: wide, method: jump, rollbacks: { policy: 'on-deviation' } }));
    expect(held.journal.rollbacksRun).toBe(false);
    expect(payments(held).filter((item) => item.kernelUs > 10_000_000).every((item) => item.shiftUs === 30_000_000)).toBe(true);
    expect(payments(held).filter((item) => item.kernelUs > 10_000_000)).toHaveLength(349); // 7/s in (10s, 60s)
    expect(chaosEvents(held).map((item) => item.event.type)).toEqual(['FaultInjected']);

    // An undo of that fault ends it at the rollbacks (the after-check, 12s).
    const undone = run(experiment({ steadyStateHypothesis: wide, method: jump, rollbacks: { policy: 'always', actions: [{ kind: 'undo', fault: 'leap' }] } }));
    expect(undone.journal.status).toBe('completed');
    expect(payments(undone).filter((item) => item.shiftUs !== 0).map((item) => item.kernelUs)).toEqual(payments(undone).filter((item) => item.kernelUs > 10_000_000 && item.kernelUs <= 12_000_000).map((item) => item.kernelUs));
    expect(payments(undone).filter((item) => item.shiftUs !== 0)).toHaveLength(14);
    expect(chaosEvents(undone).map((item) => [item.event.type, item.event.metadata.virtualTimeUs])).toEqual([
      ['FaultInjected', 10_000_000],
      ['FaultCleared', 12_000_000],
    ]);

    // A duration ends it by itself.
    const brief = run(experiment({ steadyStateHypothesis: wide, method: [{ at: '10s', fault: { kind: 'clock-jump', generator: 'payments', by: '-3s', duration: '1s' } }] }));
    expect(payments(brief).filter((item) => item.shiftUs !== 0).every((item) => item.shiftUs === -3_000_000 && item.kernelUs > 10_000_000 && item.kernelUs <= 11_000_000)).toBe(true);
    expect(payments(brief).filter((item) => item.shiftUs !== 0)).toHaveLength(7);
  });

  it('never stamps below 0: it clamps, and the journal and the $chaos events say so', () => {
    const result = run(experiment({ steadyStateHypothesis: clockProbes, method: [{ at: '10s', name: 'far-behind', fault: { kind: 'clock-skew', generator: 'orders', offset: '-20s', duration: '15s' } }] }));
    const times = kernelTimes();
    expect(result.events.every((item) => item.event.metadata.virtualTimeUs >= 0)).toBe(true);
    const during = orders(result).filter((item) => (times.get(item.event.id) as number) > 10_000_000 && (times.get(item.event.id) as number) <= 25_000_000);
    const clamped = during.filter((item) => (times.get(item.event.id) as number) < 20_000_000);
    expect(clamped).toHaveLength(199);
    expect(clamped.every((item) => item.event.metadata.virtualTimeUs === 0)).toBe(true);
    expect(during.filter((item) => (times.get(item.event.id) as number) >= 20_000_000).every((item) => item.event.metadata.virtualTimeUs === (times.get(item.event.id) as number) - 20_000_000)).toBe(true);
    const [start, end] = faultEntries(result);
    expect(start).toEqual(expect.objectContaining({ phase: 'start', clampedBeforeUs: 20_000_000 }));
    expect(end).toEqual(expect.objectContaining({ phase: 'end', clampedEvents: 199 }));
    expect(chaosEvents(result).map((item) => item.event.payload)).toEqual([
      expect.objectContaining({ faultId: 'far-behind', clampedBeforeUs: 20_000_000 }),
      expect.objectContaining({ faultId: 'far-behind', reason: 'expired', clampedEvents: 199 }),
    ]);
    // The probe measures the stamps as written: a clamped stamp (0) is as far off as the kernel's time of it.
    expect(probes(result, 'method', 'orders-clock').filter((entry) => entry.fromUs >= 10_000_000).map((entry) => entry.value)).toEqual([12_000, 14_000, 16_000, 18_000, 20_000, 20_000, 20_000]);
    // A skew that cannot reach below 0 says nothing about clamping.
    const mild = run(experiment({ steadyStateHypothesis: clockProbes, method: [{ at: '10s', fault: { kind: 'clock-skew', generator: 'orders', offset: '-2s', duration: '1s' } }] }));
    expect(faultEntries(mild)[0]).not.toHaveProperty('clampedBeforeUs');
  });

  it('is deterministic, chunking aside, and combines with a hot stream on the same generator without changing its draws', () => {
    const hot = { at: '10s', fault: { kind: 'hot-stream', generator: 'orders', share: 0.5, stream: 2, duration: '6s' } };
    const both = experiment({ steadyStateHypothesis: clockProbes, method: [hot, { at: '12s', fault: { kind: 'clock-skew', generator: 'orders', offset: '+1s', duration: '2s' } }, { at: '14s', fault: { kind: 'clock-jump', generator: 'payments', by: '-1s' } }] });
    const a = run(both, 3);
    const b = run(both, 3);
    expect(canonicalJson(a.journal)).toBe(canonicalJson(b.journal));
    expect(canonicalJson(a.events)).toBe(canonicalJson(b.events));
    expect(canonicalJson(runExperiment(validateExperiment(both), scenario, 3, { batchEvents: 7 }).events)).toBe(canonicalJson(a.events));
    expect(canonicalJson(run(both, 4).events)).not.toBe(canonicalJson(a.events));
    // The same streams as the hot stream alone: the clock changes stamps only.
    const hotOnly = run(experiment({ steadyStateHypothesis: clockProbes, method: [hot] }), 3);
    const streams = (result: ExperimentResult): string[] => result.events.filter((item) => !item.stream.startsWith('$')).map((item) => `${item.event.id} ${item.stream}`);
    expect(streams(a)).toEqual(streams(hotOnly));
    const skewed = shifts(orders(a), kernelTimes(3)).filter((item) => item.shiftUs !== 0);
    expect(skewed.length).toBe(40);
    expect(skewed.every((item) => item.shiftUs === 1_000_000 && item.kernelUs > 12_000_000 && item.kernelUs <= 14_000_000)).toBe(true);
  });

  it('runs the example: the hypothesis notices the skew and the experiment deviates', () => {
    const loaded = readExperimentFile(join(repoRoot, 'scenarios', 'chaos', 'clock-skew.yaml'), { scenariosDir: join(repoRoot, 'scenarios') });
    expect(loaded.scenario.name).toBe('baseline');
    expect(loaded.experiment.method.map((step) => step.fault.kind)).toEqual(['clock-skew', 'clock-jump']);
    const result = runExperiment(loaded.experiment, loaded.scenario);
    expect(result.journal.status).toBe('deviated');
    expect(result.journal.steadyStateBefore.every((entry) => entry.ok)).toBe(true);
    expect(result.journal.steadyStateAfter.map((entry) => [entry.probe, entry.value, entry.ok])).toEqual([
      ['orders-clock', 2000, false],
      ['requests-clock', 0, true],
      ['orders-rate', expect.any(Number), true],
    ]);
    expect(result.journal.run.filter((entry) => entry.kind === 'probe' && entry.phase === 'method' && entry.probe === 'requests-clock').map((entry) => (entry as { value: number }).value)).toEqual([0, 0, 0, 30_000]);
    expect(result.journal.rollbacksRun).toBe(true);
  });
});
