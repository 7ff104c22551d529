/**
 * The scenario model: what a scenario file may say, validated with exact field paths.
 * Parsing text (YAML/JSON, with line numbers) happens in the node layer; this module only sees
 * the parsed document.
 */
import { AuraError, type ErrorIssue } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { fail, parseWith, s, type Infer } from '../kernel/schema.ts';
import { projectionNames } from '../projections/registry.ts';
import { dayUs, expectedCount, type RateProfile } from './arrivals.ts';
import type { JsonValue } from '../kernel/canonical.ts';
import { formatDurationUs, parseDurationUs } from './duration.ts';
import { alertMetrics } from './telemetry.ts';
import { parseDebateSpec } from '../debate/spec.ts';

export const scenarioFormatVersion = 1;

export const slug = s.string({ minLength: 1, maxLength: 64, pattern: /^[a-z0-9][a-z0-9-]*$/, patternHint: 'lowercase letters, digits and dashes (a slug)' });
export const eventTypeName = s.string({ minLength: 1, maxLength: 64, pattern: /^[A-Z][A-Za-z0-9]*$/, patternHint: 'a PascalCase event type name' });

export function durationSchema(allowZero: boolean, description: string) {
  return s.transform(s.string({ description }), (text) => {
    const parsed = parseDurationUs(text, allowZero);
    if (typeof parsed !== 'number') return fail(parsed.error);
    if (parsed > limits.runDurationUsMax) return fail(`expected at most 24h, got ${text}`);
    return parsed;
  });
}

const duration = durationSchema(false, 'a duration such as 500ms, 30s, 10m or 1h30m');
/** A moment of virtual time from the start of the run; 0s is the start. */
const moment = durationSchema(true, 'a moment from the start, such as 0s, 500ms or 1m30s');
/** How long a condition must hold; 0s: at once. */
const holdFor = durationSchema(true, 'how long the condition holds, such as 0s, 30s or 1m');

const scalar = s.either(s.either(s.string({ maxLength: 256 }), s.number(), 'a string or a number'), s.boolean(), 'a string, a number or a boolean');

const payloadField = s.keyed({
  int: s.transform(s.array(s.number({ integer: true }), { min: 2, max: 2 }), (pair) => {
    const [min, max] = pair as [number, number];
    if (min > max) return fail(`expected [min, max] with min <= max, got [${min}, ${max}]`);
    if (max - min >= 4294967296) return fail('expected a range narrower than 2^32');
    return { min, max };
  }),
  oneOf: s.array(scalar, { min: 1, max: 256 }),
  const: scalar,
  text: s.object({ length: s.number({ integer: true, min: 1, max: 1024 }) }),
  sequence: s.object({ start: s.optional(s.number({ integer: true }), 1) }),
  /** true with this probability, else false. */
  chance: s.number({ min: 0, max: 1 }),
});

const eventSpec = s.object({
  type: eventTypeName,
  weight: s.optional(s.number({ integer: true, min: 1, max: 1_000_000 }), 1),
  schemaVersion: s.optional(s.number({ integer: true, min: 1, max: 1000 }), 1),
  payload: s.optional(s.record(payloadField, { keyPattern: /^[A-Za-z_][A-Za-z0-9_]*$/, keyHint: 'an identifier', maxKeys: limits.payloadFieldsMax }), {}),
});

const perSecond = s.number({ greaterThan: 0, max: limits.ratePerSecondMax, description: 'events per virtual second' });
const ratePoint = s.number({ min: 0, max: limits.ratePerSecondMax, description: 'events per virtual second' });

export const rateSchema = s.tagged('profile', {
  /** Evenly spaced events. */
  constant: s.object({ perSecond }),
  /** Exponential gaps with this mean rate (the generator's own random stream). */
  poisson: s.object({ perSecond }),
  /** From `from` to `to` linearly over `over` from the start of the run, then `to`. */
  ramp: s.object({ from: ratePoint, to: ratePoint, over: duration }),
  /** `perSecond`, and `peak` from `at` for `for`. */
  spike: s.object({ perSecond: ratePoint, peak: ratePoint, at: moment, for: duration }),
  /** `perSecond * (1 + amplitude * sin(2 pi t / period))`: a daily (or any) cycle. */
  diurnal: s.object({ perSecond, amplitude: s.number({ min: 0, max: 1 }), period: s.optional(duration, dayUs) }),
});

const generator = s.object({
  name: slug,
  streams: s.object({
    prefix: s.string({ minLength: 1, maxLength: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/, patternHint: 'a stream prefix (letters, digits, . _ : -)' }),
    count: s.number({ integer: true, min: 1, max: limits.streamsPerGeneratorMax }),
  }),
  rate: rateSchema,
  events: s.array(eventSpec, { min: 1, max: limits.eventTypesPerGeneratorMax }),
});

/** Service-level objectives: on append-to-projected latency (wall-clock telemetry) or on requests in the log. */
const slo = s.tagged('kind', {
  latency: s.object({ name: slug, percentile: s.optional(s.number({ min: 50, max: 100 }), 95), belowMs: s.number({ greaterThan: 0, max: 3_600_000 }) }),
  availability: s.object({
    name: slug,
    /** Percent of good requests, e.g. 99.9. */
    objective: s.number({ greaterThan: 0, max: 99.9999 }),
    /** The event type that is one request; `ok: false` in its payload makes it bad. */
    eventType: s.optional(eventTypeName, 'RequestCompleted'),
    /** Also bad: a request whose payload `latencyMs` is not a number below this. */
    latencyBelowMs: s.optional(s.number({ greaterThan: 0 })),
  }),
});

