import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { RunKernel, type PlannedEvent } from '../../src/core/sim/kernel.ts';
import { validateScenario, type AlertRule, type ServiceLevelObjective } from '../../src/core/sim/scenario.ts';
import { AlertEvaluator, classifyRequest, type SecondMetrics } from '../../src/core/sim/telemetry.ts';

const availability: ServiceLevelObjective = { kind: 'availability', name: 'requests', objective: 99, eventType: 'RequestCompleted', latencyBelowMs: 100 };
const second = (index: number, total: number, bad: number, events = total): SecondMetrics => ({ second: index, events, requests: { requests: { total, bad } } });

describe('alert rules', () => {
  it('fires a threshold only after it has held for `for`, and resolves at the first second it does not', () => {
    const rules: AlertRule[] = [{ kind: 'threshold', name: 'errors', metric: 'errorRate', above: 0.1, for: 3_000_000 }];
    const evaluator = new AlertEvaluator(rules, [availability]);
    const rates = [0, 0.2, 0.2, 0.05, 0.2, 0.2, 0.2, 0.3, 0.0];
    const transitions = rates.map((rate, index) => evaluator.observe(second(index, 100, Math.round(rate * 100))));
    expect(transitions.map((list) => list.map((item) => item.state).join())).toEqual(['', '', '', '', '', '', 'fired', '', 'resolved']);
    expect(transitions[6]?.[0]).toMatchObject({ rule: 'errors', atUs: 7_000_000, detail: 'errorRate 0.2 above 0.1 for 3 s' });
  });

  it('treats a second without requests as neither breach nor recovery', () => {
    const evaluator = new AlertEvaluator([{ kind: 'threshold', name: 'errors', metric: 'errorRate', above: 0.1, for: 0 }], [availability]);
    expect(evaluator.observe(second(0, 10, 5))[0]?.state).toBe('fired');
    expect(evaluator.observe(second(1, 0, 0))).toEqual([]);
    expect(evaluator.observe(second(2, 10, 0))[0]?.state).toBe('resolved');
  });

  it('computes burn rate over the window against the error budget', () => {
    const evaluator = new AlertEvaluator([{ kind: 'burnRate', name: 'burn', slo: 'requests', above: 10, window: 3_000_000 }], [availability]);
    // A 1% budget; the window sums three seconds.
    expect(evaluator.observe(second(0, 100, 5))).toEqual([]); // 5 / 100: 5x
    const fired = evaluator.observe(second(1, 100, 20))[0]; // 25 / 200: 12.5x
    expect(fired?.state).toBe('fired');
    expect(fired?.value).toBeCloseTo(12.5, 9);
    expect(evaluator.observe(second(2, 100, 20))).toEqual([]); // 45 / 300: 15x, still firing
    expect(evaluator.observe(second(3, 100, 0))).toEqual([]); // 40 / 300: 13.3x
    expect(evaluator.observe(second(4, 100, 0))[0]).toMatchObject({ state: 'resolved', kind: 'burn_rate' }); // 20 / 300 = 6.7x
  });

  it('classifies requests: ok false or too slow is bad, other types are not requests', () => {
    expect(classifyRequest(availability, 'RequestCompleted', { ok: true, latencyMs: 20 })).toBe('good');
    expect(classifyRequest(availability, 'RequestCompleted', { ok: false, latencyMs: 20 })).toBe('bad');
    expect(classifyRequest(availability, 'RequestCompleted', { ok: true, latencyMs: 100 })).toBe('bad');
    expect(classifyRequest(availability, 'RequestCompleted', { ok: true, latencyMs: 'timeout' })).toBe('bad');
    expect(classifyRequest(availability, 'OrderPlaced', { ok: false })).toBeUndefined();
  });
});

const scenarioText = `version: 1
name: alerting
seed: 3
duration: 20s
workload:
  - name: requests
    streams: { prefix: "api-", count: 2 }
    rate: { profile: spike, perSecond: 50, peak: 50, at: 0s, for: 1s }
    events:
      - type: RequestCompleted
        payload:
          latencyMs: { int: [1, 50] }
          ok: { chance: 0.97 }
slos:
  - { name: requests, kind: availability, objective: 99 }
alerts:
  - { name: burning, kind: burnRate, slo: requests, above: 2, window: 5s }
  - { name: slow, kind: threshold, metric: latency.p95, above: 10 }
`;

function runAll(kernel: RunKernel, chunk: number): PlannedEvent[] {
  const all: PlannedEvent[] = [];
  while (kernel.status !== 'completed') all.push(...kernel.advance(Number.POSITIVE_INFINITY, chunk));
  return all;
}

