/**
 * Telemetry per virtual second, SLOs and alert rules, pure. The same evaluator runs in two
 * places: in the kernel, over metrics computed from the log itself (events, requests, errors,
 * availability, burn rates), where its alerts are events in the log and replay exactly; and in
 * the host, over append-to-projected latency (wall-clock telemetry), where its alerts are kept
 * with the telemetry and never enter the log.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import type { HistogramSummary } from '../kernel/histogram.ts';
import type { AlertRule, ServiceLevelObjective } from './scenario.ts';

export const alertMetrics = ['events', 'requests', 'failedRequests', 'errorRate', 'availability', 'latency.p50', 'latency.p95', 'latency.p99', 'latency.max'] as const;
export type AlertMetric = (typeof alertMetrics)[number];

/** Metrics that need wall-clock latency: evaluated outside the log. */
export function isLatencyRule(rule: AlertRule): boolean {
  return rule.kind === 'threshold' && rule.metric.startsWith('latency.');
}

export const alertEventTypes = { fired: 'AlertFired', resolved: 'AlertResolved' } as const;

export interface SecondMetrics {
  readonly second: number;
  readonly events: number;
  /** Per availability SLO (by name): requests and bad ones in this second. */
  readonly requests: Readonly<Record<string, { readonly total: number; readonly bad: number }>>;
  readonly latency?: HistogramSummary;
}

export interface AlertTransition {
  readonly rule: string;
  readonly kind: 'threshold' | 'burn_rate';
  readonly state: 'fired' | 'resolved';
  /** Virtual time of the transition: the end of the second that decided it. */
  readonly atUs: number;
  readonly detail: string;
  readonly value: number;
}

type AvailabilitySlo = Extract<ServiceLevelObjective, { kind: 'availability' }>;

/** Whether an event is a request of this SLO, and whether it was bad. */
export function classifyRequest(slo: AvailabilitySlo, type: string, payload: JsonValue): 'good' | 'bad' | undefined {
  if (type !== (slo.eventType ?? 'RequestCompleted')) return undefined;
  const fields: Readonly<Record<string, JsonValue>> = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Readonly<Record<string, JsonValue>>) : {};
  if (fields.ok === false) return 'bad';
  if (slo.latencyBelowMs !== undefined) {
    const latency = fields.latencyMs;
    if (typeof latency !== 'number' || latency >= slo.latencyBelowMs) return 'bad';
  }
  return 'good';
}

/** Counts requests per availability SLO, one virtual second at a time. */
export class RequestCounter {
  private readonly slos: AvailabilitySlo[];
  private counts: Record<string, { total: number; bad: number }> = {};

  constructor(slos: readonly ServiceLevelObjective[]) {
    this.slos = slos.filter((slo): slo is AvailabilitySlo => slo.kind === 'availability');
    this.reset();
  }

  get active(): boolean {
    return this.slos.length > 0;
  }

  observe(type: string, payload: JsonValue): void {
    for (const slo of this.slos) {
      const verdict = classifyRequest(slo, type, payload);
      if (verdict === undefined) continue;
      const count = this.counts[slo.name] as { total: number; bad: number };
      count.total += 1;
      if (verdict === 'bad') count.bad += 1;
    }
  }

  /** This second's counts; starts the next second. */
  take(): Record<string, { total: number; bad: number }> {
    const taken = this.counts;
    this.reset();
    return taken;
  }

  private reset(): void {
    this.counts = Object.fromEntries(this.slos.map((slo) => [slo.name, { total: 0, bad: 0 }]));
  }
}

/** The first availability SLO's counts stand for "requests" in threshold rules. */
function requestTotals(metrics: SecondMetrics, slos: readonly ServiceLevelObjective[]): { total: number; bad: number } {
  const first = slos.find((slo) => slo.kind === 'availability');
  return (first === undefined ? undefined : metrics.requests[first.name]) ?? { total: 0, bad: 0 };
}

