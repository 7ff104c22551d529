/**
 * A run's telemetry as it goes: per virtual second, the events appended, the requests of each
 * availability SLO, and the append-to-projected latency of that second's events (from the
 * projection daemon's commits); alerts, both those the kernel logged (rules on the log's own
 * metrics) and those evaluated here on latency, once a second's events are all projected.
 */
import type { PlannedEvent } from '../core/sim/kernel.ts';
import { LatencyHistogram } from '../core/kernel/histogram.ts';
import type { AlertRule, ServiceLevelObjective } from '../core/sim/scenario.ts';
import { AlertEvaluator, alertEventTypes, classifyRequest, isLatencyRule } from '../core/sim/telemetry.ts';
import type { StoredTelemetry, TelemetryAlertRow } from '../node/telemetry-store.ts';
import type { ResultOf } from '../shared/api.ts';

interface Second {
  events: number;
  requests: Record<string, { total: number; bad: number }>;
  latency: LatencyHistogram;
}

type AvailabilitySlo = Extract<ServiceLevelObjective, { kind: 'availability' }>;

export class TelemetryRecorder {
  private readonly seconds: Second[] = [];
  private readonly overall = new LatencyHistogram();
  /** Where each virtual second starts in the log: [first position, second], increasing. */
  private readonly starts: [number, number][] = [];
  private readonly availability: AvailabilitySlo[];
  private readonly latencyAlerts: AlertEvaluator;
  private evaluatedSeconds = 0;
  private readonly alerts: { rule: string; kind: 'threshold' | 'burn_rate'; firedAtUs: number; resolvedAtUs: number | null; detail: string; logged: boolean }[] = [];
  private position = 0;

  constructor(
    private readonly slos: readonly ServiceLevelObjective[],
    rules: readonly AlertRule[],
  ) {
    this.availability = slos.filter((slo): slo is AvailabilitySlo => slo.kind === 'availability');
    this.latencyAlerts = new AlertEvaluator(rules.filter(isLatencyRule), slos);
  }

  /** Events as they are appended, in position order. */
  appended(planned: readonly PlannedEvent[]): void {
    for (const { event } of planned) {
      this.position += 1;
      const second = Math.floor(event.metadata.virtualTimeUs / 1_000_000);
      const last = this.starts.at(-1);
      if (last === undefined || second > last[1]) this.starts.push([this.position, second]);
      const row = this.row(second);
      row.events += 1;
      for (const slo of this.availability) {
        const verdict = classifyRequest(slo, event.type, event.payload);
        if (verdict === undefined) continue;
        const count = (row.requests[slo.name] ??= { total: 0, bad: 0 });
        count.total += 1;
        if (verdict === 'bad') count.bad += 1;
      }
      if (event.type === alertEventTypes.fired || event.type === alertEventTypes.resolved) this.logAlert(event.type, event.payload as Record<string, unknown>, event.metadata.virtualTimeUs, true);
    }
  }

  /** Positions (after, to] were projected `latencyMs` after they were committed. */
  projected(after: number, to: number, latencyMs: number): void {
    this.overall.record(latencyMs, to - after);
    let from = after;
    for (let index = Math.max(0, this.indexOf(after + 1)); from < to && index < this.starts.length; index++) {
      const next = this.starts[index + 1];
      const end = next === undefined ? to : Math.min(to, next[0] - 1);
      if (end > from) this.row((this.starts[index] as [number, number])[1]).latency.record(latencyMs, end - from);
      from = Math.max(from, end);
    }
  }

  /**
   * Evaluates the latency rules for every closed second whose events every live projection has
   * passed (`projectedThrough`): its latency samples are then complete.
   */
  settle(projectedThrough: number, finished: boolean): void {
    for (;;) {
      const second = this.evaluatedSeconds;
      const nextStart = this.starts[this.firstStartAfter(second)];
      const closed = finished ? second < this.seconds.length : nextStart !== undefined;
      if (!closed || (nextStart !== undefined && nextStart[0] - 1 > projectedThrough)) return;
      const row = this.row(second);
      for (const transition of this.latencyAlerts.observe({ second, events: row.events, requests: row.requests, latency: row.latency.summary() })) {
        this.logAlert(transition.state === 'fired' ? alertEventTypes.fired : alertEventTypes.resolved, { rule: transition.rule, kind: transition.kind, detail: transition.detail }, transition.atUs, false);
      }
      this.evaluatedSeconds += 1;
    }
  }

