/**
 * Chaos experiments on a run's virtual timeline, in the style of Chaos Toolkit: a steady-state
 * hypothesis (probes on metrics the run's own events measure, each with a tolerance), a method
 * (faults at moments of virtual time: load faults on a generator's rate or streams, time faults
 * on its clock), rollbacks and an abort condition. The model is validated with exact field
 * paths; `runExperiment` drives a RunKernel window by window and returns a journal and the
 * planned events. Pure and deterministic: the same experiment, scenario and seed give the same
 * journal and the same events, ids included.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import { AuraError, type ErrorIssue } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { asEventId, asStreamName, type StreamName } from '../kernel/ids.ts';
import { createRandom, type Random } from '../kernel/random.ts';
import { fail, parseWith, s, type Infer } from '../kernel/schema.ts';
import { isSystemStream, type NewEvent } from '../events/event.ts';
import { labEventTypes } from '../events/lab-events.ts';
import type { RateProfile } from '../sim/arrivals.ts';
import { formatDurationUs, parseDurationUs } from '../sim/duration.ts';
import { alertStream, RunKernel, type PlannedEvent } from '../sim/kernel.ts';
import { applySet, operatorEventTypes, type RecordedAction } from '../sim/operator.ts';
import { durationSchema, eventTypeName, rateSchema, rateToDocument, slug, type Scenario, type WorkloadGenerator } from '../sim/scenario.ts';
import { alertEventTypes } from '../sim/telemetry.ts';

export const experimentFormatVersion = 1;

/** The stream the experiment's own events (faults injected and cleared) go to. */
export const chaosStream = asStreamName('$chaos');

export const probeMetrics = ['events_per_second', 'events_per_second_of_type', 'alerts_firing', 'stream_count', 'clock_offset_ms'] as const;
export type ProbeMetric = (typeof probeMetrics)[number];
export const faultKinds = ['load-spike', 'load-ramp', 'hot-stream', 'pause-generator', 'clock-skew', 'clock-jump'] as const;
export type FaultKind = (typeof faultKinds)[number];
export const rollbackPolicies = ['always', 'never', 'on-deviation'] as const;
export type RollbackPolicy = (typeof rollbackPolicies)[number];

const duration = durationSchema(false, 'a duration such as 500ms, 5s or 1m');
const moment = durationSchema(true, 'a moment of virtual time from the start of the run, such as 0s, 30s or 1m30s');

/** A signed duration in microseconds ("-2s", "+500ms", "1m"): not zero, at most 24h either way. */
export function parseSignedDurationUs(text: string): number | { error: string } {
  const trimmed = text.trim();
  const sign = trimmed.startsWith('-') ? -1 : 1;
  const parsed = parseDurationUs(trimmed.startsWith('-') || trimmed.startsWith('+') ? trimmed.slice(1) : trimmed);
  if (typeof parsed !== 'number') return { error: `expected a signed duration such as -2s, +500ms or 1m (not zero), got ${JSON.stringify(text)}` };
  if (parsed > limits.runDurationUsMax) return { error: `expected at most 24h either way, got ${text}` };
  return sign * parsed;
}

/** A signed duration as text: "-2s", "500ms". */
export function formatSignedDurationUs(value: number): string {
  return value < 0 ? `-${formatDurationUs(-value)}` : formatDurationUs(value);
}

const signedDuration = s.transform(s.string({ description: 'a signed duration such as -2s, +500ms or 1m' }), (text) => {
  const parsed = parseSignedDurationUs(text);
  return typeof parsed === 'number' ? parsed : fail(parsed.error);
});

const tolerance = s.transform(
  s.object({ min: s.optional(s.number()), max: s.optional(s.number()) }, { description: 'the range the probe value must stay in (inclusive); at least one bound' }),
  (range) => {
    if (range.min === undefined && range.max === undefined) return fail('expected at least one of min or max');
    if (range.min !== undefined && range.max !== undefined && range.min > range.max) return fail(`expected min <= max, got min ${range.min} and max ${range.max}`);
    return range;
  },
);

const probeCommon = { name: slug, window: duration, tolerance };
/** A probe: a metric measured over the last `window` of virtual time, checked against its tolerance. */
const probeSchema = s.tagged('metric', {
  /** Workload events per virtual second (of one generator when given). */
  events_per_second: s.object({ ...probeCommon, generator: s.optional(slug) }),
  /** Events of one type per virtual second. */
  events_per_second_of_type: s.object({ ...probeCommon, eventType: eventTypeName }),
  /** Alert rules firing (in `$alerts`) at the end of the window. */
  alerts_firing: s.object(probeCommon),
  /** Distinct streams written in the window (of one generator when given). */
  stream_count: s.object({ ...probeCommon, generator: s.optional(slug) }),
  /**
   * The largest absolute difference, in milliseconds, between a workload event's stamp (its
   * `virtualTimeUs`) and the virtual time the kernel planned it at, over the events the kernel
   * planned in the window (of one generator when given); 0 without events. A clock fault shows
   * here; nothing else moves a stamp.
   */
  clock_offset_ms: s.object({ ...probeCommon, generator: s.optional(slug) }),
});

const factor = s.number({ greaterThan: 0, max: 1000, description: 'a multiplier of the generator rate' });
/** Faults the runner can apply; `duration` (from `at`) ends them, else they last until the rollbacks. */
const faultSchema = s.tagged('kind', {
  /** The generator's rate times `factor`. */
  'load-spike': s.object({ generator: slug, factor, duration: s.optional(duration) }),
  /** The rate goes linearly (in steps) to `factor` times itself over `over` (default: `duration`), then holds. */
  'load-ramp': s.object({ generator: slug, factor, over: s.optional(duration), duration: s.optional(duration) }),
  /** `share` of the generator's events go to its stream number `stream` (default 0). */
  'hot-stream': s.object({ generator: slug, share: s.number({ greaterThan: 0, max: 1 }), stream: s.optional(s.number({ integer: true, min: 0 }), 0), duration: s.optional(duration) }),
  /** The generator stops (rate 0). */
  'pause-generator': s.object({ generator: slug, duration: s.optional(duration) }),
  /** The generator's clock runs `offset` ahead (or behind, when negative): its events are stamped that much off. */
  'clock-skew': s.object({ generator: slug, offset: signedDuration, duration: s.optional(duration) }),
  /** The generator's clock steps by `by` at `at` and stays stepped until the rollbacks (or `duration`). */
  'clock-jump': s.object({ generator: slug, by: signedDuration, duration: s.optional(duration) }),
});

