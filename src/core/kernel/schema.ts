/**
 * A small schema language for the lab's input files: one definition both validates a parsed
 * document (with exact field paths in its errors) and emits a JSON Schema for editors.
 * The core cannot depend on validation libraries, and the messages are ours to make clear.
 */
import type { ErrorIssue } from './errors.ts';

type Path = (string | number)[];
const INVALID: unique symbol = Symbol('invalid');
type Parsed<T> = T | typeof INVALID;

export interface Schema<T> {
  /** Parses a value; on failure pushes issues and returns INVALID. */
  readonly parseAt: (value: unknown, path: Path, issues: ErrorIssue[]) => Parsed<T>;
  readonly jsonSchema: () => Record<string, unknown>;
  /** Marks this schema as an optional object field with an optional default. */
  readonly optional: boolean;
  readonly defaultValue?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: ErrorIssue[] };

export function parseWith<T>(schema: Schema<T>, value: unknown): ParseResult<T> {
  const issues: ErrorIssue[] = [];
  const result = schema.parseAt(value, [], issues);
  if (result === INVALID || issues.length > 0) return { ok: false, issues };
  return { ok: true, value: result };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function make<T>(
  parseAt: Schema<T>['parseAt'],
  jsonSchema: Schema<T>['jsonSchema'],
): Schema<T> {
  return { parseAt, jsonSchema, optional: false };
}

export interface NumberOptions {
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Value must be strictly greater than this. */
  readonly greaterThan?: number;
  readonly description?: string;
}

function number(options: NumberOptions = {}): Schema<number> {
  const kind = options.integer ? 'an integer' : 'a number';
  const bounds: string[] = [];
  if (options.greaterThan !== undefined) bounds.push(`> ${options.greaterThan}`);
  if (options.min !== undefined && options.max !== undefined) bounds.push(`between ${options.min} and ${options.max}`);
  else if (options.min !== undefined) bounds.push(`>= ${options.min}`);
  if (options.max !== undefined && (options.min === undefined || options.greaterThan !== undefined)) bounds.push(`<= ${options.max}`);
  const expected = [kind, ...bounds].join(' ');
  return make(
    (value, path, issues) => {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!options.integer || Number.isInteger(value)) &&
        (options.min === undefined || value >= options.min) &&
        (options.max === undefined || value <= options.max) &&
        (options.greaterThan === undefined || value > options.greaterThan);
      if (!ok) {
        issues.push({ path: [...path], message: `expected ${expected}, got ${describeValue(value)}` });
        return INVALID;
      }
      return value;
    },
    () => ({
      type: options.integer ? 'integer' : 'number',
      ...(options.min !== undefined ? { minimum: options.min } : {}),
      ...(options.max !== undefined ? { maximum: options.max } : {}),
      ...(options.greaterThan !== undefined ? { exclusiveMinimum: options.greaterThan } : {}),
      ...(options.description ? { description: options.description } : {}),
    }),
  );
}

export interface StringOptions {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** Words for the error message when the pattern does not match. */
  readonly patternHint?: string;
  readonly description?: string;
}

function string(options: StringOptions = {}): Schema<string> {
  return make(
    (value, path, issues) => {
      if (typeof value !== 'string') {
        issues.push({ path: [...path], message: `expected a string, got ${describeValue(value)}` });
        return INVALID;
      }
      if (options.minLength !== undefined && value.length < options.minLength) {
        issues.push({ path: [...path], message: `expected at least ${options.minLength} characters, got ${value.length}` });
        return INVALID;
      }
      if (options.maxLength !== undefined && value.length > options.maxLength) {
        issues.push({ path: [...path], message: `expected at most ${options.maxLength} characters, got ${value.length}` });
        return INVALID;
      }
      if (options.pattern && !options.pattern.test(value)) {
        issues.push({ path: [...path], message: `expected ${options.patternHint ?? `a string matching ${options.pattern.source}`}, got ${describeValue(value)}` });
        return INVALID;
      }
      return value;
    },
    () => ({
      type: 'string',
      ...(options.minLength !== undefined ? { minLength: options.minLength } : {}),
      ...(options.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
      ...(options.pattern ? { pattern: options.pattern.source } : {}),
      ...(options.description ? { description: options.description } : {}),
    }),
  );
}

function boolean(): Schema<boolean> {
  return make(
    (value, path, issues) => {
      if (typeof value !== 'boolean') {
        issues.push({ path: [...path], message: `expected true or false, got ${describeValue(value)}` });
        return INVALID;
      }
      return value;
    },
    () => ({ type: 'boolean' }),
  );
}

function literal<const T extends string | number>(expected: T): Schema<T> {
  return make(
    (value, path, issues) => {
      if (value !== expected) {
        issues.push({ path: [...path], message: `expected ${JSON.stringify(expected)}, got ${describeValue(value)}` });
        return INVALID;
      }
      return expected;
    },
    () => ({ const: expected }),
  );
}

function oneOf<const T extends string>(values: readonly T[], description?: string): Schema<T> {
  return make(
    (value, path, issues) => {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
        issues.push({ path: [...path], message: `expected one of ${values.join(', ')}, got ${describeValue(value)}` });
        return INVALID;
      }
      return value as T;
    },
    () => ({ enum: [...values], ...(description ? { description } : {}) }),
  );
}

