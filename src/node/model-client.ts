/**
 * # Model client: real models for debate agents, recorded and replayable
 *
 * An adapter for OpenAI-compatible chat-completion servers (Ollama at
 * `http://127.0.0.1:11434/v1`, llama.cpp's `llama-server` at `http://127.0.0.1:8080/v1`, vLLM at
 * `http://127.0.0.1:8000/v1`, or any `/v1/chat/completions` endpoint), one endpoint per agent.
 * It lives in `src/node` because it does I/O and reads a clock; the debate kernel in
 * `src/core/debate` stays pure and never sees it (see "Wiring" below).
 *
 * ```ts
 * const recording = JsonlModelRecording.open('runs/r1/model-exchanges.jsonl');
 * const client = new ModelClient({
 *   mode: 'record-missing',                     // 'live' | 'replay' | 'record-missing'
 *   recording,
 *   endpoints: {
 *     alice: { baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.2:3b', temperature: 0 },
 *     bob: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'qwen2.5-7b', apiKey: 'sk-local', timeoutMs: 60_000 },
 *   },
 * });
 * const result = await client.complete({
 *   agent: 'alice',
 *   messages: [{ role: 'user', content: 'Which city is the capital of Australia?' }],
 *   params: { options: ['Sydney', 'Canberra', 'Melbourne'], seed: 1 },
 * });
 * if (result.kind === 'answer') use(result.answer, result.confidence, result.rationale);
 * else report(result.reason, result.status, result.detail); // a typed failure, never a throw
 * ```
 *
 * ## Endpoints (`parseModelEndpoint`, validated with field paths: `endpoints.bob.timeoutMs: ...`)
 *
 * `{ baseUrl, model, apiKey?, temperature? (0..2), maxTokens?, jsonMode? (false), timeoutMs?
 * (30 000), retries? (3), backoffMs? (250), backoffCapMs? (8 000), maxRetryAfterMs? (60 000) }`.
 * `baseUrl` is http(s) without query or fragment; a trailing slash is dropped and
 * `/chat/completions` appended. `apiKey` is sent as `Authorization: Bearer <key>`. `jsonMode`
 * sends `response_format: {"type": "json_object"}` (Ollama, llama.cpp, vLLM and OpenAI accept
 * it; off by default because some servers reject unknown fields).
 *
 * ## One completion
 *
 * The client puts a system message first asking for exactly `{"answer": "...", "confidence":
 * 0..1, "rationale": "..."}` (and, when `params.options` is given, one of the options), then the
 * caller's messages, and POSTs `{ model, messages, stream: false, temperature, max_tokens, seed }`
 * with Node's fetch. Each attempt has its own `AbortSignal.timeout(timeoutMs)` covering the
 * headers and the body. The result is `{ kind: 'answer', key, answer, confidence?, rationale?,
 * raw, attempts, latencyMs, source }` or `{ kind: 'failure', key, reason, status?, detail,
 * attempts, latencyMs, source }`; a failure is returned, not thrown. Reasons:
 *
 * - `timeout`: an attempt ran past `timeoutMs`. Not retried (a stuck local model stays stuck,
 *   and each retry would cost another full timeout).
 * - `http`: a non-2xx status. 429 and 5xx are retried (up to `retries` more attempts, so
 *   `attempts = retries + 1` when it gives up); other 4xx (400, 401, 404...) are not.
 * - `network`: the connection was refused, reset or dropped; retried like 5xx.
 * - `malformed`: a 2xx whose body is not a chat completion, or whose message is not the asked-for
 *   JSON, or whose answer is not among `params.options` (exact match, else a unique
 *   case-insensitive match, which is normalised to the option). A single Markdown code fence
 *   around the JSON is tolerated. `detail` quotes the text, cut at 500 characters. Not retried:
 *   at a fixed seed and temperature the model would say the same again.
 * - `refused`: the model declined (`message.refusal`, or `finish_reason: "content_filter"`).
 * - `not_recorded`: replay mode only, see below.
 *
 * Backoff before retry n (1-based): `min(backoffCapMs, backoffMs * 2^(n-1))`, jittered down to
 * half of it at random so that agents sharing a server do not retry in step. A 429 or 503 with
 * `Retry-After` (seconds or an HTTP date) waits exactly that instead, at most `maxRetryAfterMs`.
 * A caller's `AbortSignal` (`complete(request, { signal })`) cancels the call, sleeps included:
 * that rejects with the signal's reason and records nothing, since it says nothing about the model.
 *
 * ## Recording and replay (model-recording.ts)
 *
 * Every exchange is keyed by `sha256Hex(canonicalJson({ model, messages, params }))`, where
 * `messages` are the messages sent (the client's instruction included, so changing the
 * instruction invalidates old recordings, as it should) and `params` the effective answer-shaping
 * parameters `{ temperature, maxTokens, seed, options, jsonMode }` after the endpoint's defaults.
 * The base URL, API key, timeouts, retries and the agent's name are not in the key: a recording
 * made against one server replays against none, and the same prompt from two agents is one
 * exchange. A recorded exchange is `{ v: 1, key, request, result, telemetry }`: `request` and
 * `result` are the logical part; `telemetry` (agent, attempts, wall-clock latency, token counts,
 * recordedAtMs) is kept beside it. Results carry `attempts` and `latencyMs` from the telemetry
 * and `source: 'live' | 'replay'`; `logicalResult(result)` strips those three, and two runs that
 * agree have byte-identical `canonicalJson(logicalResult(...))`.
 *
 * - `live`: always calls the server; records every exchange, failures included, if a recording
 *   is given.
 * - `replay`: reads the recording only and never opens a socket. A key that is not there is
 *   `{ kind: 'failure', reason: 'not_recorded', attempts: 0 }`. A recorded failure replays as
 *   that failure.
 * - `record-missing`: replays what is recorded, calls and records what is not. A recorded
 *   `timeout`, `http` or `network` failure counts as missing (it was the transport, not the
 *   model); a recorded `malformed` or `refused` answer is replayed.
 *
 * `MemoryModelRecording` keeps exchanges in a Map; `JsonlModelRecording.open(path)` appends one
 * canonical-JSON line per exchange (synchronously, so a line is on disk before `complete`
 * returns), drops a torn last line at open (truncating it so the next append starts clean),
 * checks every other line (shape, and key = hash of its request) and reports a bad one as
 * AuraError('damaged') with its line number. A key recorded twice replays its first answer (an
 * answer replaces an earlier failure, never the other way). So identical prompts meant as
 * independent samples must differ in their key: give each a distinct `params.seed` (which servers
 * also use for sampling) or say who and which round is asking in the messages.
 *
 * ## Wiring into debates (not done here)
 *
 * The debate kernel is pure and synchronous: `runDebate(spec, random)` calls each agent's
 * `speak(turn)` and expects a `Statement` at once. A model agent cannot await there. The plan:
 * a core agent model `recorded` whose `speak` builds its prompt (question, options, its inbox)
 * as plain data and looks the answer up in an `answers` map handed to the kernel (keyed by the
 * canonical JSON of the prompt; the core has no SHA-256); on a miss it stops the debate with a
 * typed "needs these prompts" result. A node driver (`runModelDebate`) loops: run the kernel;
 * for each needed prompt call `client.complete` (agents of one round in parallel); put the
 * answers in the map; run again from the start. Each run is deterministic, so every rerun
 * replays the same prefix and gets one round further; a recorded debate replays in one pass
 * with no socket. A failure maps onto the kernel's own vocabulary (the agent abstains that turn,
 * or crashes), recorded as an event carrying reason and detail, so a replay takes the same
 * path. Events carry the exchange key, answer, confidence and rationale, never latency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/ports/clock.ts';
import { AuraError, formatIssue, type ErrorIssue } from '../core/kernel/errors.ts';
import { fail, parseWith, s } from '../core/kernel/schema.ts';
import { answerInstruction, parseModelAnswer, truncate } from './model-answer.ts';
import {
  exchangeKey,
  type ChatMessage,
  type ExchangeParams,
  type ExchangeRequest,
  type ExchangeTelemetry,
  type LogicalAnswer,
  type LogicalFailure,
  type LogicalResult,
  type ModelRecording,
  type RecordedExchange,
  type RecordedResult,
} from './model-recording.ts';
import { systemClock } from './system-clock.ts';

export type { ChatMessage, ChatRole, ExchangeParams, ExchangeRequest, FailureReason, LogicalResult, ModelRecording, RecordedExchange } from './model-recording.ts';
export { JsonlModelRecording, MemoryModelRecording, exchangeKey } from './model-recording.ts';

// ---------------------------------------------------------------------------------------------
// Endpoints

export interface ModelEndpoint {
  /** Without a trailing slash; requests go to `${baseUrl}/chat/completions`. */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly jsonMode: boolean;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly backoffCapMs: number;
  readonly maxRetryAfterMs: number;
}