const rollbackAction = s.tagged('kind', {
  /** Undo every fault still active (the default). */
  'undo-all': s.object({}),
  /** Undo one fault (by its method entry's name) if it is still active. */
  undo: s.object({ fault: slug }),
  /** An operator `set` (workload.<generator>.rate[.<field>]). */
  set: s.object({ path: s.string({ minLength: 1, maxLength: 256 }), value: s.unknown() }),
});

export const defaultRollbacks = { policy: 'always' as RollbackPolicy, actions: [{ kind: 'undo-all' as const }] };

export const experimentSchema = s.object(
  {
    version: s.optional(s.literal(experimentFormatVersion), experimentFormatVersion),
    title: s.string({ minLength: 1, maxLength: 200 }),
    description: s.optional(s.string({ maxLength: 2000 })),
    /** A scenario file name, resolved next to the experiment file, then in the scenarios directory. */
    scenario: s.string({ minLength: 1, maxLength: 512 }),
    seed: s.optional(s.number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER })),
    /** The run's virtual duration (default: the scenario's). */
    duration: s.optional(duration),
    /** The steady state is checked on the window ending at `warmup` first (default: the longest probe window). */
    warmup: s.optional(duration),
    steadyStateHypothesis: s.object({ title: s.string({ minLength: 1, maxLength: 200 }), probes: s.array(probeSchema, { min: 1, max: 32 }) }),
    method: s.array(s.object({ at: moment, name: s.optional(slug), fault: faultSchema }), { min: 1, max: 256 }),
    rollbacks: s.optional(s.object({ policy: s.oneOf(rollbackPolicies), actions: s.optional(s.array(rollbackAction, { max: 64 }), defaultRollbacks.actions) }), defaultRollbacks),
    /** The method stops (and the rollbacks run) when this probe fails this many checks in a row. */
    abort: s.optional(s.object({ probe: slug, failures: s.number({ integer: true, min: 1, max: 10_000 }) })),
  },
  { description: 'An AURA Lab chaos experiment' },
);

export type Experiment = Infer<typeof experimentSchema>;
export type Probe = Experiment['steadyStateHypothesis']['probes'][number];
export type MethodStep = Experiment['method'][number];
export type Fault = MethodStep['fault'];
export type RollbackAction = Infer<typeof rollbackAction>;
export type Tolerance = Probe['tolerance'];

const invalid = (issues: ErrorIssue[]): AuraError => new AuraError('validation', 'invalid experiment', issues);

/** Validates a parsed experiment document. Throws AuraError('validation') listing every issue with its path. */
export function validateExperiment(document: unknown): Experiment {
  const result = parseWith(experimentSchema, document);
  if (!result.ok) throw invalid(result.issues);
  const experiment = result.value;
  const issues: ErrorIssue[] = [];
  const probeNames = new Set<string>();
  experiment.steadyStateHypothesis.probes.forEach((probe, index) => {
    if (probeNames.has(probe.name)) issues.push({ path: ['steadyStateHypothesis', 'probes', index, 'name'], message: `duplicate probe name ${JSON.stringify(probe.name)}` });
    probeNames.add(probe.name);
  });
  const warmupUs = warmupOf(experiment);
  const faultIds = new Set<string>();
  experiment.method.forEach((step, index) => {
    const id = faultId(step, index);
    if (faultIds.has(id)) issues.push({ path: ['method', index, 'name'], message: `duplicate fault name ${JSON.stringify(id)}` });
    faultIds.add(id);
    if (step.at < warmupUs) issues.push({ path: ['method', index, 'at'], message: `expected at least the warm-up (${formatDurationUs(warmupUs)}): the steady state is checked up to ${formatDurationUs(warmupUs)} before the method` });
    const previous = experiment.method[index - 1];
    if (previous !== undefined && step.at < previous.at) issues.push({ path: ['method', index, 'at'], message: `expected at or after method[${index - 1}].at (${formatDurationUs(previous.at)}): the method is a sequence` });
    const fault = step.fault;
    if (fault.kind === 'load-ramp') {
      if (fault.over === undefined && fault.duration === undefined) issues.push({ path: ['method', index, 'fault'], message: 'expected over or duration (the ramp time)' });
      if (fault.over !== undefined && fault.duration !== undefined && fault.over > fault.duration) issues.push({ path: ['method', index, 'fault', 'over'], message: `expected at most duration (${formatDurationUs(fault.duration)})` });
    }
  });
  if (experiment.abort !== undefined && !probeNames.has(experiment.abort.probe)) {
    issues.push({ path: ['abort', 'probe'], message: `expected the name of a probe (${[...probeNames].join(', ')}), got ${JSON.stringify(experiment.abort.probe)}` });
  }
  (experiment.rollbacks?.actions ?? []).forEach((action, index) => {
    if (action.kind === 'undo' && !faultIds.has(action.fault)) issues.push({ path: ['rollbacks', 'actions', index, 'fault'], message: `expected the name of a fault in the method (${[...faultIds].join(', ')}), got ${JSON.stringify(action.fault)}` });
  });
  if (issues.length > 0) throw invalid(issues);
  return experiment;
}

/** The warm-up: `warmup`, or the longest probe window. */
export function warmupOf(experiment: Experiment): number {
  return experiment.warmup ?? Math.max(...experiment.steadyStateHypothesis.probes.map((probe) => probe.window));
}

/** A fault's id in the log and the journal: its name, or `<kind>-<n>` (n from 1). */
export function faultId(step: MethodStep, index: number): string {
  return step.name ?? `${step.fault.kind}-${index + 1}`;
}