function array<T>(item: Schema<T>, options: { min?: number; max?: number; description?: string } = {}): Schema<T[]> {
  return make(
    (value, path, issues) => {
      if (!Array.isArray(value)) {
        issues.push({ path: [...path], message: `expected a list, got ${describeValue(value)}` });
        return INVALID;
      }
      if (options.min !== undefined && value.length < options.min) {
        issues.push({ path: [...path], message: `expected at least ${options.min} item${options.min === 1 ? '' : 's'}, got ${value.length}` });
        return INVALID;
      }
      if (options.max !== undefined && value.length > options.max) {
        issues.push({ path: [...path], message: `expected at most ${options.max} items, got ${value.length}` });
        return INVALID;
      }
      const out: T[] = [];
      let failed = false;
      value.forEach((element, index) => {
        const parsed = item.parseAt(element, [...path, index], issues);
        if (parsed === INVALID) failed = true;
        else out.push(parsed);
      });
      return failed ? INVALID : out;
    },
    () => ({
      type: 'array',
      items: item.jsonSchema(),
      ...(options.min !== undefined ? { minItems: options.min } : {}),
      ...(options.max !== undefined ? { maxItems: options.max } : {}),
      ...(options.description ? { description: options.description } : {}),
    }),
  );
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? K : never }[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};

function object<S extends Shape>(shape: S, options: { description?: string } = {}): Schema<ObjectOf<S>> {
  const keys = Object.keys(shape);
  return make(
    (value, path, issues) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path: [...path], message: `expected a mapping, got ${describeValue(value)}` });
        return INVALID;
      }
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      let failed = false;
      for (const key of Object.keys(record)) {
        if (!keys.includes(key)) {
          issues.push({ path: [...path, key], message: `unknown field; expected one of ${keys.join(', ')}` });
          failed = true;
        }
      }
      for (const key of keys) {
        const field = shape[key] as Schema<unknown>;
        if (!(key in record) || record[key] === undefined) {
          if (field.optional) {
            if (field.defaultValue !== undefined) out[key] = field.defaultValue;
            continue;
          }
          issues.push({ path: [...path, key], message: 'required field is missing' });
          failed = true;
          continue;
        }
        const parsed = field.parseAt(record[key], [...path, key], issues);
        if (parsed === INVALID) failed = true;
        else out[key] = parsed;
      }
      return failed ? INVALID : (out as ObjectOf<S>);
    },
    () => ({
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(keys.map((key) => [key, (shape[key] as Schema<unknown>).jsonSchema()])),
      required: keys.filter((key) => !(shape[key] as Schema<unknown>).optional),
      ...(options.description ? { description: options.description } : {}),
    }),
  );
}

/** A mapping whose keys are free (within a pattern) and whose values share one schema. */
function record<T>(valueSchema: Schema<T>, options: { keyPattern?: RegExp; keyHint?: string; maxKeys?: number } = {}): Schema<Record<string, T>> {
  return make(
    (value, path, issues) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path: [...path], message: `expected a mapping, got ${describeValue(value)}` });
        return INVALID;
      }
      const entries = Object.entries(value as Record<string, unknown>);
      if (options.maxKeys !== undefined && entries.length > options.maxKeys) {
        issues.push({ path: [...path], message: `expected at most ${options.maxKeys} fields, got ${entries.length}` });
        return INVALID;
      }
      const out: Record<string, T> = {};
      let failed = false;
      for (const [key, entry] of entries) {
        if (options.keyPattern && !options.keyPattern.test(key)) {
          issues.push({ path: [...path, key], message: `field name must be ${options.keyHint ?? options.keyPattern.source}` });
          failed = true;
          continue;
        }
        const parsed = valueSchema.parseAt(entry, [...path, key], issues);
        if (parsed === INVALID) failed = true;
        else out[key] = parsed;
      }
      return failed ? INVALID : out;
    },
    () => ({
      type: 'object',
      additionalProperties: valueSchema.jsonSchema(),
      ...(options.keyPattern ? { propertyNames: { pattern: options.keyPattern.source } } : {}),
      ...(options.maxKeys !== undefined ? { maxProperties: options.maxKeys } : {}),
    }),
  );
}

/**
 * A union told apart by the single key a mapping holds (`{ int: [1, 5] }` vs `{ oneOf: [...] }`)
 * so that errors can name the branch instead of listing every alternative's failure.
 */