  /** Leading seconds whose latency is final. */
  get finalSeconds(): number {
    return this.evaluatedSeconds;
  }

  stored(): StoredTelemetry {
    const percentiles: Record<string, number> = {};
    for (const slo of this.slos) if (slo.kind === 'latency') percentiles[String(slo.percentile ?? 95)] = this.overall.percentileMs((slo.percentile ?? 95) / 100);
    return {
      seconds: this.seconds.map((row, second) => ({ second, events: row.events, requests: row.requests, latency: row.latency.summary() })),
      alerts: this.alerts.map((alert) => ({ ...alert }) satisfies TelemetryAlertRow),
      overall: { summary: this.overall.summary(), percentiles },
    };
  }

  private logAlert(type: string, payload: Record<string, unknown>, atUs: number, logged: boolean): void {
    const rule = String(payload.rule);
    if (type === alertEventTypes.fired) {
      this.alerts.push({ rule, kind: payload.kind === 'burn_rate' ? 'burn_rate' : 'threshold', firedAtUs: atUs, resolvedAtUs: null, detail: String(payload.detail), logged });
      return;
    }
    const open = [...this.alerts].reverse().find((alert) => alert.rule === rule && alert.resolvedAtUs === null);
    if (open !== undefined) open.resolvedAtUs = atUs;
  }

  private row(second: number): Second {
    while (this.seconds.length <= second) this.seconds.push({ events: 0, requests: {}, latency: new LatencyHistogram() });
    return this.seconds[second] as Second;
  }

  /** Index in `starts` of the first second after `second` (starts.length if none). */
  private firstStartAfter(second: number): number {
    let low = 0;
    let high = this.starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.starts[middle] as [number, number])[1] > second) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Index in `starts` of the second holding `position` (-1 before the first). */
  private indexOf(position: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.starts[middle] as [number, number])[0] <= position) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }
}

/** The API's view of a run's telemetry, from what was recorded (live) or stored (finished). */
export function telemetryView(runId: string, telemetry: StoredTelemetry, slos: readonly ServiceLevelObjective[], fromSecond: number, finalSeconds = telemetry.seconds.length): ResultOf<'telemetry.get'> {
  const first = slos.find((slo): slo is AvailabilitySlo => slo.kind === 'availability');
  const totals = new Map<string, { total: number; bad: number }>();
  for (const row of telemetry.seconds) {
    for (const [name, count] of Object.entries(row.requests)) {
      const total = totals.get(name) ?? { total: 0, bad: 0 };
      total.total += count.total;
      total.bad += count.bad;
      totals.set(name, total);
    }
  }
  return {
    runId,
    seconds: telemetry.seconds
      .filter((row) => row.second >= fromSecond)
      .map((row) => {
        const requests = first === undefined ? undefined : row.requests[first.name];
        return {
          second: row.second,
          events: row.events,
          latency: row.latency,
          requests: requests?.total ?? 0,
          failedRequests: requests?.bad ?? 0,
          availability: requests === undefined || requests.total === 0 ? null : (requests.total - requests.bad) / requests.total,
        };
      }),
    finalSeconds,
    latency: telemetry.overall.summary,
    slos: slos.map((slo) => {
      if (slo.kind === 'latency') {
        const percentile = slo.percentile ?? 95;
        const value = telemetry.overall.summary.count === 0 ? null : (telemetry.overall.percentiles[String(percentile)] ?? null);
        return { name: slo.name, kind: 'latency' as const, objective: `p${percentile} < ${slo.belowMs} ms`, value, met: value === null ? null : value < slo.belowMs, budgetLeft: null };
      }
      const total = totals.get(slo.name) ?? { total: 0, bad: 0 };
      const value = total.total === 0 ? null : ((total.total - total.bad) / total.total) * 100;
      const budget = 1 - slo.objective / 100;
      return {
        name: slo.name,
        kind: 'availability' as const,
        objective: `${slo.objective}% of ${slo.eventType ?? 'RequestCompleted'} good`,
        value,
        met: value === null ? null : value >= slo.objective,
        budgetLeft: total.total === 0 ? null : 1 - total.bad / total.total / budget,
      };
    }),
    alerts: telemetry.alerts.map((alert) => ({ ...alert })),
  };
}
