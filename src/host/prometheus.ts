/**
 * The Prometheus text exposition (format 0.0.4) of the engine's runs: served at /metrics in
 * browser mode, so an existing Prometheus or Grafana can watch a lab session.
 */
import type { ProjectionHealth } from '../node/projection-daemon.ts';
import type { ResultOf, RunSummary } from '../shared/api.ts';

export interface RunMetricsInput {
  readonly summary: RunSummary;
  readonly projections: readonly ProjectionHealth[];
  readonly telemetry: ResultOf<'telemetry.get'>;
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([key, value]) => `${key}="${label(value)}"`)
    .join(',')}}`;
}

export function prometheusText(runs: readonly RunMetricsInput[]): string {
  const families = new Map<string, { help: string; type: string; samples: string[] }>();
  /** A sample of family `name` (`suffix` for a summary's `_count`). */
  const sample = (name: string, type: string, help: string, pairs: Record<string, string>, value: number, suffix = ''): void => {
    let family = families.get(name);
    if (family === undefined) {
      family = { help, type, samples: [] };
      families.set(name, family);
    }
    family.samples.push(`${name}${suffix}${labels(pairs)} ${Number.isFinite(value) ? value : 'NaN'}`);
  };
  for (const { summary, projections, telemetry } of runs) {
    const run = { run: summary.runId, scenario: summary.scenario };
    sample('aura_run_events_total', 'counter', 'Events appended to the run\'s log.', run, summary.events);
    sample('aura_run_virtual_time_seconds', 'gauge', 'Virtual time the run has reached.', run, summary.virtualTimeUs / 1e6);
    sample('aura_run_running', 'gauge', '1 while the run is generating, 0 once it has ended.', run, summary.status === 'running' ? 1 : 0);
    sample('aura_run_paused', 'gauge', '1 while the operator has the run paused.', run, summary.paused ? 1 : 0);
    for (const [quantile, value] of [
      ['0.5', telemetry.latency.p50Ms],
      ['0.95', telemetry.latency.p95Ms],
      ['0.99', telemetry.latency.p99Ms],
    ] as const) {
      sample('aura_append_to_projected_latency_seconds', 'summary', 'Time from an event\'s commit to the commit of a projection state that includes it.', { ...run, quantile }, value / 1000);
    }
    sample('aura_append_to_projected_latency_seconds', 'summary', '', run, telemetry.latency.count, '_count');
    for (const projection of projections) {
      const pairs = { ...run, projection: projection.name };
      sample('aura_projection_lag_events', 'gauge', 'Events appended but not yet projected.', pairs, projection.lagEvents);
      sample('aura_projection_lag_seconds', 'gauge', 'Age of the oldest event not yet projected.', pairs, projection.lagMs / 1000);
      sample('aura_projection_parked_events', 'gauge', 'Events a projection threw on, parked with their error.', pairs, projection.parked);
      sample('aura_projection_stalls_total', 'counter', 'Times a projection was seen stalled.', pairs, projection.stalls);
    }
    for (const slo of telemetry.slos) {
      const pairs = { ...run, slo: slo.name, kind: slo.kind };
      if (slo.value !== null) sample('aura_slo_value', 'gauge', 'An SLO\'s measured value: latency in ms at its percentile, or availability in percent.', pairs, slo.value);
      if (slo.met !== null) sample('aura_slo_met', 'gauge', '1 while the SLO is met.', pairs, slo.met ? 1 : 0);
      if (slo.budgetLeft !== null) sample('aura_slo_error_budget_remaining_ratio', 'gauge', 'Error budget left: 1 untouched, 0 spent.', pairs, slo.budgetLeft);
    }
    const firing = new Map<string, number>();
    for (const alert of telemetry.alerts) firing.set(alert.rule, (firing.get(alert.rule) ?? 0) + (alert.resolvedAtUs === null ? 1 : 0));
    for (const [rule, count] of firing) sample('aura_alert_firing', 'gauge', '1 while an alert rule is firing.', { ...run, rule }, count > 0 ? 1 : 0);
  }
  const lines: string[] = [];
  for (const [name, family] of families) lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`, ...family.samples);
  return `${lines.join('\n')}\n`;
}