export type ModelEndpointInput = Pick<ModelEndpoint, 'baseUrl' | 'model'> & Partial<Omit<ModelEndpoint, 'baseUrl' | 'model'>>;

export const endpointDefaults = { jsonMode: false, timeoutMs: 30_000, retries: 3, backoffMs: 250, backoffCapMs: 8_000, maxRetryAfterMs: 60_000 } as const;

const baseUrlSchema = s.transform(s.string({ minLength: 1, maxLength: 2048 }), (text) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`expected an http(s) URL such as http://127.0.0.1:11434/v1, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`expected an http or https URL, got the scheme ${url.protocol}`);
  if (url.search !== '' || url.hash !== '') return fail('expected a base URL without query or fragment');
  if (url.username !== '' || url.password !== '') return fail('put credentials in apiKey, not in the URL');
  return text.replace(/\/+$/, '');
});

const endpointSchema = s.object({
  baseUrl: baseUrlSchema,
  model: s.string({ minLength: 1, maxLength: 256 }),
  apiKey: s.optional(s.string({ minLength: 1, maxLength: 4096, pattern: /^[\x21-\x7e]+$/, patternHint: 'printable ASCII without spaces' })),
  temperature: s.optional(s.number({ min: 0, max: 2 })),
  maxTokens: s.optional(s.number({ integer: true, min: 1, max: 1_000_000 })),
  jsonMode: s.optional(s.boolean(), endpointDefaults.jsonMode),
  timeoutMs: s.optional(s.number({ integer: true, min: 1, max: 3_600_000 }), endpointDefaults.timeoutMs),
  retries: s.optional(s.number({ integer: true, min: 0, max: 10 }), endpointDefaults.retries),
  backoffMs: s.optional(s.number({ min: 0, max: 60_000 }), endpointDefaults.backoffMs),
  backoffCapMs: s.optional(s.number({ min: 0, max: 600_000 }), endpointDefaults.backoffCapMs),
  maxRetryAfterMs: s.optional(s.number({ min: 0, max: 600_000 }), endpointDefaults.maxRetryAfterMs),
});

function endpointIssues(input: unknown, path: readonly (string | number)[], issues: ErrorIssue[]): ModelEndpoint | undefined {
  const parsed = parseWith(endpointSchema, input);
  if (!parsed.ok) {
    issues.push(...parsed.issues.map((issue) => ({ ...issue, path: [...path, ...issue.path] })));
    return undefined;
  }
  const endpoint = parsed.value as ModelEndpoint;
  if (endpoint.backoffCapMs < endpoint.backoffMs) {
    issues.push({ path: [...path, 'backoffCapMs'], message: `expected at least backoffMs (${endpoint.backoffMs}), got ${endpoint.backoffCapMs}` });
    return undefined;
  }
  return endpoint;
}

function invalid(what: string, issues: readonly ErrorIssue[]): AuraError {
  return new AuraError('validation', `invalid ${what}: ${issues.map(formatIssue).join('; ')}`, issues);
}

/** Validates one endpoint and fills in the defaults; AuraError('validation') naming each bad field. */
export function parseModelEndpoint(input: unknown): ModelEndpoint {
  const issues: ErrorIssue[] = [];
  const endpoint = endpointIssues(input, [], issues);
  if (endpoint === undefined) throw invalid('model endpoint', issues);
  return endpoint;
}

// ---------------------------------------------------------------------------------------------
// Requests and results

export interface ModelParams {
  /** Overrides the endpoint's temperature. */
  readonly temperature?: number;
  /** Overrides the endpoint's maxTokens. */
  readonly maxTokens?: number;
  /** Sampling seed, sent to the server; also tells identical prompts apart in the recording. */
  readonly seed?: number;
  /** The allowed answers. */
  readonly options?: readonly string[];
}

export interface ModelRequest {
  readonly agent: string;
  readonly messages: readonly ChatMessage[];
  readonly params?: ModelParams;
}

export interface ResultTelemetry {
  readonly attempts: number;
  readonly latencyMs: number;
  readonly source: 'live' | 'replay';
}

export type ModelAnswer = LogicalAnswer & ResultTelemetry;
export type ModelFailure = LogicalFailure & ResultTelemetry;
export type ModelResult = ModelAnswer | ModelFailure;

/** The logical part of a result: what a replay reproduces byte for byte. */
export function logicalResult(result: ModelResult): LogicalResult {
  if (result.kind === 'answer') {
    const { attempts: _attempts, latencyMs: _latency, source: _source, ...logical } = result;
    return logical;
  }
  const { attempts: _attempts, latencyMs: _latency, source: _source, ...logical } = result;
  return logical;
}

const requestSchema = s.object({
  agent: s.string({ minLength: 1 }),
  messages: s.array(s.object({ role: s.oneOf(['system', 'user', 'assistant'] as const), content: s.string() }), { min: 1 }),
  params: s.optional(
    s.object({
      temperature: s.optional(s.number({ min: 0, max: 2 })),
      maxTokens: s.optional(s.number({ integer: true, min: 1, max: 1_000_000 })),
      seed: s.optional(s.number({ integer: true, min: -(2 ** 53 - 1), max: 2 ** 53 - 1 })),
      options: s.optional(
        s.transform(s.array(s.string({ minLength: 1, maxLength: 256 }), { min: 1, max: 64 }), (options) =>
          new Set(options).size === options.length ? options : fail('expected distinct options'),
        ),
      ),
    }),
  ),
});

export type ModelMode = 'live' | 'replay' | 'record-missing';

export interface ModelClientOptions {
  readonly mode: ModelMode;
  /** Per agent. */
  readonly endpoints: Readonly<Record<string, ModelEndpointInput>>;
  /** Required in 'replay' and 'record-missing'; optional in 'live'. */
  readonly recording?: ModelRecording;
  /** Telemetry only (latency, recordedAtMs). */
  readonly clock?: Clock;
}

/** What `complete` would send for a request: the endpoint, the logical request and its key. */
export interface PreparedRequest {
  readonly agent: string;
  readonly endpoint: ModelEndpoint;
  readonly exchange: ExchangeRequest;
  readonly key: string;
}

type AttemptOutcome =
  | { readonly kind: 'done'; readonly result: RecordedResult; readonly usage: Usage }
  | { readonly kind: 'retry'; readonly failure: LogicalFailure<'http' | 'network'>; readonly waitMs?: number };

interface Usage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
}

const transientReasons: ReadonlySet<string> = new Set(['timeout', 'http', 'network']);

export class ModelClient {
  readonly mode: ModelMode;
  private readonly endpoints = new Map<string, ModelEndpoint>();
  private readonly recording: ModelRecording | undefined;
  private readonly clock: Clock;

  constructor(options: ModelClientOptions) {
    const issues: ErrorIssue[] = [];
    if (!['live', 'replay', 'record-missing'].includes(options.mode)) {
      issues.push({ path: ['mode'], message: `expected one of live, replay, record-missing, got ${JSON.stringify(options.mode)}` });
    }
    if (options.mode !== 'live' && options.recording === undefined) {
      issues.push({ path: ['recording'], message: `mode ${options.mode} needs a recording` });
    }
    const agents = Object.keys(options.endpoints);
    if (agents.length === 0) issues.push({ path: ['endpoints'], message: 'expected at least one agent' });
    for (const agent of agents) {
      const endpoint = endpointIssues(options.endpoints[agent], ['endpoints', agent], issues);
      if (endpoint !== undefined) this.endpoints.set(agent, endpoint);
    }
    if (issues.length > 0) throw invalid('model client options', issues);
    this.mode = options.mode;
    this.recording = options.recording;
    this.clock = options.clock ?? systemClock;
  }

  endpoint(agent: string): ModelEndpoint {
    const endpoint = this.endpoints.get(agent);
    if (endpoint === undefined) {
      throw new AuraError('validation', `no model endpoint for agent ${JSON.stringify(agent)}; known: ${[...this.endpoints.keys()].join(', ')}`, [{ path: ['agent'], message: 'unknown agent' }]);
    }
    return endpoint;
  }

  /** Validates a request and computes what would be sent and its key, without any I/O. */
  prepare(request: ModelRequest): PreparedRequest {
    const parsed = parseWith(requestSchema, request);
    if (!parsed.ok) throw invalid('model request', parsed.issues);
    const { agent, messages, params = {} } = parsed.value as ModelRequest;
    const endpoint = this.endpoint(agent);
    const temperature = params.temperature ?? endpoint.temperature;
    const maxTokens = params.maxTokens ?? endpoint.maxTokens;
    const effective: ExchangeParams = {
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(params.seed !== undefined ? { seed: params.seed } : {}),
      ...(params.options !== undefined ? { options: params.options } : {}),
      ...(endpoint.jsonMode ? { jsonMode: true } : {}),
    };
    const sent: ChatMessage[] = [
      { role: 'system', content: answerInstruction(params.options) },
      ...messages.map(({ role, content }) => ({ role, content })),
    ];
    const exchange: ExchangeRequest = { model: endpoint.model, messages: sent, params: effective };
    return { agent, endpoint, exchange, key: exchangeKey(exchange) };
  }

  /**
   * One completion, by the client's mode. Resolves to an answer or a typed failure; rejects only
   * for a bad request (AuraError 'validation'), a caller's abort, or a recording that cannot be
   * written.
   */
  async complete(request: ModelRequest, options: { readonly signal?: AbortSignal } = {}): Promise<ModelResult> {
    const prepared = this.prepare(request);
    const { key } = prepared;
    if (this.mode !== 'live') {
      const recorded = this.recording?.get(key);
      const usable = recorded !== undefined && (this.mode === 'replay' || !transientReasons.has(recorded.result.kind === 'failure' ? recorded.result.reason : ''));
      if (usable) return { ...recorded.result, attempts: recorded.telemetry.attempts, latencyMs: recorded.telemetry.latencyMs, source: 'replay' };
      if (this.mode === 'replay') {
        return {
          kind: 'failure',
          key,
          reason: 'not_recorded',
          detail: `no recorded exchange for agent ${prepared.agent} (model ${prepared.exchange.model}), key ${key}`,
          attempts: 0,
          latencyMs: 0,
          source: 'replay',
        };
      }
    }

    const started = this.clock.monotonicMs();
    const { result, attempts, usage } = await this.callWithRetries(prepared, options.signal);
    const latencyMs = Math.round((this.clock.monotonicMs() - started) * 1000) / 1000;
    const telemetry: ExchangeTelemetry = { agent: prepared.agent, attempts, latencyMs, recordedAtMs: this.clock.epochMs(), ...usage };
    const exchange: RecordedExchange = { v: 1, key, request: prepared.exchange, result, telemetry };
    this.recording?.put(exchange);
    return { ...result, attempts, latencyMs, source: 'live' };
  }

  private async callWithRetries(prepared: PreparedRequest, signal: AbortSignal | undefined): Promise<{ result: RecordedResult; attempts: number; usage: Usage }> {
    const { endpoint } = prepared;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.attempt(prepared, signal);
      if (outcome.kind === 'done') return { result: outcome.result, attempts: attempt, usage: outcome.usage };
      if (attempt > endpoint.retries) {
        return { result: { ...outcome.failure, detail: `${outcome.failure.detail} (gave up after ${attempt} attempts)` }, attempts: attempt, usage: {} };
      }
      const backoff = Math.min(endpoint.backoffCapMs, endpoint.backoffMs * 2 ** (attempt - 1));
      const waitMs = outcome.waitMs !== undefined ? Math.min(outcome.waitMs, endpoint.maxRetryAfterMs) : backoff * (0.5 + Math.random() * 0.5);
      if (waitMs > 0) {
        try {
          await sleep(waitMs, undefined, signal === undefined ? {} : { signal });
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          throw error;
        }
      }
      if (signal?.aborted) throw signal.reason;
    }
  }

  private async attempt(prepared: PreparedRequest, signal: AbortSignal | undefined): Promise<AttemptOutcome> {
    const { endpoint, exchange, key } = prepared;
    const { params } = exchange;
    const body = {
      model: exchange.model,
      messages: exchange.messages,
      stream: false,
      ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
      ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
      ...(params.seed !== undefined ? { seed: params.seed } : {}),
      ...(params.jsonMode === true ? { response_format: { type: 'json_object' } } : {}),
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (endpoint.apiKey !== undefined) headers['authorization'] = `Bearer ${endpoint.apiKey}`;
    const timeout = AbortSignal.timeout(endpoint.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);

    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(`${endpoint.baseUrl}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        return { kind: 'done', result: { kind: 'failure', key, reason: 'timeout', detail: `no complete answer within ${endpoint.timeoutMs} ms` }, usage: {} };
      }
      return { kind: 'retry', failure: { kind: 'failure', key, reason: 'network', detail: describeNetworkError(error) } };
    }

    if (status < 200 || status > 299) {
      const failure: LogicalFailure<'http'> = { kind: 'failure', key, reason: 'http', status, detail: `HTTP ${status}: ${truncate(errorMessage(text))}` };
      if (status === 429 || status >= 500) {
        const waitMs = status === 429 || status === 503 ? retryAfterMs(retryAfter, this.clock.epochMs()) : undefined;
        return { kind: 'retry', failure, ...(waitMs !== undefined ? { waitMs } : {}) };
      }
      return { kind: 'done', result: failure, usage: {} };
    }
    return readCompletion(text, key, params.options);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading responses

