/**
 * Chaos Toolkit interchange for chaos experiments. Export writes a Chaos Toolkit experiment
 * (version 1.0.0): probes and faults as `process` providers of `aura-lab` with their arguments,
 * tolerances as ranges, moments of the method as `pauses`, and what Chaos Toolkit has no field
 * for (scenario, seed, duration, warm-up, rollback policy, abort) in an `aura-lab` extension.
 * Import maps what maps, our own export exactly, and names everything else by JSON pointer
 * with the reason: nothing is dropped silently.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import { AuraError, type ErrorIssue } from '../kernel/errors.ts';
import { formatDurationUs } from '../sim/duration.ts';
import { parseSetArgument } from '../sim/operator.ts';
import { defaultRollbacks, experimentFormatVersion, faultId, faultToDocument, validateExperiment, type Experiment, type Probe, type RollbackAction } from './experiment.ts';

export const ctkVersion = '1.0.0';
export const ctkExtensionName = 'aura-lab';
/** The program named by the process providers. */
export const ctkProcessPath = 'aura-lab';
/** One-sided tolerances: Chaos Toolkit ranges need both bounds, so a missing one is the largest double. */
const unbounded = Number.MAX_VALUE;

type Json = Record<string, JsonValue>;

export interface Unmapped {
  /** JSON pointer (RFC 6901) into the Chaos Toolkit document. */
  readonly path: string;
  readonly reason: string;
}

export interface ImportResult {
  /** The experiment, when what mapped is a valid experiment. */
  readonly experiment: Experiment | undefined;
  /** What mapped, in experiment-file form (written out even when incomplete). */
  readonly document: Json;
  /** Everything that did not map. */
  readonly unmapped: readonly Unmapped[];
  /** Why the mapped document is not a valid experiment (paths in the experiment document). */
  readonly issues: readonly ErrorIssue[];
}

// ---------------------------------------------------------------------------------------------
// Export

function processProvider(args: string[]): Json {
  return { type: 'process', path: ctkProcessPath, arguments: args };
}

function probeArguments(probe: Probe): string[] {
  const args = ['probe', '--metric', probe.metric, '--window', formatDurationUs(probe.window)];
  if ('generator' in probe && probe.generator !== undefined) args.push('--generator', probe.generator);
  if ('eventType' in probe) args.push('--event-type', probe.eventType);
  return args;
}

const faultFlags: Record<string, string> = { generator: '--generator', factor: '--factor', over: '--over', duration: '--duration', share: '--share', stream: '--stream', offset: '--offset', by: '--by' };
/** Fault arguments that stay text on import (names and durations; a signed one such as -2s too). */
const textFaultFields = new Set(['generator', 'over', 'duration', 'offset', 'by']);

function rollbackArguments(action: RollbackAction): string[] {
  if (action.kind === 'undo-all') return ['rollback', '--undo-all'];
  if (action.kind === 'undo') return ['rollback', '--undo', action.fault];
  return ['rollback', '--set', `${action.path}=${JSON.stringify(action.value)}`];
}