function keyed<S extends Record<string, Schema<unknown>>>(
  branches: S,
): Schema<{ [K in keyof S]: { kind: K; value: Infer<S[K]> } }[keyof S]> {
  const names = Object.keys(branches);
  type Out = { [K in keyof S]: { kind: K; value: Infer<S[K]> } }[keyof S];
  return make<Out>(
    (value, path, issues) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path: [...path], message: `expected a mapping with one of ${names.join(', ')}, got ${describeValue(value)}` });
        return INVALID;
      }
      const keys = Object.keys(value);
      if (keys.length !== 1 || !names.includes(keys[0] as string)) {
        issues.push({ path: [...path], message: `expected exactly one of ${names.join(', ')}, got ${keys.length === 0 ? 'an empty mapping' : keys.join(', ')}` });
        return INVALID;
      }
      const kind = keys[0] as string;
      const parsed = (branches[kind] as Schema<unknown>).parseAt((value as Record<string, unknown>)[kind], [...path, kind], issues);
      if (parsed === INVALID) return INVALID;
      return { kind, value: parsed } as Out;
    },
    () => ({
      oneOf: names.map((name) => ({
        type: 'object',
        additionalProperties: false,
        required: [name],
        properties: { [name]: (branches[name] as Schema<unknown>).jsonSchema() },
      })),
    }),
  );
}

/** A union told apart by a tag field (`profile: constant`). */
function tagged<Tag extends string, S extends Record<string, Schema<Record<string, unknown>>>>(
  tag: Tag,
  branches: S,
): Schema<{ [K in keyof S]: Infer<S[K]> & { [T in Tag]: K } }[keyof S]> {
  const names = Object.keys(branches);
  type Out = { [K in keyof S]: Infer<S[K]> & { [T in Tag]: K } }[keyof S];
  return make<Out>(
    (value, path, issues) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path: [...path], message: `expected a mapping, got ${describeValue(value)}` });
        return INVALID;
      }
      const record = value as Record<string, unknown>;
      const kind = record[tag];
      if (typeof kind !== 'string' || !names.includes(kind)) {
        issues.push({ path: [...path, tag], message: `expected one of ${names.join(', ')}, got ${kind === undefined ? 'nothing' : describeValue(kind)}` });
        return INVALID;
      }
      const rest: Record<string, unknown> = { ...record };
      delete rest[tag];
      const parsed = (branches[kind] as Schema<Record<string, unknown>>).parseAt(rest, path, issues);
      if (parsed === INVALID) return INVALID;
      return { ...parsed, [tag]: kind } as Out;
    },
    () => ({
      oneOf: names.map((name) => {
        const branch = (branches[name] as Schema<unknown>).jsonSchema() as { properties?: Record<string, unknown>; required?: string[] };
        return {
          ...branch,
          properties: { [tag]: { const: name }, ...(branch.properties ?? {}) },
          required: [tag, ...(branch.required ?? [])],
        };
      }),
    }),
  );
}

/** Either of two schemas, tried in order; errors come from the last one. */
function either<A, B>(first: Schema<A>, second: Schema<B>, hint: string): Schema<A | B> {
  return make<A | B>(
    (value, path, issues) => {
      const scratch: ErrorIssue[] = [];
      const a = first.parseAt(value, path, scratch);
      if (a !== INVALID && scratch.length === 0) return a;
      const scratchB: ErrorIssue[] = [];
      const b = second.parseAt(value, path, scratchB);
      if (b !== INVALID && scratchB.length === 0) return b;
      issues.push({ path: [...path], message: `expected ${hint}, got ${describeValue(value)}` });
      return INVALID;
    },
    () => ({ anyOf: [first.jsonSchema(), second.jsonSchema()], description: hint }),
  );
}

const failureTag: unique symbol = Symbol('failure');
export interface SchemaFailure {
  readonly [failureTag]: string;
}
/** What a transform returns to reject a value, with the message for the user. */
export function fail(message: string): SchemaFailure {
  return { [failureTag]: message };
}
function isFailure(value: unknown): value is SchemaFailure {
  return typeof value === 'object' && value !== null && failureTag in value;
}

/** Parses with `inner`, then converts the value; a failure becomes an issue at this path. */
function transform<A, B>(inner: Schema<A>, convert: (value: A) => B | SchemaFailure, jsonSchema?: () => Record<string, unknown>): Schema<B> {
  return make<B>(
    (value, path, issues) => {
      const parsed = inner.parseAt(value, path, issues);
      if (parsed === INVALID) return INVALID;
      const converted = convert(parsed);
      if (isFailure(converted)) {
        issues.push({ path: [...path], message: converted[failureTag] });
        return INVALID;
      }
      return converted;
    },
    jsonSchema ?? inner.jsonSchema,
  );
}

function optional<T>(schema: Schema<T>, defaultValue?: T): Schema<T> & { optional: true } {
  return { ...schema, optional: true, ...(defaultValue !== undefined ? { defaultValue } : {}) } as Schema<T> & { optional: true };
}

function unknownValue(): Schema<unknown> {
  return make(
    (value) => value,
    () => ({}),
  );
}

export const s = {
  number,
  string,
  boolean,
  literal,
  oneOf,
  array,
  object,
  record,
  keyed,
  tagged,
  either,
  transform,
  optional,
  unknown: unknownValue,
};
