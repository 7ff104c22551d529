/**
 * The shared session document: what a team holds together in one Automerge document (scenario
 * library, annotations anchored to run positions, chaos plans, drill notes, run summaries), and
 * the pure helpers that write it and check it.
 *
 * A session arrives from peers, so nothing in it is trusted: `readSession` keeps only the entries
 * that pass validation and lists the others as rejected (a malformed or oversized entry never
 * reaches a reader), and every local write validates its input first and throws a typed
 * `AuraError('validation', ...)` before the document is touched.
 */
import { createHash } from 'node:crypto';
import { ImmutableString, isImmutableString } from '@automerge/automerge';
import { AuraError, type ErrorIssue } from '../../core/kernel/errors.ts';

export interface ScenarioEntry {
  /** The scenario file's text (YAML). */
  readonly text: string;
  /** SHA-256 of the text, hex. */
  readonly sha256: string;
}

export interface Annotation {
  readonly runId: string;
  /** The run's event position the annotation is anchored to (1-based). */
  readonly position: number;
  readonly author: string;
  readonly text: string;
  readonly createdAtMs: number;
}

export interface ChaosPlan {
  /** The plan's text (YAML: faults, targets, schedule). */
  readonly text: string;
  readonly sha256: string;
  readonly author: string;
  readonly updatedAtMs: number;
}

export interface DrillNote {
  /** The drill (or drill run) the note belongs to. */
  readonly drillId: string;
  readonly author: string;
  readonly text: string;
  readonly createdAtMs: number;
}

export interface RunSummary {
  readonly manifest: {
    readonly scenarioName: string;
    readonly scenarioSha256: string;
    readonly seed: number;
    readonly headPosition: number;
    readonly headHash: string;
    readonly status: string;
  };
  /** A run's report in brief (a chaos or drill verdict), when there is one. */
  readonly report?: {
    readonly verdict: string;
    readonly summary: string;
  };
}

export interface SessionDoc {
  title: string;
  scenarios: Record<string, ScenarioEntry>;
  annotations: Record<string, Annotation>;
  chaosPlans: Record<string, ChaosPlan>;
  drillNotes: Record<string, DrillNote>;
  runs: Record<string, RunSummary>;
}

export type SessionSection = Exclude<keyof SessionDoc, 'title'>;
export const sessionSections: readonly SessionSection[] = ['scenarios', 'annotations', 'chaosPlans', 'drillNotes', 'runs'];

/** Limits on what one entry may hold; larger entries are rejected, locally and from peers. */
export const sessionLimits = {
  titleChars: 200,
  keyChars: 128,
  authorChars: 128,
  annotationChars: 10_000,
  noteChars: 20_000,
  /** Scenario and chaos plan texts. */
  documentChars: 256 * 1024,
  summaryChars: 10_000,
  entriesPerSection: 100_000,
} as const;

const keyPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const hexHash = /^[0-9a-f]{64}$/;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function emptySession(title: string): SessionDoc {
  return { title: checkTitle(title), scenarios: {}, annotations: {}, chaosPlans: {}, drillNotes: {}, runs: {} };
}

// ---- validation -------------------------------------------------------------------------------

class Checker {
  readonly issues: ErrorIssue[] = [];
  constructor(private readonly base: readonly (string | number)[]) {}

  record(value: unknown): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.issues.push({ path: this.base, message: 'expected an object' });
      return undefined;
    }
    return value as Record<string, unknown>;
  }

  string(raw: unknown, field: string, max: number, pattern?: RegExp): string {
    // Texts are stored whole (ImmutableString): a scenario or a note is replaced, not merged character by character.
    const value = isImmutableString(raw) ? (raw as ImmutableString).val : raw;
    if (typeof value !== 'string') this.issues.push({ path: [...this.base, field], message: 'expected a string' });
    else if (value.length > max) this.issues.push({ path: [...this.base, field], message: `longer than ${max} characters` });
    else if (pattern !== undefined && !pattern.test(value)) this.issues.push({ path: [...this.base, field], message: 'has characters that are not allowed' });
    return typeof value === 'string' ? value : '';
  }

  integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) this.issues.push({ path: [...this.base, field], message: `expected an integer in ${min}..${max}` });
    return typeof value === 'number' ? value : 0;
  }

  hash(value: unknown, field: string): string {
    return this.string(value, field, 64, hexHash);
  }

  /** No fields but the known ones (a peer cannot smuggle data into an entry). */
  only(record: Record<string, unknown>, fields: readonly string[]): void {
    for (const key of Object.keys(record)) if (!fields.includes(key)) this.issues.push({ path: [...this.base, key], message: 'unknown field' });
  }

  throwIfAny(what: string): void {
    if (this.issues.length > 0) throw new AuraError('validation', `invalid ${what}`, this.issues);
  }
}

export function checkKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > sessionLimits.keyChars || !keyPattern.test(key)) {
    throw new AuraError('validation', `invalid ${what}: expected 1-${sessionLimits.keyChars} characters of A-Z a-z 0-9 . _ : - (starting with a letter or digit)`);
  }
  return key;
}