/** The experiment as a Chaos Toolkit experiment (plain JSON). */
export function exportChaosToolkit(experiment: Experiment): Json {
  const rollbacks = experiment.rollbacks ?? defaultRollbacks;
  const extension: Json = { name: ctkExtensionName, formatVersion: experiment.version ?? experimentFormatVersion, scenario: experiment.scenario };
  if (experiment.seed !== undefined) extension.seed = experiment.seed;
  if (experiment.duration !== undefined) extension.duration = formatDurationUs(experiment.duration);
  if (experiment.warmup !== undefined) extension.warmup = formatDurationUs(experiment.warmup);
  extension.rollbackPolicy = rollbacks.policy;
  if (experiment.abort !== undefined) extension.abort = { probe: experiment.abort.probe, failures: experiment.abort.failures };
  if (experiment.description === undefined) extension.generatedDescription = true;
  let previousUs = 0;
  const method = experiment.method.map((step, index): Json => {
    const args = ['fault', '--kind', step.fault.kind];
    for (const [key, value] of Object.entries(faultToDocument(step.fault))) if (key !== 'kind') args.push(faultFlags[key] ?? `--${key}`, String(value));
    if (step.name !== undefined) args.push('--name', step.name);
    const action: Json = { type: 'action', name: faultId(step, index), provider: processProvider(args) };
    if (step.at > previousUs) action.pauses = { before: (step.at - previousUs) / 1_000_000 };
    previousUs = step.at;
    return action;
  });
  return {
    version: ctkVersion,
    title: experiment.title,
    description: experiment.description ?? `AURA Lab chaos experiment on scenario ${experiment.scenario}`,
    tags: [ctkExtensionName],
    extensions: [extension],
    'steady-state-hypothesis': {
      title: experiment.steadyStateHypothesis.title,
      probes: experiment.steadyStateHypothesis.probes.map((probe) => ({
        type: 'probe',
        name: probe.name,
        tolerance: [probe.tolerance.min ?? -unbounded, probe.tolerance.max ?? unbounded],
        provider: processProvider(probeArguments(probe)),
      })),
    },
    method,
    rollbacks: (rollbacks.actions ?? []).map((action) => ({
      type: 'action',
      name: action.kind === 'undo' ? `undo-${action.fault}` : action.kind,
      provider: processProvider(rollbackArguments(action)),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Import

function pointer(...parts: (string | number)[]): string {
  return parts.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

class Importer {
  readonly unmapped: Unmapped[] = [];

  skip(path: string, reason: string): void {
    this.unmapped.push({ path, reason });
  }

  /** Reports every key of `value` not in `known`. */
  extraKeys(value: Record<string, unknown>, at: (string | number)[], known: readonly string[], what: string): void {
    for (const key of Object.keys(value)) if (!known.includes(key)) this.skip(pointer(...at, key), reasonForKey(key, what));
  }

  /**
   * A process provider of aura-lab: its subcommand and flags; anything else is reported and
   * undefined returned (the activity does not map).
   */
  provider(activity: Record<string, unknown>, at: (string | number)[], subcommand: string): Map<string, string> | undefined {
    const provider = activity.provider;
    if (!isObject(provider)) {
      this.skip(pointer(...at, ...(activity.ref === undefined ? ['provider'] : ['ref'])), activity.ref === undefined ? 'the activity has no provider' : 'references to other activities are not supported');
      return undefined;
    }
    if (provider.type === 'python') {
      this.skip(pointer(...at, 'provider'), `a python provider (${String(provider.module)}.${String(provider.func)}) runs code outside the simulation; AURA Lab experiments use only ${ctkProcessPath} process providers`);
      return undefined;
    }
    if (provider.type === 'http') {
      this.skip(pointer(...at, 'provider'), `an http provider (${String(provider.url)}) calls a live system; AURA Lab experiments run on a simulated one`);
      return undefined;
    }
    if (provider.type !== 'process') {
      this.skip(pointer(...at, 'provider', 'type'), `provider type ${JSON.stringify(provider.type)} is not supported`);
      return undefined;
    }
    if (provider.path !== ctkProcessPath) {
      this.skip(pointer(...at, 'provider', 'path'), `a process provider of ${JSON.stringify(provider.path)}; only ${ctkProcessPath} maps`);
      return undefined;
    }
    this.extraKeys(provider, [...at, 'provider'], ['type', 'path', 'arguments'], 'provider');
    const raw = provider.arguments;
    const args = typeof raw === 'string' ? raw.split(/\s+/).filter((item) => item !== '') : Array.isArray(raw) ? raw : undefined;
    if (args === undefined || args.some((item) => typeof item !== 'string')) {
      this.skip(pointer(...at, 'provider', 'arguments'), 'expected a list of strings');
      return undefined;
    }
    if (args[0] !== subcommand) {
      this.skip(pointer(...at, 'provider', 'arguments', 0), `expected ${ctkProcessPath} ${subcommand} here, got ${JSON.stringify(args[0] ?? '')}`);
      return undefined;
    }
    const flags = new Map<string, string>();
    for (let index = 1; index < args.length; index++) {
      const flag = args[index] as string;
      const next = args[index + 1] as string | undefined;
      const value = next !== undefined && !next.startsWith('--') ? next : undefined;
      if (!flag.startsWith('--') || flags.has(flag)) {
        this.skip(pointer(...at, 'provider', 'arguments', index), flag.startsWith('--') ? `${flag} is given twice` : `unexpected argument ${JSON.stringify(flag)}`);
        continue;
      }
      flags.set(flag, value ?? '');
      if (value !== undefined) index += 1;
    }
    return flags;
  }

  /** Reports the flags not taken (each by its index in the arguments). */
  leftoverFlags(flags: Map<string, string>, taken: readonly string[], activity: Record<string, unknown>, at: (string | number)[]): void {
    const provider = activity.provider as Record<string, unknown>;
    const raw = provider.arguments;
    const args = typeof raw === 'string' ? raw.split(/\s+/).filter((item) => item !== '') : (raw as string[]);
    for (const flag of flags.keys()) {
      if (taken.includes(flag)) continue;
      this.skip(pointer(...at, 'provider', 'arguments', args.indexOf(flag)), `unknown argument ${flag} of ${ctkProcessPath} ${String(args[0])}`);
    }
  }
}

function reasonForKey(key: string, what: string): string {
  switch (key) {
    case 'controls':
      return 'controls hook into the Chaos Toolkit runtime; AURA Lab has no equivalent';
    case 'secrets':
      return 'secrets are for live systems; a simulated run needs none';
    case 'configuration':
      return 'configuration entries are not used by AURA Lab experiments';
    case 'background':
      return 'background activities are not supported: faults happen at moments of virtual time';
    case 'contributions':
      return 'contributions are not part of an AURA Lab experiment';
    default:
      return `unknown ${what} field ${JSON.stringify(key)}`;
  }
}

function toleranceOf(value: unknown): { min?: number; max?: number } | string {
  const bound = (item: unknown, sign: number): number | undefined | string => {
    if (typeof item !== 'number' || !Number.isFinite(item)) return `range bounds must be numbers, got ${JSON.stringify(item)}`;
    return item === sign * unbounded ? undefined : item;
  };
  const range = (pair: unknown): { min?: number; max?: number } | string => {
    if (!Array.isArray(pair) || pair.length !== 2) return 'expected a range [min, max]';
    const min = bound(pair[0], -1);
    const max = bound(pair[1], 1);
    if (typeof min === 'string') return min;
    if (typeof max === 'string') return max;
    return { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  };
  if (typeof value === 'number' && Number.isFinite(value)) return { min: value, max: value };
  // A boolean tolerance on a numeric probe: true is "some" (at least 1), false is "none" (0).
  if (typeof value === 'boolean') return value ? { min: 1 } : { max: 0 };
  if (Array.isArray(value)) return range(value);
  if (isObject(value)) {
    if (value.type === 'range') {
      if (value.target !== undefined) return 'a range tolerance with a target (a field of the probe output) does not map: probes yield one number';
      return range(value.range);
    }
    return `a ${String(value.type)} tolerance does not map: AURA Lab probes are numbers checked against a range`;
  }
  return `a ${typeof value} tolerance (${JSON.stringify(value)}) does not map: AURA Lab probes are numbers checked against a range`;
}

/** Numbers in arguments stay text when they are not numbers, so that validation names them. */
function numeric(text: string): JsonValue {
  const value = Number(text);
  return text.trim() !== '' && Number.isFinite(value) ? value : text;
}

const toMicros = (seconds: number): number => Math.round(seconds * 1_000_000);

/** Maps a Chaos Toolkit experiment (parsed JSON) onto an experiment, naming what did not map. */
export function importChaosToolkit(json: unknown): ImportResult {
  const importer = new Importer();
  const document: Json = { version: experimentFormatVersion };
  if (!isObject(json)) {
    importer.skip('', 'expected a Chaos Toolkit experiment (a JSON object)');
    return finish(document, importer);
  }
  // Entry by entry, so that each one is named.
  for (const key of ['configuration', 'secrets', 'controls'] as const) {
    const value = json[key];
    if (value === undefined) continue;
    const entries = Array.isArray(value) ? value.map((_, index) => index) : isObject(value) ? Object.keys(value) : [];
    if (entries.length === 0) importer.skip(pointer(key), reasonForKey(key, 'experiment'));
    for (const entry of entries) importer.skip(pointer(key, entry), reasonForKey(key, 'experiment'));
  }
  importer.extraKeys(json, [], ['version', 'title', 'description', 'tags', 'extensions', 'steady-state-hypothesis', 'method', 'rollbacks', 'configuration', 'secrets', 'controls'], 'experiment');
  if (json.version !== undefined && json.version !== ctkVersion) importer.skip(pointer('version'), `Chaos Toolkit format ${JSON.stringify(json.version)}; ${ctkVersion} was assumed`);

  // The aura-lab extension: what Chaos Toolkit has no field for.
  let generatedDescription = false;
  let policy: JsonValue | undefined;
  const extension: Json = {};
  if (json.extensions !== undefined) {
    if (!Array.isArray(json.extensions)) importer.skip(pointer('extensions'), 'expected a list');
    else {
      json.extensions.forEach((item: unknown, index) => {
        if (!isObject(item) || item.name !== ctkExtensionName) {
          importer.skip(pointer('extensions', index), `extension ${JSON.stringify(isObject(item) ? item.name : item)} is not ${ctkExtensionName}'s`);
          return;
        }
        for (const [key, value] of Object.entries(item)) {
          if (key === 'name') continue;
          if (key === 'formatVersion' && value === experimentFormatVersion) continue;
          if (key === 'generatedDescription' && typeof value === 'boolean') generatedDescription = value;
          else if (key === 'rollbackPolicy') policy = value as JsonValue;
          else if (['scenario', 'seed', 'duration', 'warmup', 'abort'].includes(key)) extension[key] = value as JsonValue;
          else importer.skip(pointer('extensions', index, key), key === 'formatVersion' ? `format version ${JSON.stringify(value)} is not ${experimentFormatVersion}` : `unknown ${ctkExtensionName} extension field ${JSON.stringify(key)}`);
        }
      });
    }
  }
  if (json.title !== undefined) document.title = json.title as JsonValue;
  if (json.description !== undefined && !generatedDescription) document.description = json.description as JsonValue;
  if (extension.scenario !== undefined) document.scenario = extension.scenario;
  else importer.skip('', `no ${ctkExtensionName} extension names the scenario; set scenario in the experiment file`);
  for (const key of ['seed', 'duration', 'warmup'] as const) if (extension[key] !== undefined) document[key] = extension[key];
  if (Array.isArray(json.tags)) json.tags.forEach((tag: unknown, index) => tag !== ctkExtensionName && importer.skip(pointer('tags', index), `tag ${JSON.stringify(tag)}: AURA Lab experiments have no tags`));
  else if (json.tags !== undefined) importer.skip(pointer('tags'), 'expected a list of tags');

  // Steady-state hypothesis.
  const hypothesis = json['steady-state-hypothesis'];
  const probes: JsonValue[] = [];
  if (isObject(hypothesis)) {
    importer.extraKeys(hypothesis, ['steady-state-hypothesis'], ['title', 'probes'], 'hypothesis');
    document.steadyStateHypothesis = { title: hypothesis.title as JsonValue, probes };
    const list = Array.isArray(hypothesis.probes) ? hypothesis.probes : [];
    if (!Array.isArray(hypothesis.probes) && hypothesis.probes !== undefined) importer.skip(pointer('steady-state-hypothesis', 'probes'), 'expected a list');
    list.forEach((probe: unknown, index) => {
      const at = ['steady-state-hypothesis', 'probes', index];
      if (!isObject(probe)) return importer.skip(pointer(...at), 'expected a probe');
      if (probe.type !== 'probe') return importer.skip(pointer(...at, 'type'), `expected a probe, got ${JSON.stringify(probe.type)}`);
      importer.extraKeys(probe, at, ['type', 'name', 'tolerance', 'provider'], 'probe');
      const flags = importer.provider(probe, at, 'probe');
      if (flags === undefined) return;
      const tolerance = toleranceOf(probe.tolerance);
      if (typeof tolerance === 'string') return importer.skip(pointer(...at, 'tolerance'), `${tolerance}; the probe is left out`);
      importer.leftoverFlags(flags, ['--metric', '--window', '--generator', '--event-type'], probe, at);
      const mapped: Json = { name: probe.name as JsonValue };
      if (flags.has('--metric')) mapped.metric = flags.get('--metric') as string;
      if (flags.has('--window')) mapped.window = flags.get('--window') as string;
      if (flags.has('--generator')) mapped.generator = flags.get('--generator') as string;
      if (flags.has('--event-type')) mapped.eventType = flags.get('--event-type') as string;
      mapped.tolerance = tolerance;
      probes.push(mapped);
    });
  } else if (hypothesis !== undefined) importer.skip(pointer('steady-state-hypothesis'), 'expected a mapping');

  // Method: moments from the pauses (before: wait, then act; after: wait after acting).
  const method: JsonValue[] = [];
  document.method = method;
  let clockUs = 0;
  if (Array.isArray(json.method)) {
    json.method.forEach((activity: unknown, index) => {
      const at = ['method', index];
      if (!isObject(activity)) return importer.skip(pointer(...at), 'expected an activity');
      const pauses = isObject(activity.pauses) ? activity.pauses : {};
      if (activity.pauses !== undefined) {
        if (!isObject(activity.pauses)) importer.skip(pointer(...at, 'pauses'), 'expected { before, after } in seconds');
        else importer.extraKeys(activity.pauses, [...at, 'pauses'], ['before', 'after'], 'pauses');
      }
      const pause = (key: 'before' | 'after'): number => {
        const value = pauses[key];
        if (value === undefined) return 0;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
          importer.skip(pointer(...at, 'pauses', key), `expected seconds (a number >= 0), got ${JSON.stringify(value)}`);
          return 0;
        }
        return toMicros(value);
      };
      clockUs += pause('before');
      const afterUs = pause('after');
      if (activity.type !== 'action') {
        importer.skip(pointer(...at, 'type'), activity.type === 'probe' ? 'probes in the method do not map: every hypothesis probe is checked every window during the method' : `expected an action, got ${JSON.stringify(activity.type)}`);
        clockUs += afterUs;
        return;
      }
      importer.extraKeys(activity, at, ['type', 'name', 'provider', 'pauses'], 'action');
      const flags = importer.provider(activity, at, 'fault');
      if (flags !== undefined) {
        importer.leftoverFlags(flags, ['--kind', '--name', ...Object.values(faultFlags)], activity, at);
        const fault: Json = {};
        if (flags.has('--kind')) fault.kind = flags.get('--kind') as string;
        for (const [key, flag] of Object.entries(faultFlags)) {
          if (!flags.has(flag)) continue;
          const text = flags.get(flag) as string;
          fault[key] = textFaultFields.has(key) ? text : numeric(text);
        }
        const step: Json = { at: formatDurationUs(clockUs) };
        const name = flags.get('--name');
        const index = method.length;
        if (name !== undefined) step.name = name;
        else if (typeof activity.name === 'string' && activity.name !== `${String(fault.kind)}-${index + 1}`) step.name = activity.name;
        step.fault = fault;
        method.push(step);
      }
      clockUs += afterUs;
    });
  } else if (json.method !== undefined) importer.skip(pointer('method'), 'expected a list of activities');

  // Rollbacks.
  const actions: JsonValue[] = [];
  if (Array.isArray(json.rollbacks)) {
    json.rollbacks.forEach((activity: unknown, index) => {
      const at = ['rollbacks', index];
      if (!isObject(activity)) return importer.skip(pointer(...at), 'expected an activity');
      if (activity.type !== 'action') return importer.skip(pointer(...at, 'type'), `expected an action, got ${JSON.stringify(activity.type)}`);
      importer.extraKeys(activity, at, ['type', 'name', 'provider'], 'action');
      const flags = importer.provider(activity, at, 'rollback');
      if (flags === undefined) return;
      const kinds = ['--undo-all', '--undo', '--set'].filter((flag) => flags.has(flag));
      if (kinds.length !== 1) return importer.skip(pointer(...at, 'provider', 'arguments'), 'expected exactly one of --undo-all, --undo <fault>, --set <path>=<value>');
      importer.leftoverFlags(flags, kinds, activity, at);
      if (kinds[0] === '--undo-all') actions.push({ kind: 'undo-all' });
      else if (kinds[0] === '--undo') actions.push({ kind: 'undo', fault: flags.get('--undo') as string });
      else {
        try {
          const { path, value } = parseSetArgument(flags.get('--set') as string);
          actions.push({ kind: 'set', path, value });
        } catch (error) {
          if (!(error instanceof AuraError)) throw error;
          importer.skip(pointer(...at, 'provider', 'arguments'), error.message);
        }
      }
    });
  } else if (json.rollbacks !== undefined) importer.skip(pointer('rollbacks'), 'expected a list of activities');
  if (policy !== undefined || json.rollbacks !== undefined) document.rollbacks = { policy: policy ?? defaultRollbacks.policy, actions };
  if (extension.abort !== undefined) document.abort = extension.abort;
  return finish(document, importer);
}

function finish(document: Json, importer: Importer): ImportResult {
  let experiment: Experiment | undefined;
  let issues: readonly ErrorIssue[] = [];
  try {
    experiment = validateExperiment(document);
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    issues = error.issues.length > 0 ? error.issues : [{ path: [], message: error.message }];
  }
  return { experiment, document, unmapped: importer.unmapped, issues };
}