/** Whether a fault acts on its generator's clock (clock-skew, clock-jump) rather than on its load. */
export function isTimeFault(fault: Fault): fault is Extract<Fault, { kind: 'clock-skew' | 'clock-jump' }> {
  return fault.kind === 'clock-skew' || fault.kind === 'clock-jump';
}

/** How far a time fault sets its generator's clock, in microseconds (signed). */
export function clockOffsetUs(fault: Extract<Fault, { kind: 'clock-skew' | 'clock-jump' }>): number {
  return fault.kind === 'clock-skew' ? fault.offset : fault.by;
}

/** When a fault ends by itself (`at` + its duration), or undefined when only a rollback ends it. */
export function faultEndUs(step: MethodStep): number | undefined {
  return step.fault.duration === undefined ? undefined : step.at + step.fault.duration;
}

/** The moment the method is over: the last fault's end (or start, for faults without duration). */
export function methodEndUs(experiment: Experiment): number {
  return Math.max(...experiment.method.map((step) => Math.max(step.at, faultEndUs(step) ?? step.at, step.fault.kind === 'load-ramp' ? step.at + (step.fault.over ?? 0) : 0)));
}

/** An experiment back in file form (durations as text), e.g. to write it out or export it. */
export function experimentToDocument(experiment: Experiment): Record<string, JsonValue> {
  const text = (value: number): string => formatDurationUs(value);
  const document: Record<string, JsonValue> = { version: experiment.version ?? experimentFormatVersion, title: experiment.title };
  if (experiment.description !== undefined) document.description = experiment.description;
  document.scenario = experiment.scenario;
  if (experiment.seed !== undefined) document.seed = experiment.seed;
  if (experiment.duration !== undefined) document.duration = text(experiment.duration);
  if (experiment.warmup !== undefined) document.warmup = text(experiment.warmup);
  document.steadyStateHypothesis = {
    title: experiment.steadyStateHypothesis.title,
    probes: experiment.steadyStateHypothesis.probes.map((probe) => probeToDocument(probe)),
  };
  document.method = experiment.method.map((step) => ({ at: text(step.at), ...(step.name === undefined ? {} : { name: step.name }), fault: faultToDocument(step.fault) }));
  const rollbacks = experiment.rollbacks ?? defaultRollbacks;
  document.rollbacks = { policy: rollbacks.policy, actions: (rollbacks.actions ?? []).map((action) => ({ ...action }) as Record<string, JsonValue>) };
  if (experiment.abort !== undefined) document.abort = { probe: experiment.abort.probe, failures: experiment.abort.failures };
  return document;
}

export function probeToDocument(probe: Probe): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { name: probe.name, metric: probe.metric, window: formatDurationUs(probe.window) };
  if ('generator' in probe && probe.generator !== undefined) out.generator = probe.generator;
  if ('eventType' in probe) out.eventType = probe.eventType;
  out.tolerance = { ...(probe.tolerance.min === undefined ? {} : { min: probe.tolerance.min }), ...(probe.tolerance.max === undefined ? {} : { max: probe.tolerance.max }) };
  return out;
}

