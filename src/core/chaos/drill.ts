/**
 * Drills: the seed's four disaster-recovery drills as scored, timed scenarios. A drill file
 * (scenarios/drills/*.yaml) names its runner, the seed's target and the lab's far stricter
 * one for each measured figure, weights for the score, the runbook a trainee may use and the
 * hints a trainer may give. The scorecard is a pure function of the measurements.
 */
import { AuraError } from '../kernel/errors.ts';
import { fail, parseWith, s, type Infer } from '../kernel/schema.ts';
import { parseDurationUs } from '../sim/duration.ts';

export const drillKinds = ['complete-failure', 'database-corruption', 'network-partition', 'performance-degradation'] as const;
export type DrillKind = (typeof drillKinds)[number];

/** Figures a drill measures; `<=` targets are ceilings, `>=` floors. */
export const drillMetrics = {
  recoveryMs: { unit: 'ms', comparison: '<=', label: 'recovery time' },
  timeToDetectMs: { unit: 'ms', comparison: '<=', label: 'time to detect' },
  timeToRecoverMs: { unit: 'ms', comparison: '<=', label: 'time to recover' },
  convergeMs: { unit: 'ms', comparison: '<=', label: 'converged after heal' },
  p95Ms: { unit: 'ms', comparison: '<=', label: 'p95 latency' },
  lostAcknowledged: { unit: 'events', comparison: '<=', label: 'acknowledged events lost' },
  unnamedLoss: { unit: 'events', comparison: '<=', label: 'losses nobody named' },
  anomalies: { unit: 'anomalies', comparison: '<=', label: 'checker anomalies' },
  availability: { unit: 'ratio', comparison: '>=', label: 'availability' },
  throughputPerSecond: { unit: 'events/s', comparison: '>=', label: 'throughput' },
} as const;
export type DrillMetric = keyof typeof drillMetrics;

export const runbookActions = ['restart-engine', 'restore-backup', 'repair-log', 'rebuild-projection', 'heal-partition', 'shed-load', 'acknowledge-alert'] as const;
export type RunbookAction = (typeof runbookActions)[number];

const metricName = s.transform(s.string({ description: `one of ${Object.keys(drillMetrics).join(', ')}` }), (text) =>
  text in drillMetrics ? (text as DrillMetric) : fail(`unknown metric ${JSON.stringify(text)} (metrics: ${Object.keys(drillMetrics).join(', ')})`),
);

/** A target value: a number, or a duration such as "2s" or "15m" (read as milliseconds). */
const targetValue = s.transform(s.either(s.number({ min: 0 }), s.string({ maxLength: 32 }), 'a number or a duration such as 2s'), (value) => {
  if (typeof value === 'number') return value;
  const parsed = parseDurationUs(value, true);
  return typeof parsed === 'number' ? parsed / 1000 : fail(parsed.error);
});

const duration = s.transform(s.string({ description: 'a duration such as 500ms or 2s' }), (text) => {
  const parsed = parseDurationUs(text, true);
  return typeof parsed === 'number' ? parsed / 1000 : fail(parsed.error);
});

const drillSchema = s.object({
  version: s.literal(1),
  drill: s.string({ minLength: 1, maxLength: 64, pattern: /^[a-z0-9][a-z0-9-]*$/, patternHint: 'a slug' }),
  kind: s.oneOf(drillKinds),
  title: s.string({ minLength: 1, maxLength: 120 }),
  description: s.string({ maxLength: 2000 }),
  seed: s.optional(s.number({ integer: true, min: 0, max: 4294967295 }), 1),
  /** Runner parameters (validated by the runner, with paths under params). */
  params: s.optional(s.record(s.unknown(), { keyPattern: /^[a-zA-Z][a-zA-Z0-9]*$/, keyHint: 'a camelCase name', maxKeys: 32 }), {}),
  targets: s.array(
    s.object({
      metric: metricName,
      /** The seed document's target, where it gave one. */
      seed: s.optional(targetValue),
      lab: targetValue,
      weight: s.optional(s.number({ min: 0, max: 100 }), 10),
    }),
    { min: 1, max: 16 },
  ),
  runbook: s.array(s.oneOf(runbookActions), { min: 1, max: 8 }),
  hints: s.optional(s.array(s.object({ after: duration, text: s.string({ minLength: 1, maxLength: 500 }) }), { max: 16 }), []),
});

export type DrillDefinition = Infer<typeof drillSchema>;

export function validateDrill(document: unknown): DrillDefinition {
  const parsed = parseWith(drillSchema, document);
  if (!parsed.ok) throw new AuraError('validation', 'invalid drill', parsed.issues);
  const seen = new Set<string>();
  parsed.value.targets.forEach((target, index) => {
    if (seen.has(target.metric)) throw new AuraError('validation', 'invalid drill', [{ path: ['targets', index, 'metric'], message: `duplicate target for ${target.metric}` }]);
    seen.add(target.metric);
  });
  return parsed.value;
}

export type Measurements = Partial<Record<DrillMetric, number>>;

export interface TargetResult {
  readonly metric: DrillMetric;
  readonly label: string;
  readonly unit: string;
  readonly comparison: '<=' | '>=';
  readonly value: number | null;
  readonly lab: number;
  readonly seed: number | null;
  readonly metLab: boolean;
  readonly metSeed: boolean;
  readonly weight: number;
}

export interface Scorecard {
  readonly drill: string;
  readonly title: string;
  readonly seed: number;
  readonly mode: 'auto' | 'trainer';
  /** Every lab target met. */
  readonly passed: boolean;
  /** 0-100: a target's weight counts fully when the lab's target is met, half for the seed's. */
  readonly score: number;
  readonly targets: readonly TargetResult[];
  readonly measurements: Measurements;
}

function meets(comparison: '<=' | '>=', value: number | null, target: number): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  return comparison === '<=' ? value <= target : value >= target;
}

export function scoreDrill(definition: DrillDefinition, measurements: Measurements, seed: number, mode: 'auto' | 'trainer'): Scorecard {
  const targets: TargetResult[] = definition.targets.map((target) => {
    const info = drillMetrics[target.metric];
    const value = measurements[target.metric] ?? null;
    const metLab = meets(info.comparison, value, target.lab);
    const metSeed = target.seed === undefined ? metLab : meets(info.comparison, value, target.seed);
    return { metric: target.metric, label: info.label, unit: info.unit, comparison: info.comparison, value, lab: target.lab, seed: target.seed ?? null, metLab, metSeed, weight: target.weight ?? 10 };
  });
  const totalWeight = targets.reduce((sum, target) => sum + target.weight, 0);
  const earned = targets.reduce((sum, target) => sum + target.weight * (target.metLab ? 1 : target.metSeed ? 0.5 : 0), 0);
  return {
    drill: definition.drill,
    title: definition.title,
    seed,
    mode,
    passed: targets.every((target) => target.metLab),
    score: totalWeight === 0 ? 0 : Math.round((earned / totalWeight) * 1000) / 10,
    targets,
    measurements,
  };
}