export function checkTitle(title: unknown): string {
  const checker = new Checker(['title']);
  if (typeof title !== 'string' || title.length === 0 || title.length > sessionLimits.titleChars) checker.issues.push({ path: ['title'], message: `expected 1-${sessionLimits.titleChars} characters` });
  checker.throwIfAny('session title');
  return title as string;
}

export function validateScenario(value: unknown, path: readonly (string | number)[] = ['scenario']): ScenarioEntry {
  const checker = new Checker(path);
  const record = checker.record(value);
  if (record !== undefined) {
    checker.only(record, ['text', 'sha256']);
    const text = checker.string(record.text, 'text', sessionLimits.documentChars);
    const hash = checker.hash(record.sha256, 'sha256');
    if (checker.issues.length === 0 && sha256Hex(text) !== hash) checker.issues.push({ path: [...path, 'sha256'], message: 'does not match the text' });
  }
  checker.throwIfAny('scenario');
  return value as ScenarioEntry;
}

export function validateAnnotation(value: unknown, path: readonly (string | number)[] = ['annotation']): Annotation {
  const checker = new Checker(path);
  const record = checker.record(value);
  if (record !== undefined) {
    checker.only(record, ['runId', 'position', 'author', 'text', 'createdAtMs']);
    checker.string(record.runId, 'runId', sessionLimits.keyChars, keyPattern);
    checker.integer(record.position, 'position', 1);
    checker.string(record.author, 'author', sessionLimits.authorChars);
    checker.string(record.text, 'text', sessionLimits.annotationChars);
    checker.integer(record.createdAtMs, 'createdAtMs', 0);
  }
  checker.throwIfAny('annotation');
  return value as Annotation;
}

export function validateChaosPlan(value: unknown, path: readonly (string | number)[] = ['chaosPlan']): ChaosPlan {
  const checker = new Checker(path);
  const record = checker.record(value);
  if (record !== undefined) {
    checker.only(record, ['text', 'sha256', 'author', 'updatedAtMs']);
    const text = checker.string(record.text, 'text', sessionLimits.documentChars);
    const hash = checker.hash(record.sha256, 'sha256');
    checker.string(record.author, 'author', sessionLimits.authorChars);
    checker.integer(record.updatedAtMs, 'updatedAtMs', 0);
    if (checker.issues.length === 0 && sha256Hex(text) !== hash) checker.issues.push({ path: [...path, 'sha256'], message: 'does not match the text' });
  }
  checker.throwIfAny('chaos plan');
  return value as ChaosPlan;
}

export function validateDrillNote(value: unknown, path: readonly (string | number)[] = ['drillNote']): DrillNote {
  const checker = new Checker(path);
  const record = checker.record(value);
  if (record !== undefined) {
    checker.only(record, ['drillId', 'author', 'text', 'createdAtMs']);
    checker.string(record.drillId, 'drillId', sessionLimits.keyChars, keyPattern);
    checker.string(record.author, 'author', sessionLimits.authorChars);
    checker.string(record.text, 'text', sessionLimits.noteChars);
    checker.integer(record.createdAtMs, 'createdAtMs', 0);
  }
  checker.throwIfAny('drill note');
  return value as DrillNote;
}

export function validateRunSummary(value: unknown, path: readonly (string | number)[] = ['run']): RunSummary {
  const checker = new Checker(path);
  const record = checker.record(value);
  if (record !== undefined) {
    checker.only(record, ['manifest', 'report']);
    const manifest = new Checker([...path, 'manifest']);
    const m = manifest.record(record.manifest);
    if (m !== undefined) {
      manifest.only(m, ['scenarioName', 'scenarioSha256', 'seed', 'headPosition', 'headHash', 'status']);
      manifest.string(m.scenarioName, 'scenarioName', sessionLimits.keyChars);
      manifest.hash(m.scenarioSha256, 'scenarioSha256');
      manifest.integer(m.seed, 'seed', 0, 2 ** 32 - 1);
      manifest.integer(m.headPosition, 'headPosition', 0);
      manifest.hash(m.headHash, 'headHash');
      manifest.string(m.status, 'status', 32);
    }
    checker.issues.push(...manifest.issues);
    if (record.report !== undefined) {
      const report = new Checker([...path, 'report']);
      const r = report.record(record.report);
      if (r !== undefined) {
        report.only(r, ['verdict', 'summary']);
        report.string(r.verdict, 'verdict', 32);
        report.string(r.summary, 'summary', sessionLimits.summaryChars);
      }
      checker.issues.push(...report.issues);
    }
  }
  checker.throwIfAny('run summary');
  return value as RunSummary;
}

const validators: { readonly [S in SessionSection]: (value: unknown, path: readonly (string | number)[]) => SessionDoc[S][string] } = {
  scenarios: validateScenario,
  annotations: validateAnnotation,
  chaosPlans: validateChaosPlan,
  drillNotes: validateDrillNote,
  runs: validateRunSummary,
};

/** A session as a reader may use it: only valid entries, and what was left out and why. */
export interface SessionView {
  readonly session: SessionDoc;
  readonly rejected: readonly ErrorIssue[];
}