export function faultToDocument(fault: Fault): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { kind: fault.kind };
  for (const [key, value] of Object.entries(fault)) {
    if (key === 'kind' || value === undefined) continue;
    out[key] = key === 'duration' || key === 'over' ? formatDurationUs(value as number) : key === 'offset' || key === 'by' ? formatSignedDurationUs(value as number) : (value as JsonValue);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks against the scenario

/** Stream names of generator `a` that generator `b` could also write (then events cannot be told apart). */
function prefixesOverlap(a: WorkloadGenerator, b: WorkloadGenerator): boolean {
  return a.streams.prefix.startsWith(b.streams.prefix) || b.streams.prefix.startsWith(a.streams.prefix);
}

/** The rate `factor` times `rate` (every rate field of the profile scaled). */
export function scaleRate(rate: RateProfile, by: number): RateProfile {
  switch (rate.profile) {
    case 'constant':
    case 'poisson':
    case 'diurnal':
      return { ...rate, perSecond: rate.perSecond * by };
    case 'ramp':
      return { ...rate, from: rate.from * by, to: rate.to * by };
    case 'spike':
      return { ...rate, perSecond: rate.perSecond * by, peak: rate.peak * by };
  }
}

/** Rate 0: a ramp from 0 to 0 (the constant and Poisson profiles need a positive rate). */
export const zeroRate: RateProfile = { profile: 'ramp', from: 0, to: 0, over: 1_000_000 };

/**
 * Everything about an experiment that depends on its scenario: generators and event types
 * exist, streams exist, rates stay valid, faults of one class (load: rate and streams; time:
 * clock) on one generator do not overlap, generators with rewritten events (hot streams, clocks)
 * can be told apart by their streams, and the method and the after-check fit in the run. Issues
 * name the experiment's fields.
 */
export function checkExperimentAgainstScenario(experiment: Experiment, scenario: Scenario): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const durationUs = experiment.duration ?? scenario.duration;
  const names = scenario.workload.map((item) => item.name).join(', ');
  const generatorAt = (name: string, path: (string | number)[], tellApart: boolean): WorkloadGenerator | undefined => {
    const generator = scenario.workload.find((item) => item.name === name);
    if (generator === undefined) {
      issues.push({ path, message: `no generator named ${JSON.stringify(name)} in scenario ${scenario.name} (generators: ${names})` });
      return undefined;
    }
    const other = tellApart ? scenario.workload.find((item) => item !== generator && prefixesOverlap(item, generator)) : undefined;
    if (other !== undefined) issues.push({ path, message: `the streams of ${generator.name} (${generator.streams.prefix}N) and ${other.name} (${other.streams.prefix}N) overlap, so their events cannot be told apart` });
    return generator;
  };
  const knownTypes = new Set<string>([...scenario.workload.flatMap((item) => item.events.map((event) => event.type)), ...Object.values(labEventTypes), ...Object.values(alertEventTypes), ...Object.values(operatorEventTypes)]);
  experiment.steadyStateHypothesis.probes.forEach((probe, index) => {
    const path = ['steadyStateHypothesis', 'probes', index];
    if ((probe.metric === 'events_per_second' || probe.metric === 'stream_count' || probe.metric === 'clock_offset_ms') && probe.generator !== undefined) generatorAt(probe.generator, [...path, 'generator'], true);
    if (probe.metric === 'events_per_second_of_type' && !knownTypes.has(probe.eventType)) {
      issues.push({ path: [...path, 'eventType'], message: `scenario ${scenario.name} produces no events of type ${probe.eventType} (its types: ${[...new Set(scenario.workload.flatMap((item) => item.events.map((event) => event.type)))].join(', ')})` });
    }
    if (probe.window > durationUs) issues.push({ path: [...path, 'window'], message: `expected at most the run's duration (${formatDurationUs(durationUs)})` });
  });
  const busyUntil = new Map<string, { index: number; untilUs: number }>();
  experiment.method.forEach((step, index) => {
    const path = ['method', index, 'fault'];
    const fault = step.fault;
    const time = isTimeFault(fault);
    const generator = generatorAt(fault.generator, [...path, 'generator'], fault.kind === 'hot-stream' || time);
    if (step.at >= durationUs) issues.push({ path: ['method', index, 'at'], message: `expected before the end of the run (${formatDurationUs(durationUs)})` });
    if (generator === undefined) return;
    if (fault.kind === 'hot-stream' && (fault.stream ?? 0) >= generator.streams.count) {
      issues.push({ path: [...path, 'stream'], message: `generator ${generator.name} has streams 0-${generator.streams.count - 1} (${generator.streams.prefix}0 ...)` });
    }
    if (fault.kind === 'load-spike' || fault.kind === 'load-ramp') {
      const parsed = parseWith(rateSchema, rateToDocument(scaleRate(generator.rate, fault.factor)));
      if (!parsed.ok) issues.push({ path: [...path, 'factor'], message: `the rate of ${generator.name} times ${fault.factor} is not a valid rate: ${parsed.issues.map((issue) => issue.message).join('; ')}` });
    }
    // Load faults (rate, streams) and time faults (clock) on one generator are independent; two of one class are not.
    const key = `${generator.name}\n${time ? 'time' : 'load'}`;
    const busy = busyUntil.get(key);
    if (busy !== undefined && step.at < busy.untilUs) {
      issues.push({ path: ['method', index, 'at'], message: `overlaps method[${busy.index}] on generator ${generator.name} (active until ${busy.untilUs === Number.POSITIVE_INFINITY ? 'the rollbacks' : formatDurationUs(busy.untilUs)}); ${time ? 'clock faults' : 'load faults'} on one generator must not overlap` });
    }
    busyUntil.set(key, { index, untilUs: faultEndUs(step) ?? Number.POSITIVE_INFINITY });
  });
  const afterUs = methodEndUs(experiment) + warmupOf(experiment);
  if (issues.length === 0 && afterUs > durationUs) {
    issues.push({ path: experiment.duration === undefined ? ['method'] : ['duration'], message: `the method ends at ${formatDurationUs(methodEndUs(experiment))} and the after-check needs ${formatDurationUs(warmupOf(experiment))} more, but the run ends at ${formatDurationUs(durationUs)}` });
  }
  (experiment.rollbacks?.actions ?? []).forEach((action, index) => {
    if (action.kind !== 'set') return;
    try {
      applySet(scenario, action.path, action.value as JsonValue);
    } catch (error) {
      if (!(error instanceof AuraError)) throw error;
      issues.push({ path: ['rollbacks', 'actions', index], message: error.message });
    }
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Rewriting planned events: hot streams and generator clocks

/** A planned event as the rewriter passed it on, with what the probes need to know about it. */
export interface RewrittenEvent {
  readonly item: PlannedEvent;
  /** The workload generator that planned it, or -1 (system streams, debates). */
  readonly generator: number;
  /** The virtual time the kernel planned it at (its stamp before any clock fault). */
  readonly kernelUs: number;
}

/**
 * Rewrites planned events as they come out of the kernel, for the faults the kernel has no hook
 * for; the kernel's own timeline (what happens when, its ids, `$run` and `$alerts`) is untouched.
 *
 * - **Hot streams**: a share of one generator's events goes to one of its streams. The draws
 *   come from the random stream such a kernel hook would use (workload/<generator>/route), one
 *   per event of the generator while the route is active, so the events are the ones the hook
 *   would plan. Only the stream changes.
 * - **Clocks**: while a generator's clock is off by an offset, each of its events is stamped
 *   `virtualTimeUs + offset` (never below 0: a stamp that would be is 0, and counted). Only
 *   `metadata.virtualTimeUs` changes; the event stays at its place in the log.
 */
export class PlannedEventRewriter {
  private readonly routes = new Map<number, { stream: StreamName; share: number }>();
  private readonly randoms = new Map<number, Random>();
  private readonly clocks = new Map<number, { offsetUs: number; clamped: number }>();
  private readonly streamGenerator = new Map<string, number>();

  constructor(
    private readonly scenario: Scenario,
    private readonly seed: number,
  ) {}

  /** The index of the generator that wrote `stream` with an event of `type`, or -1. */
  generatorOf(stream: string, type: string): number {
    const key = `${stream}\n${type}`;
    const cached = this.streamGenerator.get(key);
    if (cached !== undefined) return cached;
    let found = -1;
    this.scenario.workload.forEach((generator, index) => {
      if (found >= 0 || !stream.startsWith(generator.streams.prefix)) return;
      const rest = stream.slice(generator.streams.prefix.length);
      if (!/^(0|[1-9][0-9]*)$/.test(rest) || Number(rest) >= generator.streams.count) return;
      if (generator.events.some((event) => event.type === type)) found = index;
    });
    this.streamGenerator.set(key, found);
    return found;
  }

  /** Sends `share` of the generator's events to its stream number `streamIndex`. */
  activateRoute(generator: number, streamIndex: number, share: number): void {
    const spec = this.scenario.workload[generator] as WorkloadGenerator;
    this.routes.set(generator, { stream: asStreamName(`${spec.streams.prefix}${streamIndex}`), share });
    if (!this.randoms.has(generator)) this.randoms.set(generator, createRandom(this.seed).split('workload').split(spec.name).split('route'));
  }

  deactivateRoute(generator: number): void {
    this.routes.delete(generator);
  }

  /** Sets the generator's clock `offsetUs` off the kernel's (signed), from its next event on. */
  setClock(generator: number, offsetUs: number): void {
    this.clocks.set(generator, { offsetUs, clamped: 0 });
  }

  /** Puts the generator's clock back; returns how many of its stamps were clamped to 0 meanwhile. */
  resetClock(generator: number): number {
    const clock = this.clocks.get(generator);
    this.clocks.delete(generator);
    return clock?.clamped ?? 0;
  }

  get active(): boolean {
    return this.routes.size > 0 || this.clocks.size > 0;
  }

  rewrite(planned: PlannedEvent): RewrittenEvent {
    const kernelUs = planned.event.metadata.virtualTimeUs;
    if (isSystemStream(planned.stream)) return { item: planned, generator: -1, kernelUs };
    const generator = this.generatorOf(planned.stream, planned.event.type);
    if (generator < 0 || !this.active) return { item: planned, generator, kernelUs };
    let item = planned;
    const route = this.routes.get(generator);
    if (route !== undefined && (this.randoms.get(generator) as Random).nextFloat() < route.share) item = { stream: route.stream, event: item.event };
    const clock = this.clocks.get(generator);
    if (clock !== undefined) {
      const stampUs = kernelUs + clock.offsetUs;
      if (stampUs < 0) clock.clamped += 1;
      item = { stream: item.stream, event: { ...item.event, metadata: { ...item.event.metadata, virtualTimeUs: Math.max(0, stampUs) } } };
    }
    return { item, generator, kernelUs };
  }
}

// ---------------------------------------------------------------------------------------------
// The journal

export interface ProbeResult {
  readonly probe: string;
  readonly metric: ProbeMetric;
  /**
   * The window measured: (fromUs, toUs] of virtual time. Events at exactly toUs count, like the
   * kernel's advance; a fault at toUs applies to the events after it, so the next window. An
   * event counts at the time the kernel planned it, not at its stamp (which a clock fault moves).
   */
  readonly fromUs: number;
  readonly toUs: number;
  readonly value: number;
  readonly tolerance: Tolerance;
  readonly ok: boolean;
}

/**
 * What the journal says about a time fault's stamps. At its start, `clampedBeforeUs` (only when
 * it can happen): the generator's events planned before this virtual time would be stamped
 * below 0, so they are stamped 0. At its end (expired or rolled back), `clampedEvents`: how many
 * were.
 */
export interface ClockNotes {
  readonly clampedBeforeUs?: number;
  readonly clampedEvents?: number;
}

export type JournalEntry =
  | ({ readonly atUs: number; readonly kind: 'fault'; readonly phase: 'start' | 'step' | 'end'; readonly faultId: string; readonly method: number; readonly fault: Record<string, JsonValue>; readonly actions: readonly { path: string; value: JsonValue }[]; readonly factor?: number } & ClockNotes)
  | ({ readonly atUs: number; readonly kind: 'rollback'; readonly action: Record<string, JsonValue>; readonly faultId?: string; readonly actions: readonly { path: string; value: JsonValue }[] } & ClockNotes)
  | ({ readonly atUs: number; readonly kind: 'probe'; readonly phase: 'before' | 'method' | 'after' } & ProbeResult)
  | { readonly atUs: number; readonly kind: 'abort'; readonly probe: string; readonly failures: number };

export type ExperimentStatus = 'completed' | 'deviated' | 'aborted' | 'failed';

/** What happened, in virtual time only: a pure function of (experiment, scenario, seed). */
export interface Journal {
  readonly format: 'aura-lab-chaos-journal';
  readonly formatVersion: 1;
  /** The experiment's title. */
  readonly experiment: string;
  readonly scenario: string;
  readonly seed: number;
  readonly durationUs: number;
  readonly warmupUs: number;
  readonly status: ExperimentStatus;
  readonly steadyStateBefore: readonly ProbeResult[];
  readonly steadyStateAfter: readonly ProbeResult[];
  readonly run: readonly JournalEntry[];
  readonly rollbacksRun: boolean;
  readonly deviated: boolean;
  /** Events planned (the run's log length). */
  readonly events: number;
  /** Why the experiment failed (status failed). */
  readonly reason?: string;
}

export interface ExperimentResult {
  readonly journal: Journal;
  /** Every event of the run in log order (empty when a sink took them). */
  readonly events: PlannedEvent[];
  /** The operator actions the faults and rollbacks applied, as the kernel recorded them. */
  readonly actions: readonly RecordedAction[];
}

export interface ExperimentPorts {
  /** Takes the planned events batch by batch (then they are not kept in the result). */
  readonly sink?: (events: readonly PlannedEvent[]) => void;
  /** Events per kernel call (default 10,000). */
  readonly batchEvents?: number;
}

/** The seed an experiment runs with: the one given, else the experiment's, else the scenario's. */
export function experimentSeed(experiment: Experiment, scenario: Scenario, seed?: number): number {
  return seed ?? experiment.seed ?? scenario.seed ?? 1;
}

/**
 * Runs an experiment on a scenario: the hypothesis on the warm-up window, then the method
 * (faults at their moments, every probe checked every window, the abort condition), the
 * hypothesis again on the window after the method, then the rollbacks per policy, and the run to
 * its end. Throws AuraError('validation') naming the experiment's fields when it does not fit the
 * scenario.
 */
export function runExperiment(experiment: Experiment, scenario: Scenario, seed?: number, ports: ExperimentPorts = {}): ExperimentResult {
  const issues = checkExperimentAgainstScenario(experiment, scenario);
  if (issues.length > 0) throw new AuraError('validation', `the experiment does not fit scenario ${scenario.name}`, issues);
  return new ExperimentRunner(experiment, scenario, experimentSeed(experiment, scenario, seed), ports).run();
}

type Point =
  | { readonly atUs: number; readonly kind: 'check'; readonly probe: number }
  | { readonly atUs: number; readonly kind: 'after' }
  | { readonly atUs: number; readonly kind: 'end'; readonly method: number }
  | { readonly atUs: number; readonly kind: 'step'; readonly method: number; readonly step: number; readonly steps: number }
  | { readonly atUs: number; readonly kind: 'start'; readonly method: number }
  | { readonly atUs: number; readonly kind: 'rollback' };

/**
 * At one moment: checks first (they measure what came before), then faults ending, ramping,
 * starting, then rollbacks. Events at a fault's moment were planned before it, so a fault (a
 * rate, a route, a clock) applies from the first event after its moment.
 */
const pointOrder: Record<Point['kind'], number> = { check: 0, after: 0, end: 1, step: 2, start: 3, rollback: 4 };

/** Ramp steps: one per virtual second of the ramp, at least 1, at most 100. */
function rampSteps(overUs: number): number {
  return Math.max(1, Math.min(100, Math.round(overUs / 1_000_000)));
}

interface ActiveFault {
  readonly method: number;
  readonly id: string;
  readonly generator: number;
  readonly startUs: number;
  readonly previous: RateProfile | undefined;
}

class ExperimentRunner {
  private readonly kernel: RunKernel;
  private readonly rewriter: PlannedEventRewriter;
  private readonly idRandom: Random;
  private readonly durationUs: number;
  private readonly warmupUs: number;
  private readonly probes: readonly Probe[];
  private readonly batchEvents: number;
  private readonly out: PlannedEvent[] = [];
  private planned = 0;
  private readonly log: JournalEntry[] = [];
  private points: (Point & { seq: number })[] = [];
  private pointSeq = 0;
  private readonly active = new Map<number, ActiveFault>();
  // Workload events kept for the probes (the longest window back, in the kernel's time order), and alert transitions.
  private times: number[] = [];
  /** Each kept event's stamp minus the kernel's time of it (non-zero only under a clock fault). */
  private offsets: number[] = [];
  private generators: number[] = [];
  private types: string[] = [];
  private streams: string[] = [];
  private readonly alertTransitions: { atUs: number; rule: string; firing: boolean }[] = [];
  private readonly longestWindowUs: number;
  private consecutiveFailures = 0;
  private aborted = false;
  private stopped = false;
  private rollbacksRun = false;
  private before: ProbeResult[] = [];
  private after: ProbeResult[] = [];
  private readonly methodEndUs: number;

  constructor(
    private readonly experiment: Experiment,
    scenario: Scenario,
    private readonly seed: number,
    private readonly ports: ExperimentPorts,
  ) {
    this.durationUs = experiment.duration ?? scenario.duration;
    const runScenario: Scenario = { ...scenario, duration: this.durationUs };
    this.kernel = new RunKernel(runScenario, seed);
    this.rewriter = new PlannedEventRewriter(runScenario, seed);
    this.idRandom = createRandom(seed).split('chaos').split('event-ids');
    this.warmupUs = warmupOf(experiment);
    this.probes = experiment.steadyStateHypothesis.probes;
    this.longestWindowUs = Math.max(...this.probes.map((probe) => probe.window));
    this.batchEvents = ports.batchEvents ?? 10_000;
    this.methodEndUs = methodEndUs(experiment);
  }

  run(): ExperimentResult {
    this.advanceTo(this.warmupUs);
    this.before = this.probes.map((probe) => this.measure(probe, this.warmupUs));
    for (const result of this.before) this.log.push({ atUs: this.warmupUs, kind: 'probe', phase: 'before', ...result });
    let status: ExperimentStatus;
    let reason: string | undefined;
    if (this.before.some((result) => !result.ok)) {
      status = 'failed';
      reason = `the steady state did not hold before the method: ${this.before.filter((result) => !result.ok).map((result) => `${result.probe} = ${result.value}`).join(', ')}`;
    } else {
      this.scheduleMethod();
      this.drainPoints();
      const afterFailed = this.after.some((result) => !result.ok);
      status = this.aborted ? 'aborted' : afterFailed ? 'deviated' : 'completed';
    }
    this.advanceTo(Number.POSITIVE_INFINITY);
    this.flush();
    const journal: Journal = {
      format: 'aura-lab-chaos-journal',
      formatVersion: 1,
      experiment: this.experiment.title,
      scenario: this.kernel.scenario.name,
      seed: this.seed,
      durationUs: this.durationUs,
      warmupUs: this.warmupUs,
      status,
      steadyStateBefore: this.before,
      steadyStateAfter: this.after,
      run: this.log,
      rollbacksRun: this.rollbacksRun,
      deviated: status === 'deviated' || status === 'aborted',
      events: this.planned,
      ...(reason === undefined ? {} : { reason }),
    };
    return { journal, events: this.ports.sink === undefined ? this.out : [], actions: this.kernel.actions };
  }

  private schedule(point: Point): void {
    this.points.push({ ...point, seq: this.pointSeq++ });
  }

  private scheduleMethod(): void {
    this.experiment.method.forEach((step, index) => {
      this.schedule({ atUs: step.at, kind: 'start', method: index });
      const end = faultEndUs(step);
      if (end !== undefined) this.schedule({ atUs: end, kind: 'end', method: index });
      if (step.fault.kind === 'load-ramp') {
        const overUs = step.fault.over ?? step.fault.duration ?? 0;
        const steps = rampSteps(overUs);
        for (let k = 1; k <= steps; k++) this.schedule({ atUs: step.at + Math.floor((overUs * k) / steps), kind: 'step', method: index, step: k, steps });
      }
    });
    this.probes.forEach((probe, index) => {
      for (let atUs = this.warmupUs + probe.window; atUs <= this.methodEndUs; atUs += probe.window) this.schedule({ atUs, kind: 'check', probe: index });
    });
    this.schedule({ atUs: this.methodEndUs + this.warmupUs, kind: 'after' });
  }

  private nextPoint(): (Point & { seq: number }) | undefined {
    let best = -1;
    this.points.forEach((point, index) => {
      const current = this.points[best];
      if (current === undefined || point.atUs < current.atUs || (point.atUs === current.atUs && (pointOrder[point.kind] < pointOrder[current.kind] || (pointOrder[point.kind] === pointOrder[current.kind] && point.seq < current.seq)))) best = index;
    });
    return best < 0 ? undefined : this.points.splice(best, 1)[0];
  }

  private drainPoints(): void {
    for (let point = this.nextPoint(); point !== undefined; point = this.nextPoint()) {
      this.advanceTo(point.atUs);
      switch (point.kind) {
        case 'check':
          this.check(point.probe, point.atUs);
          break;
        case 'after':
          this.after = this.probes.map((probe) => this.measure(probe, point.atUs));
          for (const result of this.after) this.log.push({ atUs: point.atUs, kind: 'probe', phase: 'after', ...result });
          if (!this.aborted) {
            const deviated = this.after.some((result) => !result.ok);
            const policy = (this.experiment.rollbacks ?? defaultRollbacks).policy;
            if (policy === 'always' || (policy === 'on-deviation' && deviated)) this.schedule({ atUs: point.atUs, kind: 'rollback' });
          }
          break;
        case 'rollback':
          this.runRollbacks();
          break;
        case 'start':
          this.startFault(point.method);
          break;
        case 'step':
          this.rampStep(point.method, point.step, point.steps);
          break;
        case 'end':
          this.endFault(point.method, 'expired');
          break;
      }
    }
  }

  private check(probeIndex: number, atUs: number): void {
    const probe = this.probes[probeIndex] as Probe;
    const result = this.measure(probe, atUs);
    this.log.push({ atUs, kind: 'probe', phase: 'method', ...result });
    const abort = this.experiment.abort;
    if (abort === undefined || abort.probe !== probe.name || this.stopped) return;
    this.consecutiveFailures = result.ok ? 0 : this.consecutiveFailures + 1;
    if (this.consecutiveFailures < abort.failures) return;
    this.aborted = true;
    this.stopped = true;
    this.log.push({ atUs, kind: 'abort', probe: probe.name, failures: this.consecutiveFailures });
    // The method stops: no more faults, ramp steps or checks; faults still active end by their duration or the rollbacks.
    this.points = this.points.filter((point) => point.kind === 'end');
    const policy = (this.experiment.rollbacks ?? defaultRollbacks).policy;
    if (policy !== 'never') this.schedule({ atUs, kind: 'rollback' });
    this.schedule({ atUs: atUs + this.warmupUs, kind: 'after' });
  }

  // -- faults ---------------------------------------------------------------------------------

  private generatorIndex(name: string): number {
    return this.kernel.scenario.workload.findIndex((item) => item.name === name);
  }

  private currentRate(generator: number): RateProfile {
    return (this.kernel.currentScenario.workload[generator] as WorkloadGenerator).rate;
  }

  private setRate(generator: number, rate: RateProfile): { path: string; value: JsonValue } {
    const name = (this.kernel.scenario.workload[generator] as WorkloadGenerator).name;
    const change = { path: `workload.${name}.rate`, value: rateToDocument(rate) };
    this.emit(this.kernel.act({ kind: 'set', ...change }));
    return change;
  }

  private startFault(method: number): void {
    const step = this.experiment.method[method] as MethodStep;
    const fault = step.fault;
    const generator = this.generatorIndex(fault.generator);
    const id = faultId(step, method);
    const atUs = this.kernel.virtualTimeUs;
    const endUs = faultEndUs(step);
    const previous = fault.kind === 'load-spike' || fault.kind === 'load-ramp' || fault.kind === 'pause-generator' ? this.currentRate(generator) : undefined;
    const notes: { clampedBeforeUs?: number } = {};
    // Events after atUs and before -offset would be stamped below 0.
    if (isTimeFault(fault) && atUs + clockOffsetUs(fault) < 0) notes.clampedBeforeUs = -clockOffsetUs(fault);
    this.chaosEvent(labEventTypes.faultInjected, atUs, { faultId: id, kind: fault.kind, target: fault.generator, method, fault: faultToDocument(fault), fromUs: atUs, untilUs: endUs ?? null, ...notes });
    const actions: { path: string; value: JsonValue }[] = [];
    if (fault.kind === 'load-spike') actions.push(this.setRate(generator, scaleRate(previous as RateProfile, fault.factor)));
    else if (fault.kind === 'pause-generator') actions.push(this.setRate(generator, zeroRate));
    else if (fault.kind === 'hot-stream') this.rewriter.activateRoute(generator, fault.stream ?? 0, fault.share);
    else if (isTimeFault(fault)) this.rewriter.setClock(generator, clockOffsetUs(fault));
    this.active.set(method, { method, id, generator, startUs: atUs, previous });
    this.log.push({ atUs, kind: 'fault', phase: 'start', faultId: id, method, fault: faultToDocument(fault), actions, ...notes });
  }

  private rampStep(method: number, step: number, steps: number): void {
    const active = this.active.get(method);
    const entry = this.experiment.method[method] as MethodStep;
    if (active === undefined || entry.fault.kind !== 'load-ramp' || active.previous === undefined) return;
    const by = 1 + ((entry.fault.factor - 1) * step) / steps;
    const action = this.setRate(active.generator, scaleRate(active.previous, by));
    this.log.push({ atUs: this.kernel.virtualTimeUs, kind: 'fault', phase: 'step', faultId: active.id, method, fault: faultToDocument(entry.fault), actions: [action], factor: by });
  }

  /**
   * Ends an active fault: its rate back to what it was before it, its route off, or its
   * generator's clock back (with how many stamps it clamped to 0).
   */
  private undo(active: ActiveFault, reason: 'expired' | 'rollback'): { actions: { path: string; value: JsonValue }[]; clampedEvents?: number } {
    this.active.delete(active.method);
    this.points = this.points.filter((point) => !((point.kind === 'step' || point.kind === 'end') && point.method === active.method));
    const atUs = this.kernel.virtualTimeUs;
    const fault = (this.experiment.method[active.method] as MethodStep).fault;
    const clampedEvents = isTimeFault(fault) ? this.rewriter.resetClock(active.generator) : undefined;
    const notes = clampedEvents === undefined ? {} : { clampedEvents };
    this.chaosEvent(labEventTypes.faultCleared, atUs, { faultId: active.id, kind: fault.kind, target: fault.generator, reason, fromUs: active.startUs, toUs: atUs, ...notes });
    if (fault.kind === 'hot-stream') this.rewriter.deactivateRoute(active.generator);
    return { actions: active.previous === undefined ? [] : [this.setRate(active.generator, active.previous)], ...notes };
  }

  private endFault(method: number, reason: 'expired'): void {
    const active = this.active.get(method);
    if (active === undefined) return;
    const entry = this.experiment.method[method] as MethodStep;
    const { actions, ...notes } = this.undo(active, reason);
    this.log.push({ atUs: this.kernel.virtualTimeUs, kind: 'fault', phase: 'end', faultId: active.id, method, fault: faultToDocument(entry.fault), actions, ...notes });
  }

  private runRollbacks(): void {
    if (this.rollbacksRun) return;
    this.rollbacksRun = true;
    this.stopped = true;
    const atUs = this.kernel.virtualTimeUs;
    for (const action of (this.experiment.rollbacks ?? defaultRollbacks).actions ?? []) {
      const document = { ...action } as Record<string, JsonValue>;
      if (action.kind === 'undo-all') {
        for (const active of [...this.active.values()].sort((a, b) => a.method - b.method)) this.log.push({ atUs, kind: 'rollback', action: document, faultId: active.id, ...this.undo(active, 'rollback') });
      } else if (action.kind === 'undo') {
        const active = [...this.active.values()].find((item) => item.id === action.fault);
        if (active !== undefined) this.log.push({ atUs, kind: 'rollback', action: document, faultId: active.id, ...this.undo(active, 'rollback') });
      } else {
        this.emit(this.kernel.act({ kind: 'set', path: action.path, value: action.value as JsonValue }));
        this.log.push({ atUs, kind: 'rollback', action: document, actions: [{ path: action.path, value: action.value as JsonValue }] });
      }
    }
  }

  // -- events ---------------------------------------------------------------------------------

  private chaosEvent(type: string, atUs: number, payload: Record<string, JsonValue>): void {
    const event: NewEvent = { id: asEventId(this.idRandom.hex128()), type, schemaVersion: 1, payload, metadata: { virtualTimeUs: atUs } };
    this.emit([{ stream: chaosStream, event }]);
  }

  /** Advances the kernel to `untilUs` (capped just before the end, so that actions can still apply; +Infinity completes the run). */
  private advanceTo(untilUs: number): void {
    const target = untilUs === Number.POSITIVE_INFINITY ? untilUs : Math.min(untilUs, this.durationUs - 1);
    let batch: PlannedEvent[];
    do {
      batch = this.kernel.advance(target, this.batchEvents);
      this.emit(batch);
    } while (batch.length === this.batchEvents);
    this.prune(Math.min(untilUs, this.durationUs) - this.longestWindowUs);
  }

  private emit(batch: readonly PlannedEvent[]): void {
    for (const planned of batch) {
      const { item, generator, kernelUs } = this.rewriter.rewrite(planned);
      this.out.push(item);
      this.planned += 1;
      const type = item.event.type;
      if (item.stream === alertStream) {
        const rule = (item.event.payload as Record<string, JsonValue>).rule;
        if (typeof rule === 'string') this.alertTransitions.push({ atUs: kernelUs, rule, firing: type === alertEventTypes.fired });
      } else if (!isSystemStream(item.stream)) {
        // Windows are on the kernel's time (when the event happened in the run), not on its stamp.
        this.times.push(kernelUs);
        this.offsets.push(item.event.metadata.virtualTimeUs - kernelUs);
        this.generators.push(generator);
        this.types.push(type);
        this.streams.push(item.stream);
      }
    }
    if (this.ports.sink !== undefined && this.out.length >= this.batchEvents) this.flush();
  }

  private flush(): void {
    if (this.ports.sink === undefined || this.out.length === 0) return;
    this.ports.sink(this.out.splice(0, this.out.length));
  }

  /** Forgets workload events before `beforeUs` (no probe window reaches back that far: windows start after their fromUs). */
  private prune(beforeUs: number): void {
    let drop = 0;
    while (drop < this.times.length && (this.times[drop] as number) < beforeUs) drop += 1;
    if (drop < 50_000 && drop < this.times.length / 2) return;
    this.times = this.times.slice(drop);
    this.offsets = this.offsets.slice(drop);
    this.generators = this.generators.slice(drop);
    this.types = this.types.slice(drop);
    this.streams = this.streams.slice(drop);
  }

  // -- probes ---------------------------------------------------------------------------------

  private measure(probe: Probe, toUs: number): ProbeResult {
    const fromUs = Math.max(0, toUs - probe.window);
    const seconds = (toUs - fromUs) / 1_000_000;
    let value: number;
    if (probe.metric === 'alerts_firing') {
      const firing = new Map<string, boolean>();
      for (const transition of this.alertTransitions) if (transition.atUs <= toUs) firing.set(transition.rule, transition.firing);
      value = [...firing.values()].filter(Boolean).length;
    } else {
      const generator = 'generator' in probe && probe.generator !== undefined ? this.generatorIndex(probe.generator) : undefined;
      let count = 0;
      let largestOffsetUs = 0;
      const streams = new Set<string>();
      for (let index = 0; index < this.times.length; index++) {
        const atUs = this.times[index] as number;
        if (atUs <= fromUs || atUs > toUs) continue;
        if (generator !== undefined && this.generators[index] !== generator) continue;
        if (probe.metric === 'events_per_second_of_type' && this.types[index] !== probe.eventType) continue;
        count += 1;
        if (probe.metric === 'stream_count') streams.add(this.streams[index] as string);
        else if (probe.metric === 'clock_offset_ms') largestOffsetUs = Math.max(largestOffsetUs, Math.abs(this.offsets[index] as number));
      }
      value = probe.metric === 'stream_count' ? streams.size : probe.metric === 'clock_offset_ms' ? largestOffsetUs / 1_000 : count / seconds;
    }
    const { min, max } = probe.tolerance;
    const ok = (min === undefined || value >= min) && (max === undefined || value <= max);
    return { probe: probe.name, metric: probe.metric, fromUs, toUs, value, tolerance: probe.tolerance, ok };
  }
}
