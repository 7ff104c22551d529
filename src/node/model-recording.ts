/**
 * Recordings of model exchanges (see model-client.ts for the whole picture). An exchange is one
 * request to a chat-completion model and what came of it, keyed by
 * `sha256Hex(canonicalJson({ model, messages, params }))`. Its logical part (request and result)
 * is what a replay returns; its telemetry (agent, attempts, wall-clock latency, token counts,
 * when it was recorded) is kept beside it and never compared.
 *
 * Two implementations: in memory, and a JSON-lines file (one canonical-JSON exchange per line,
 * append-only, a torn last line dropped at open). When a key is recorded more than once, the
 * first answer wins; a failure is kept only until an answer for the same key arrives, so that a
 * later successful call replaces a timeout.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson } from '../core/kernel/canonical.ts';
import { AuraError, formatIssue } from '../core/kernel/errors.ts';
import { parseWith, s, type Schema } from '../core/kernel/schema.ts';
import { sha256Hex } from './hashing.ts';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

/** The parameters that shape an answer; part of the key. Transport settings (timeouts, retries) are not. */
export interface ExchangeParams {
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly seed?: number;
  /** The allowed answers; an answer outside them is a 'malformed' failure. */
  readonly options?: readonly string[];
  /** Whether `response_format: { type: 'json_object' }` was sent. */
  readonly jsonMode?: boolean;
}

/** The logical request: exactly the model, the messages sent (the client's instruction included) and the parameters. */
export interface ExchangeRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly params: ExchangeParams;
}

/** Why a completion failed. 'not_recorded' comes only from a replay and is never recorded. */
export type FailureReason = 'timeout' | 'http' | 'network' | 'malformed' | 'refused' | 'not_recorded';
export type RecordedFailureReason = Exclude<FailureReason, 'not_recorded'>;

export interface LogicalAnswer {
  readonly kind: 'answer';
  readonly key: string;
  /** One of the options when the request listed some; else the model's string or number. */
  readonly answer: string | number;
  readonly confidence?: number;
  readonly rationale?: string;
  /** The model's message content, as received. */
  readonly raw: string;
}

export interface LogicalFailure<R extends FailureReason = FailureReason> {
  readonly kind: 'failure';
  readonly key: string;
  readonly reason: R;
  /** The HTTP status, for 'http' failures. */
  readonly status?: number;
  /** What went wrong, with the offending text (truncated) for 'malformed'. */
  readonly detail: string;
}

/** The part of a result that a replay reproduces byte for byte (compare with canonicalJson). */
export type LogicalResult = LogicalAnswer | LogicalFailure;
export type RecordedResult = LogicalAnswer | LogicalFailure<RecordedFailureReason>;

/** Wall-clock facts about an exchange: informative, never part of the logical result. */
export interface ExchangeTelemetry {
  /** The agent that asked first (two agents asking the same thing share one exchange). */
  readonly agent: string;
  readonly attempts: number;
  readonly latencyMs: number;
  readonly recordedAtMs: number;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

export interface RecordedExchange {
  readonly v: 1;
  readonly key: string;
  readonly request: ExchangeRequest;
  readonly result: RecordedResult;
  readonly telemetry: ExchangeTelemetry;
}

export interface ModelRecording {
  get(key: string): RecordedExchange | undefined;
  put(exchange: RecordedExchange): void;
}

/** The key of a logical request: `sha256Hex(canonicalJson({ model, messages, params }))`. */
export function exchangeKey(request: ExchangeRequest): string {
  return sha256Hex(canonicalJson({ model: request.model, messages: request.messages, params: request.params }));
}

/** Whether `incoming` should replace `existing` as the exchange a key replays: first answer wins. */
export function supersedes(existing: RecordedExchange | undefined, incoming: RecordedExchange): boolean {
  return existing === undefined || (existing.result.kind === 'failure' && incoming.result.kind === 'answer');
}

export class MemoryModelRecording implements ModelRecording {
  private readonly byKey = new Map<string, RecordedExchange>();
  /** Every exchange put, in order (including those that did not replace an earlier one). */
  readonly log: RecordedExchange[] = [];

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): RecordedExchange | undefined {
    return this.byKey.get(key);
  }

  put(exchange: RecordedExchange): void {
    this.log.push(exchange);
    if (supersedes(this.byKey.get(exchange.key), exchange)) this.byKey.set(exchange.key, exchange);
  }
}

export interface JsonlOpenReport {
  /** Complete exchanges read. */
  readonly exchanges: number;
  /** Bytes of a torn last line that were cut off (0 when the file ended cleanly). */
  readonly tornBytes: number;
}

