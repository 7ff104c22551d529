/**
 * Sweep experiments: a base debate, a parameter grid and a replicate count. Every combination of
 * the grid's values is a cell; every cell is played `replicates` times. Replicate r uses the
 * same seed in every cell (derived from the experiment's seed and r, and recorded), so cells
 * differ by their parameters, not by their luck. Work is ordered replicate by replicate
 * (interleaved), so a sweep stopped half-way holds an even sample of every cell.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import { AuraError } from '../kernel/errors.ts';
import { hashString32 } from '../kernel/random.ts';
import { parseWith, s, type Infer } from '../kernel/schema.ts';
import { parseDebateSpec, type DebateSpec } from './spec.ts';

const slug = s.string({ minLength: 1, maxLength: 64, pattern: /^[a-z0-9][a-z0-9-]*$/, patternHint: 'lowercase letters, digits and dashes (a slug)' });
const scalar = s.either(s.either(s.string({ maxLength: 256 }), s.number(), 'a string or a number'), s.boolean(), 'a string, a number or a boolean');

export const experimentSchema = s.object(
  {
    version: s.literal(1),
    name: slug,
    description: s.optional(s.string({ maxLength: 2000 }), ''),
    seed: s.optional(s.number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER }), 1),
    replicates: s.number({ integer: true, min: 1, max: 100_000 }),
    /** The base debate (a debate spec, as in a scenario's debates). */
    debate: s.unknown(),
    /**
     * Parameters to vary: a path into the debate spec (`rounds`, `protocol`,
     * `aggregation.kind`, `agents[*].params.persuasionBias`, `agents[0].model`) or
     * `agents.count` (the agent list repeated, in order, to that many agents).
     */
    grid: s.array(
      s.object({
        path: s.string({ minLength: 1, maxLength: 200 }),
        /** Either plain values for `path`, or (with `variants`) named sets of paths changed together. */
        values: s.optional(s.array(scalar, { min: 1, max: 1_000 })),
        variants: s.optional(s.array(s.record(s.unknown(), { maxKeys: 16 }), { min: 1, max: 1_000 })),
      }),
      { min: 0, max: 16 },
    ),
  },
  { description: 'An AURA Lab sweep experiment' },
);

export type ExperimentDocument = Infer<typeof experimentSchema>;

export interface Cell {
  readonly index: number;
  /** The value of each grid parameter, by path. */
  readonly parameters: Readonly<Record<string, JsonValue>>;
  readonly spec: DebateSpec;
}

export interface Experiment {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly replicates: number;
  readonly grid: readonly { readonly path: string; readonly values: readonly JsonValue[]; readonly variants: boolean }[];
  readonly cells: readonly Cell[];
}

type Segment = string | number | '*';

function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const match = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\[(?:\d+|\*)\])*)$/.exec(part);
    if (match === null) throw new Error(`not a path segment: ${JSON.stringify(part)}`);
    segments.push(match[1] as string);
    for (const index of (match[2] ?? '').matchAll(/\[(\d+|\*)\]/g)) segments.push(index[1] === '*' ? '*' : Number(index[1]));
  }
  return segments;
}

/** Sets `value` at `path` in a JSON document (copy on write); `*` sets every element. */
function setAt(document: JsonValue, segments: readonly Segment[], value: JsonValue): JsonValue {
  if (segments.length === 0) return value;
  const [head, ...rest] = segments;
  if (head === '*') {
    if (!Array.isArray(document)) throw new Error('[*] on something that is not a list');
    return document.map((item) => setAt(item as JsonValue, rest, value));
  }
  if (typeof head === 'number') {
    if (!Array.isArray(document) || head >= document.length) throw new Error(`no element ${head}`);
    return document.map((item, index) => (index === head ? setAt(item as JsonValue, rest, value) : item));
  }
  const key = head as string;
  const object = document !== null && typeof document === 'object' && !Array.isArray(document) ? (document as Record<string, JsonValue>) : {};
  return { ...object, [key]: setAt(object[key] ?? {}, rest, value) };
}