/**
 * Copies the valid part of a session document (whatever a peer sent) into plain objects. An
 * entry that fails validation, has a bad key, or lies beyond the per-section limit is left out
 * and listed in `rejected`.
 */
export function readSession(doc: unknown): SessionView {
  const rejected: ErrorIssue[] = [];
  const root = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
  let title = '';
  try {
    title = checkTitle(root.title);
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    rejected.push(...error.issues);
  }
  const session = emptySessionUnchecked(title);
  for (const section of sessionSections) {
    const entries = root[section];
    if (entries === undefined) continue;
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      rejected.push({ path: [section], message: 'expected an object' });
      continue;
    }
    let count = 0;
    const target = session[section] as Record<string, unknown>;
    // Sorted keys: every peer reads a converged document identically.
    const record = entries as Record<string, unknown>;
    for (const key of Object.keys(record).sort()) {
      const value = record[key];
      if (count >= sessionLimits.entriesPerSection) {
        rejected.push({ path: [section, key], message: `more than ${sessionLimits.entriesPerSection} entries` });
        continue;
      }
      try {
        checkKey(key);
        target[key] = structuredClone(plain(validators[section](value, [section, key])));
        count += 1;
      } catch (error) {
        if (!(error instanceof AuraError)) throw error;
        rejected.push(...(error.issues.length > 0 ? error.issues : [{ path: [section, key], message: error.message }]));
      }
    }
  }
  return { session, rejected };
}

function emptySessionUnchecked(title: string): SessionDoc {
  return { title, scenarios: {}, annotations: {}, chaosPlans: {}, drillNotes: {}, runs: {} };
}

/** Automerge values are proxies in a change and frozen objects outside one; JSON makes them plain. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Entry counts per section, for status lines. */
export function sessionCounts(session: SessionDoc): Record<SessionSection, number> {
  return {
    scenarios: Object.keys(session.scenarios).length,
    annotations: Object.keys(session.annotations).length,
    chaosPlans: Object.keys(session.chaosPlans).length,
    drillNotes: Object.keys(session.drillNotes).length,
    runs: Object.keys(session.runs).length,
  };
}

// ---- writers (call inside a change) ------------------------------------------------------------

/**
 * A text stored whole: loading a session of thousands of texts stays fast (a collaborative text
 * costs one operation per character), and concurrent edits of one text keep one writer's version
 * (Automerge picks it deterministically) rather than interleaving characters.
 */
function whole(text: string): string {
  return new ImmutableString(text) as unknown as string;
}

/** Makes sure every section exists (a document that arrived from an old or odd peer may lack one). */
export function ensureSections(doc: SessionDoc): void {
  for (const section of sessionSections) {
    const value = (doc as unknown as Record<string, unknown>)[section];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) (doc as unknown as Record<string, unknown>)[section] = {};
  }
}

export function setTitle(doc: SessionDoc, title: string): void {
  doc.title = checkTitle(title);
}

export function putScenario(doc: SessionDoc, name: string, text: string): ScenarioEntry {
  const entry = validateScenario({ text, sha256: sha256Hex(text) }, ['scenarios', checkKey(name, 'scenario name')]);
  ensureSections(doc);
  doc.scenarios[name] = { ...entry, text: whole(entry.text) };
  return entry;
}

export function addAnnotation(doc: SessionDoc, id: string, annotation: Annotation): Annotation {
  const entry = validateAnnotation({ ...annotation }, ['annotations', checkKey(id, 'annotation id')]);
  ensureSections(doc);
  if (doc.annotations[id] !== undefined) throw new AuraError('conflict', 'an annotation with this id exists');
  doc.annotations[id] = { ...entry, text: whole(entry.text) };
  return entry;
}

export function putChaosPlan(doc: SessionDoc, name: string, plan: Omit<ChaosPlan, 'sha256'>): ChaosPlan {
  const entry = validateChaosPlan({ ...plan, sha256: sha256Hex(plan.text) }, ['chaosPlans', checkKey(name, 'chaos plan name')]);
  ensureSections(doc);
  doc.chaosPlans[name] = { ...entry, text: whole(entry.text) };
  return entry;
}

export function addDrillNote(doc: SessionDoc, id: string, note: DrillNote): DrillNote {
  const entry = validateDrillNote({ ...note }, ['drillNotes', checkKey(id, 'drill note id')]);
  ensureSections(doc);
  doc.drillNotes[id] = { ...entry, text: whole(entry.text) };
  return entry;
}

export function putRunSummary(doc: SessionDoc, runId: string, summary: RunSummary): RunSummary {
  const entry = validateRunSummary(plain(summary), ['runs', checkKey(runId, 'run id')]);
  ensureSections(doc);
  doc.runs[runId] = plain(entry);
  return entry;
}

/** Takes a scenario or a chaos plan out of the session (curating the library); false when there is none of that name. */
export function removeEntry(doc: SessionDoc, section: 'scenarios' | 'chaosPlans', name: string): boolean {
  ensureSections(doc);
  const entries = doc[section] as Record<string, unknown>;
  if (!Object.hasOwn(entries, name)) return false;
  delete entries[name];
  return true;
}