/**
 * A JSON-lines recording: one exchange per line in canonical JSON, appended synchronously. At
 * open, a last line without its newline that does not parse (a write cut short by a crash) is
 * truncated away; any other unreadable line is AuraError('damaged') naming the line.
 */
export class JsonlModelRecording implements ModelRecording {
  private readonly memory = new MemoryModelRecording();

  private constructor(
    readonly path: string,
    readonly opened: JsonlOpenReport,
    exchanges: readonly RecordedExchange[],
  ) {
    for (const exchange of exchanges) this.memory.put(exchange);
  }

  static open(path: string): JsonlModelRecording {
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) return new JsonlModelRecording(path, { exchanges: 0, tornBytes: 0 }, []);
    const bytes = readFileSync(path);
    const lastNewline = bytes.lastIndexOf(0x0a);
    const complete = bytes.subarray(0, lastNewline + 1).toString('utf8');
    const tail = bytes.subarray(lastNewline + 1);
    const exchanges: RecordedExchange[] = [];
    const lines = complete.split('\n');
    lines.pop(); // the empty string after the last newline
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      exchanges.push(decodeExchange(line, `${path}:${index + 1}`));
    });
    let tornBytes = 0;
    if (tail.length > 0) {
      const text = tail.toString('utf8');
      let parsed: RecordedExchange | undefined;
      try {
        parsed = decodeExchange(text, `${path}:${lines.length + 1}`);
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined) {
        truncateSync(path, lastNewline + 1);
        tornBytes = tail.length;
      } else {
        // Complete but missing its newline: keep it, and end the line before the next append.
        exchanges.push(parsed);
        appendFileSync(path, '\n');
      }
    }
    return new JsonlModelRecording(path, { exchanges: exchanges.length, tornBytes }, exchanges);
  }

  get size(): number {
    return this.memory.size;
  }

  get(key: string): RecordedExchange | undefined {
    return this.memory.get(key);
  }

  put(exchange: RecordedExchange): void {
    appendFileSync(this.path, `${canonicalJson(exchange)}\n`);
    this.memory.put(exchange);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding a recorded line

const nonNegative = s.number({ min: 0 });
const count = s.number({ integer: true, min: 0 });
const keySchema = s.string({ pattern: /^[0-9a-f]{64}$/, patternHint: 'a SHA-256 in hex' });

const exchangeSchema = s.object({
  v: s.literal(1),
  key: keySchema,
  request: s.object({
    model: s.string({ minLength: 1 }),
    messages: s.array(s.object({ role: s.oneOf(['system', 'user', 'assistant'] as const), content: s.string() }), { min: 1 }),
    params: s.object({
      temperature: s.optional(s.number()),
      maxTokens: s.optional(count),
      seed: s.optional(s.number({ integer: true })),
      options: s.optional(s.array(s.string())),
      jsonMode: s.optional(s.boolean()),
    }),
  }),
  result: s.tagged('kind', {
    answer: s.object({
      key: keySchema,
      answer: s.either(s.string(), s.number(), 'a string or a number'),
      confidence: s.optional(s.number({ min: 0, max: 1 })),
      rationale: s.optional(s.string()),
      raw: s.string(),
    }),
    failure: s.object({
      key: keySchema,
      reason: s.oneOf(['timeout', 'http', 'network', 'malformed', 'refused'] as const),
      status: s.optional(count),
      detail: s.string(),
    }),
  }),
  telemetry: s.object({
    agent: s.string(),
    attempts: count,
    latencyMs: nonNegative,
    recordedAtMs: nonNegative,
    promptTokens: s.optional(count),
    completionTokens: s.optional(count),
  }),
}) as Schema<unknown>;

/** Parses one recorded line; AuraError('damaged') if it is not an exchange or its key is not its request's hash. */
export function decodeExchange(line: string, where: string): RecordedExchange {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new AuraError('damaged', `${where}: not JSON (${(error as Error).message})`);
  }
  const parsed = parseWith(exchangeSchema, value);
  if (!parsed.ok) throw new AuraError('damaged', `${where}: not a model exchange: ${parsed.issues.map(formatIssue).join('; ')}`, parsed.issues);
  const exchange = parsed.value as RecordedExchange;
  if (exchangeKey(exchange.request) !== exchange.key || exchange.result.key !== exchange.key) {
    throw new AuraError('damaged', `${where}: the key ${exchange.key} is not the hash of the recorded request`);
  }
  return exchange;
}
