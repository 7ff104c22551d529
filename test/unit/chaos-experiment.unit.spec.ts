import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { chaosStream, runExperiment, validateExperiment, type Experiment, type ExperimentResult, type JournalEntry } from '../../src/core/chaos/experiment.ts';
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
    expect(issues.find((issue) => issue.path.join('.') === 'method.0.fault.kind')?.message).toMatch(/expected one of load-spike, load-ramp, hot-stream, pause-generator, got "disk-full"/);
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