export function metricValue(metric: AlertMetric, metrics: SecondMetrics, slos: readonly ServiceLevelObjective[]): number | undefined {
  const requests = requestTotals(metrics, slos);
  switch (metric) {
    case 'events':
      return metrics.events;
    case 'requests':
      return requests.total;
    case 'failedRequests':
      return requests.bad;
    case 'errorRate':
      return requests.total === 0 ? undefined : requests.bad / requests.total;
    case 'availability':
      return requests.total === 0 ? undefined : (requests.total - requests.bad) / requests.total;
    case 'latency.p50':
      return metrics.latency?.count ? metrics.latency.p50Ms : undefined;
    case 'latency.p95':
      return metrics.latency?.count ? metrics.latency.p95Ms : undefined;
    case 'latency.p99':
      return metrics.latency?.count ? metrics.latency.p99Ms : undefined;
    case 'latency.max':
      return metrics.latency?.count ? metrics.latency.maxMs : undefined;
  }
}

interface RuleState {
  firing: boolean;
  breachSeconds: number;
  window: { total: number; bad: number }[];
}

/**
 * Evaluates alert rules one closed virtual second at a time. A threshold fires once its metric
 * has been past the threshold for `for` (whole seconds, at least one) and resolves at the first
 * second it is not; a second without a value (no requests, no latency samples) neither breaches
 * nor clears. A burn rate fires while the SLO's error rate over the window, divided by its error
 * budget (1 - objective), is above the rule's factor.
 */
export class AlertEvaluator {
  private readonly states = new Map<string, RuleState>();

  constructor(
    private readonly rules: readonly AlertRule[],
    private readonly slos: readonly ServiceLevelObjective[],
  ) {
    for (const rule of rules) this.states.set(rule.name, { firing: false, breachSeconds: 0, window: [] });
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  observe(metrics: SecondMetrics): AlertTransition[] {
    const transitions: AlertTransition[] = [];
    const atUs = (metrics.second + 1) * 1_000_000;
    for (const rule of this.rules) {
      const state = this.states.get(rule.name) as RuleState;
      if (rule.kind === 'threshold') {
        const value = metricValue(rule.metric as AlertMetric, metrics, this.slos);
        if (value === undefined) continue;
        const breach = rule.above !== undefined ? value > rule.above : value < (rule.below as number);
        const threshold = rule.above !== undefined ? `above ${rule.above}` : `below ${rule.below as number}`;
        state.breachSeconds = breach ? state.breachSeconds + 1 : 0;
        const needed = Math.max(1, Math.ceil((rule.for ?? 0) / 1_000_000));
        if (!state.firing && state.breachSeconds >= needed) {
          state.firing = true;
          transitions.push({ rule: rule.name, kind: 'threshold', state: 'fired', atUs, value, detail: `${rule.metric} ${round(value)} ${threshold} for ${needed} s` });
        } else if (state.firing && !breach) {
          state.firing = false;
          transitions.push({ rule: rule.name, kind: 'threshold', state: 'resolved', atUs, value, detail: `${rule.metric} ${round(value)} no longer ${threshold}` });
        }
      } else {
        const slo = this.slos.find((item) => item.name === rule.slo);
        if (slo?.kind !== 'availability') continue;
        state.window.push(metrics.requests[slo.name] ?? { total: 0, bad: 0 });
        const seconds = Math.max(1, Math.ceil(rule.window / 1_000_000));
        if (state.window.length > seconds) state.window.shift();
        const total = state.window.reduce((sum, item) => sum + item.total, 0);
        if (total === 0) continue;
        const bad = state.window.reduce((sum, item) => sum + item.bad, 0);
        const burn = bad / total / (1 - slo.objective / 100);
        if (!state.firing && burn > rule.above) {
          state.firing = true;
          transitions.push({ rule: rule.name, kind: 'burn_rate', state: 'fired', atUs, value: burn, detail: `${slo.name} burns its error budget ${round(burn)}x over ${seconds} s (above ${rule.above}x)` });
        } else if (state.firing && burn <= rule.above) {
          state.firing = false;
          transitions.push({ rule: rule.name, kind: 'burn_rate', state: 'resolved', atUs, value: burn, detail: `${slo.name} burn rate ${round(burn)}x, at most ${rule.above}x` });
        }
      }
    }
    return transitions;
  }

  /** State for state hashes at checkpoints. */
  fingerprint(): JsonValue {
    return [...this.states].map(([name, state]) => [name, state.firing, state.breachSeconds, state.window.map((item) => [item.total, item.bad])]);
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