/** The agent list repeated, in order, to `count` agents, with unique names. */
function withAgentCount(document: JsonValue, count: number): JsonValue {
  const object = document as Record<string, JsonValue>;
  const agents = Array.isArray(object.agents) ? (object.agents as Record<string, JsonValue>[]) : [];
  if (agents.length === 0) throw new Error('the base debate has no agents to repeat');
  const repeated = Array.from({ length: count }, (_, index) => {
    const template = agents[index % agents.length] as Record<string, JsonValue>;
    return index < agents.length ? template : { ...template, name: `${String(template.name)}-${Math.floor(index / agents.length) + 1}` };
  });
  return { ...object, agents: repeated };
}

/** Validates an experiment and expands its grid; errors name the field (and the cell). */
export function parseExperiment(document: unknown): Experiment {
  const parsed = parseWith(experimentSchema, document);
  if (!parsed.ok) throw new AuraError('validation', 'invalid experiment', parsed.issues);
  const raw = parsed.value;
  const base = raw.debate as JsonValue;
  try {
    parseDebateSpec(base);
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    throw new AuraError('validation', 'invalid experiment', error.issues.map((issue) => ({ ...issue, path: ['debate', ...issue.path] })));
  }
  const grid = raw.grid.map((axis, index) => {
    if ((axis.values === undefined) === (axis.variants === undefined)) {
      throw new AuraError('validation', 'invalid experiment', [{ path: ['grid', index], message: 'expected exactly one of values or variants' }]);
    }
    if (axis.variants !== undefined) {
      // `path` names the axis; each variant is { path: value, ... } applied together.
      for (const [variantIndex, variant] of axis.variants.entries()) {
        for (const key of Object.keys(variant)) {
          try {
            if (key !== 'agents.count') parsePath(key);
          } catch (error) {
            throw new AuraError('validation', 'invalid experiment', [{ path: ['grid', index, 'variants', variantIndex, key], message: (error as Error).message }]);
          }
        }
      }
      return { path: axis.path, values: axis.variants as JsonValue[], variants: true };
    }
    if (axis.path !== 'agents.count') {
      try {
        parsePath(axis.path);
      } catch (error) {
        throw new AuraError('validation', 'invalid experiment', [{ path: ['grid', index, 'path'], message: (error as Error).message }]);
      }
    } else if (!(axis.values ?? []).every((value) => typeof value === 'number' && Number.isInteger(value) && value >= 1)) {
      throw new AuraError('validation', 'invalid experiment', [{ path: ['grid', index, 'values'], message: 'agents.count takes positive integers' }]);
    }
    return { path: axis.path, values: (axis.values ?? []) as JsonValue[], variants: false };
  });
  const combinations: Record<string, JsonValue>[] = [{}];
  for (const axis of grid) {
    const next: Record<string, JsonValue>[] = [];
    for (const combination of combinations) for (const value of axis.values) next.push({ ...combination, [axis.path]: value });
    combinations.splice(0, combinations.length, ...next);
  }
  const cells = combinations.map((parameters, index): Cell => {
    let document = base;
    for (const axis of grid) {
      const value = parameters[axis.path] as JsonValue;
      try {
        const changes: [string, JsonValue][] = axis.variants ? Object.entries(value as Record<string, JsonValue>) : [[axis.path, value]];
        for (const [path, change] of changes) document = path === 'agents.count' ? withAgentCount(document, change as number) : setAt(document, parsePath(path), change);
      } catch (error) {
        throw new AuraError('validation', `invalid experiment: cell ${index} (${JSON.stringify(parameters)}): ${axis.path}: ${(error as Error).message}`, [{ path: ['grid', grid.indexOf(axis), 'path'], message: (error as Error).message }]);
      }
    }
    try {
      return { index, parameters, spec: parseDebateSpec(document) };
    } catch (error) {
      if (!(error instanceof AuraError)) throw error;
      const issue = error.issues[0];
      throw new AuraError('validation', `invalid experiment: cell ${index} (${JSON.stringify(parameters)}) is not a valid debate: ${issue === undefined ? error.message : `${issue.path.join('.')}: ${issue.message}`}`, error.issues.map((item) => ({ ...item, path: ['debate', ...item.path] })));
    }
  });
  return { name: raw.name, description: raw.description ?? '', seed: raw.seed ?? 1, replicates: raw.replicates, grid, cells };
}