function readCompletion(text: string, key: string, options: readonly string[] | undefined): AttemptOutcome {
  const malformed = (detail: string): AttemptOutcome => ({ kind: 'done', result: { kind: 'failure', key, reason: 'malformed', detail }, usage: {} });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return malformed(`the response is not JSON: ${JSON.stringify(truncate(text))}`);
  }
  const choice = field(field(body, 'choices'), 0);
  const message = field(choice, 'message');
  if (typeof message !== 'object' || message === null) return malformed(`the response has no choices[0].message: ${JSON.stringify(truncate(text))}`);
  const usageField = field(body, 'usage');
  const promptTokens = field(usageField, 'prompt_tokens');
  const completionTokens = field(usageField, 'completion_tokens');
  const usage: Usage = {
    ...(Number.isInteger(promptTokens) && (promptTokens as number) >= 0 ? { promptTokens: promptTokens as number } : {}),
    ...(Number.isInteger(completionTokens) && (completionTokens as number) >= 0 ? { completionTokens: completionTokens as number } : {}),
  };
  const refusal = field(message, 'refusal');
  if (typeof refusal === 'string' && refusal !== '') {
    return { kind: 'done', result: { kind: 'failure', key, reason: 'refused', detail: `the model refused: ${JSON.stringify(truncate(refusal))}` }, usage };
  }
  if (field(choice, 'finish_reason') === 'content_filter') {
    return { kind: 'done', result: { kind: 'failure', key, reason: 'refused', detail: 'the server filtered the answer (finish_reason "content_filter")' }, usage };
  }
  const content = field(message, 'content');
  if (typeof content !== 'string') return { kind: 'done', result: { kind: 'failure', key, reason: 'malformed', detail: 'the response message has no text content' }, usage };
  const parsed = parseModelAnswer(content, options);
  if (!parsed.ok) return { kind: 'done', result: { kind: 'failure', key, reason: 'malformed', detail: parsed.detail }, usage };
  const { ok: _ok, ...answer } = parsed;
  return { kind: 'done', result: { kind: 'answer', key, ...answer, raw: content }, usage };
}

function field(value: unknown, name: string | number): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as Record<string | number, unknown>)[name];
}

/** The `error.message` of an OpenAI-style error body, else the body. */
function errorMessage(text: string): string {
  try {
    const message = field(field(JSON.parse(text), 'error'), 'message');
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: quote the body
  }
  return text;
}

function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message}: ${typeof code === 'string' ? `${code} ` : ''}${cause.message}`;
  }
  return error.message;
}
