/**
 * Operator actions: what a person does to a running run (pause, resume, change a parameter).
 * Each is recorded as an event in the run's stream at the kernel's sequence number, so that a
 * replay, given the same actions, writes the same log. A fork is a replay with one more action.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import { AuraError } from '../kernel/errors.ts';
import type { RateProfile } from './arrivals.ts';
import { rateSchema, rateToDocument, type Scenario } from './scenario.ts';
import { parseWith } from '../kernel/schema.ts';

export type OperatorAction =
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  /** `path` as in `--set`: workload.<generator>.rate.<field> or workload.<generator>.rate (a whole profile). */
  | { readonly kind: 'set'; readonly path: string; readonly value: JsonValue };

/** An action as recorded: the kernel sequence number its event took, and its virtual time. */
export interface RecordedAction {
  readonly sequence: number;
  readonly virtualTimeUs: number;
  readonly action: OperatorAction;
}

export const operatorEventTypes = { pause: 'RunPaused', resume: 'RunResumed', set: 'ParameterChanged' } as const;

/** The settable paths, for errors and help. */
export const settablePaths = ['workload.<generator>.rate', 'workload.<generator>.rate.<field>'] as const;

export interface ParameterChange {
  readonly generator: string;
  readonly rate: RateProfile;
  readonly previous: RateProfile;
}

/**
 * Applies `set` to a scenario: the changed scenario (validated like a scenario file) and what
 * changed. Throws AuraError('validation') naming the path when the path or the value is wrong.
 */
export function applySet(scenario: Scenario, path: string, value: JsonValue): { scenario: Scenario; change: ParameterChange } {
  const parts = path.split('.');
  const invalid = (message: string, at: (string | number)[] = parts): AuraError => new AuraError('validation', `cannot set ${path}: ${message}`, [{ path: at, message }]);
  if (parts[0] !== 'workload' || parts[2] !== 'rate' || parts.length < 3 || parts.length > 4) {
    throw invalid(`expected one of ${settablePaths.join(', ')}`);
  }
  const index = scenario.workload.findIndex((generator) => generator.name === parts[1]);
  const generator = scenario.workload[index];
  if (generator === undefined) throw invalid(`no generator named ${JSON.stringify(parts[1])} (generators: ${scenario.workload.map((item) => item.name).join(', ')})`);
  const field = parts[3];
  let document: unknown;
  if (field === undefined) {
    document = value;
  } else {
    if (field === 'profile') throw invalid('set the whole rate to change its profile');
    if (!(field in generator.rate)) throw invalid(`the ${generator.rate.profile} profile has no field ${field} (fields: ${Object.keys(generator.rate).filter((key) => key !== 'profile').join(', ')})`);
    document = { ...rateToDocument(generator.rate), [field]: value };
  }
  const parsed = parseWith(rateSchema, document);
  if (!parsed.ok) {
    const issue = parsed.issues[0];
    throw invalid(parsed.issues.map((item) => `${['rate', ...item.path].join('.')}: ${item.message}`).join('; '), ['workload', generator.name, 'rate', ...(issue?.path ?? [])]);
  }
  const rate = parsed.value;
  const workload = scenario.workload.map((item, position) => (position === index ? { ...item, rate } : item));
  return { scenario: { ...scenario, workload }, change: { generator: generator.name, rate, previous: generator.rate } };
}

/** Parses `key=value` (a `--set` argument): the value as JSON when it parses, else as text. */
export function parseSetArgument(text: string): { path: string; value: JsonValue } {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new AuraError('validation', `--set expects key=value, got ${JSON.stringify(text)}`);
  const raw = text.slice(equals + 1);
  let value: JsonValue;
  try {
    value = JSON.parse(raw) as JsonValue;
  } catch {
    value = raw;
  }
  return { path: text.slice(0, equals), value };
}