/** Replicate r's seed: the same in every cell, derived from the experiment's seed. */
export function replicateSeed(experimentSeed: number, replicate: number): number {
  const high = hashString32(`${experimentSeed}/replicate/${replicate}`);
  const low = hashString32(`${replicate}#${experimentSeed}`);
  return (high % 0x200000) * 0x100000000 + low;
}

/** Work in interleaved order: every cell of replicate 0, then of replicate 1, and so on. */
export function* workOrder(experiment: Experiment): Generator<{ readonly cell: number; readonly replicate: number }> {
  for (let replicate = 0; replicate < experiment.replicates; replicate++) for (const cell of experiment.cells) yield { cell: cell.index, replicate };
}

export interface ReplicateResult {
  readonly cell: number;
  readonly replicate: number;
  readonly seed: number;
  readonly correct: boolean;
  readonly decided: boolean;
  readonly consensus: boolean;
  readonly rounds: number;
  readonly messages: number;
}

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly std: number;
  /** 95% confidence interval of the mean (normal approximation; 0 width for n = 1). */
  readonly ciLow: number;
  readonly ciHigh: number;
}

export function summarise(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: Number.NaN, std: Number.NaN, ciLow: Number.NaN, ciHigh: Number.NaN };
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  const variance = n > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1) : 0;
  const std = Math.sqrt(variance);
  const half = n > 1 ? (1.96 * std) / Math.sqrt(n) : 0;
  return { n, mean, std, ciLow: mean - half, ciHigh: mean + half };
}

export interface CellSummary {
  readonly cell: number;
  readonly parameters: Readonly<Record<string, JsonValue>>;
  readonly accuracy: Summary;
  readonly consensusRate: Summary;
  readonly rounds: Summary;
  readonly messages: Summary;
}

/** Per cell, over its replicates (in replicate order, so the result never depends on arrival order). */
export function summariseCells(experiment: Experiment, results: readonly ReplicateResult[]): CellSummary[] {
  return experiment.cells.map((cell) => {
    const rows = results.filter((result) => result.cell === cell.index).sort((a, b) => a.replicate - b.replicate);
    return {
      cell: cell.index,
      parameters: cell.parameters,
      accuracy: summarise(rows.map((row) => (row.correct ? 1 : 0))),
      consensusRate: summarise(rows.map((row) => (row.consensus ? 1 : 0))),
      rounds: summarise(rows.map((row) => row.rounds)),
      messages: summarise(rows.map((row) => row.messages)),
    };
  });
}

function csvField(value: JsonValue | number): string {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(Math.round(value * 1e6) / 1e6) : '') : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function resultsCsv(experiment: Experiment, summaries: readonly CellSummary[]): string {
  const metrics = ['accuracy', 'consensusRate', 'rounds', 'messages'] as const;
  const header = ['cell', ...experiment.grid.map((axis) => axis.path), 'n', ...metrics.flatMap((metric) => [`${metric}_mean`, `${metric}_std`, `${metric}_ci_low`, `${metric}_ci_high`])];
  const lines = [header.map((field) => csvField(field)).join(',')];
  for (const summary of summaries) {
    const row: (JsonValue | number)[] = [summary.cell, ...experiment.grid.map((axis) => summary.parameters[axis.path] ?? null), summary.accuracy.n];
    for (const metric of metrics) {
      const value = summary[metric];
      row.push(value.mean, value.std, value.ciLow, value.ciHigh);
    }
    lines.push(row.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