describe('alerts in the log', () => {
  const scenario = validateScenario(parse(scenarioText));

  it("logs alerts on the log's own metrics at second boundaries, however the run is chunked", () => {
    const reference = runAll(new RunKernel(scenario, 3), 10_000);
    const alerts = reference.filter((item) => item.stream === '$alerts');
    expect(alerts.length).toBeGreaterThan(0);
    for (const item of alerts) {
      expect(item.event.metadata.virtualTimeUs % 1_000_000).toBe(0);
      expect((item.event.payload as { rule: string }).rule).toBe('burning'); // latency rules never enter the log
    }
    for (const chunk of [1, 7, 333]) expect(canonicalJson(runAll(new RunKernel(scenario, 3), chunk))).toBe(canonicalJson(reference));
  });

  it('refuses a burn-rate rule on an unknown SLO and a threshold without a bound', () => {
    expect(() => validateScenario(parse(scenarioText.replace('slo: requests,', 'slo: nope,')))).toThrow(/invalid scenario/);
    try {
      validateScenario(parse(scenarioText.replace('slo: requests,', 'slo: nope,')));
    } catch (error) {
      expect((error as { issues: { message: string }[] }).issues[0]?.message).toBe('expected the name of an availability SLO (requests), got "nope"');
    }
    expect(() => validateScenario(parse(scenarioText.replace('above: 10 }', '}')))).toThrow(/invalid scenario/);
  });
});

describe('debates in a scenario', () => {
  const text = `version: 1
name: debating
seed: 5
duration: 30s
workload:
  - name: requests
    streams: { prefix: "api-", count: 2 }
    rate: { profile: constant, perSecond: 20 }
    events:
      - type: RequestCompleted
        payload: { latencyMs: { int: [1, 50] }, ok: { chance: 0.9 } }
debates:
  - name: triage
    every: 5s
    debate:
      question: { kind: categorical, options: [incident, noise], correct: incident }
      agents: [{ name: a, model: reasoner }, { name: b, model: reasoner }, { name: c, model: reasoner }]
  - name: review
    at: [12s, 3s]
    debate:
      question: { kind: numeric, truth: 10, tolerance: 1 }
      agents: [{ name: x, model: degroot }, { name: y, model: hegselmann-krause, params: { epsilon: 5 } }]
`;
  const scenario = validateScenario(parse(text));

  it('holds each debate at its moments, on its own stream, the same however the run is chunked', () => {
    const reference = runAll(new RunKernel(scenario, 5), 10_000);
    const started = reference.filter((item) => item.event.type === 'DebateStarted');
    expect(started.map((item) => [item.stream, item.event.metadata.virtualTimeUs])).toEqual([
      ['debate-review-1', 3_000_000],
      ['debate-triage-1', 5_000_000],
      ['debate-triage-2', 10_000_000],
      ['debate-review-2', 12_000_000],
      ['debate-triage-3', 15_000_000],
      ['debate-triage-4', 20_000_000],
      ['debate-triage-5', 25_000_000],
    ]);
    expect(reference.filter((item) => item.event.type === 'DebateDecided')).toHaveLength(7);
    for (const chunk of [1, 13, 500]) expect(canonicalJson(runAll(new RunKernel(scenario, 5), chunk))).toBe(canonicalJson(reference));
    // Each debate's events sit together, in virtual-time order with the workload.
    for (let index = 1; index < reference.length; index++) expect(reference[index]!.event.metadata.virtualTimeUs).toBeGreaterThanOrEqual(reference[index - 1]!.event.metadata.virtualTimeUs);
  });

  it('keeps the workload unchanged when debates are added (separate random streams)', () => {
    const without = validateScenario(parse(text.slice(0, text.indexOf('debates:'))));
    const requests = (events: PlannedEvent[]) => canonicalJson(events.filter((item) => item.event.type === 'RequestCompleted').map((item) => [item.stream, item.event.payload, item.event.metadata.virtualTimeUs]));
    expect(requests(runAll(new RunKernel(scenario, 5), 1_000))).toBe(requests(runAll(new RunKernel(without, 5), 1_000)));
  });

  it('refuses a schedule with both or neither of every and at', () => {
    expect(() => validateScenario(parse(text.replace('    every: 5s\n', '')))).toThrow(/invalid scenario/);
    expect(() => validateScenario(parse(text.replace('    at: [12s, 3s]\n', '    at: [12s, 3s]\n    every: 1s\n')))).toThrow(/invalid scenario/);
  });
});