/** Alert rules: a threshold held for a while on a per-virtual-second metric, or an SLO's error-budget burn rate. */
const alertRule = s.tagged('kind', {
  threshold: s.object({
    name: slug,
    metric: s.oneOf(alertMetrics, 'a metric: events, requests, failedRequests, errorRate, availability, latency.p50, latency.p95, latency.p99, latency.max'),
    above: s.optional(s.number()),
    below: s.optional(s.number()),
    for: s.optional(holdFor, 0),
  }),
  burnRate: s.object({ name: slug, slo: slug, above: s.number({ greaterThan: 0 }), window: duration }),
});

/**
 * Debates the run holds: one every `every` (the first at `every`), or at the moments listed.
 * `debate` is a debate spec (src/core/debate); each occurrence is a new debate with its own
 * random stream (debates/<name>/<n>) and id <name>-<n>.
 */
const debateSchedule = s.object({
  name: slug,
  every: s.optional(duration),
  at: s.optional(s.array(moment, { min: 1, max: 10_000 })),
  debate: s.unknown(),
});

export const scenarioSchema = s.object(
  {
    version: s.literal(scenarioFormatVersion),
    name: slug,
    description: s.optional(s.string({ maxLength: 2000 }), ''),
    seed: s.optional(s.number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER }), 1),
    duration,
    workload: s.array(generator, { min: 1, max: limits.generatorsMax }),
    projections: s.optional(s.array(s.oneOf(projectionNames), { max: 16 }), [...projectionNames]),
    slos: s.optional(s.array(slo, { max: 32 }), []),
    alerts: s.optional(s.array(alertRule, { max: 64 }), []),
    debates: s.optional(s.array(debateSchedule, { max: 64 }), []),
  },
  { description: 'An AURA Lab scenario' },
);

export type Scenario = Infer<typeof scenarioSchema>;
export type WorkloadGenerator = Scenario['workload'][number];
export type PayloadField = Infer<typeof payloadField>;
export type ServiceLevelObjective = Infer<typeof slo>;
export type AlertRule = Infer<typeof alertRule>;
export type DebateSchedule = Infer<typeof debateSchedule>;

/** Validates a parsed scenario document. Throws AuraError('validation') listing every issue. */
export function validateScenario(document: unknown): Scenario {
  const result = parseWith(scenarioSchema, document);
  if (!result.ok) throw new AuraError('validation', 'invalid scenario', result.issues);
  const scenario = result.value;
  // Every problem across the file, not only the first: a user fixes them in one pass.
  const issues: ErrorIssue[] = [];
  const names = new Set<string>();
  scenario.workload.forEach((item, index) => {
    if (names.has(item.name)) issues.push({ path: ['workload', index, 'name'], message: `duplicate generator name ${JSON.stringify(item.name)}` });
    names.add(item.name);
  });
  const sloNames = new Map<string, ServiceLevelObjective>();
  (scenario.slos ?? []).forEach((item, index) => {
    if (sloNames.has(item.name)) issues.push({ path: ['slos', index, 'name'], message: `duplicate SLO name ${JSON.stringify(item.name)}` });
    else sloNames.set(item.name, item);
  });
  (scenario.alerts ?? []).forEach((rule, index) => {
    if (rule.kind === 'burnRate' && sloNames.get(rule.slo)?.kind !== 'availability') {
      issues.push({ path: ['alerts', index, 'slo'], message: `expected the name of an availability SLO (${[...sloNames.values()].filter((item) => item.kind === 'availability').map((item) => item.name).join(', ') || 'none declared'}), got ${JSON.stringify(rule.slo)}` });
    }
    if (rule.kind === 'threshold' && (rule.above === undefined) === (rule.below === undefined)) issues.push({ path: ['alerts', index], message: 'expected exactly one of above or below' });
  });
  const debateNames = new Set<string>();
  (scenario.debates ?? []).forEach((schedule, index) => {
    if (debateNames.has(schedule.name)) issues.push({ path: ['debates', index, 'name'], message: `duplicate debate name ${JSON.stringify(schedule.name)}` });
    debateNames.add(schedule.name);
    if ((schedule.every === undefined) === (schedule.at === undefined)) issues.push({ path: ['debates', index], message: 'expected exactly one of every or at' });
    try {
      parseDebateSpec(schedule.debate);
    } catch (error) {
      if (!(error instanceof AuraError)) throw error;
      issues.push(...error.issues.map((issue) => ({ ...issue, path: ['debates', index, 'debate', ...issue.path] })));
    }
  });
  if (issues.length > 0) throw new AuraError('validation', 'invalid scenario', issues);
  return scenario;
}

/**
 * Events a scenario's workload is expected to generate (before lifecycle events): exact for
 * constant rates, the integral of the rate (rounded up) for the others; for progress and ETAs.
 */
export function expectedWorkloadEvents(scenario: Scenario): number {
  let total = 0;
  for (const item of scenario.workload) {
    total += item.rate.profile === 'constant' ? eventsForRate(item.rate.perSecond, scenario.duration) : Math.ceil(expectedCount(item.rate, scenario.duration));
  }
  return total;
}

/** Events of a constant-rate generator strictly before `durationUs`: k with k/rate < duration. */
export function eventsForRate(perSecond: number, durationUs: number): number {
  return Math.ceil((durationUs * perSecond) / 1_000_000);
}

/** A parsed rate profile back in scenario-file form (durations as text), e.g. to change one field. */
export function rateToDocument(rate: RateProfile): Record<string, JsonValue> {
  const document: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(rate)) {
    document[key] = durationFields.has(key) && typeof value === 'number' ? formatDurationUs(value) : (value as JsonValue);
  }
  return document;
}

const durationFields = new Set(['over', 'at', 'for', 'period']);
