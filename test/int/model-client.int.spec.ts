/**
 * The model client against a real OpenAI-compatible HTTP server started by the test (node:http on
 * 127.0.0.1, port 0). The last user message tells the server how to behave: `mode=<behaviour>`
 * and `answer=<option>`. Then recording in live mode to a JSON-lines file, stopping the server,
 * and replaying without a socket.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { AuraError } from '../../src/core/kernel/errors.ts';
import {
  JsonlModelRecording,
  MemoryModelRecording,
  ModelClient,
  logicalResult,
  parseModelEndpoint,
  type ModelEndpointInput,
  type ModelMode,
  type ModelRecording,
  type ModelRequest,
  type ModelResult,
} from '../../src/node/model-client.ts';
import { parseModelAnswer } from '../../src/node/model-answer.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

// ---------------------------------------------------------------------------------------------
// A fake OpenAI-compatible server

interface Received {
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: {
    model: string;
    messages: { role: string; content: string }[];
    temperature?: number;
    max_tokens?: number;
    seed?: number;
    stream?: boolean;
  };
}

class FakeModelServer {
  connections = 0;
  readonly requests: Received[] = [];
  private readonly seen = new Map<string, number>();
  private stopped = false;

  private constructor(private readonly server: Server) {
    server.on('connection', () => {
      this.connections += 1;
    });
  }

  static async start(): Promise<FakeModelServer> {
    const server = createServer();
    const fake = new FakeModelServer(server);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => fake.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Requests whose last message contained `text`. */
  count(text: string): number {
    return this.requests.filter((request) => request.body.messages.at(-1)?.content.includes(text)).length;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        this.json(response, 404, { error: { message: `no route ${request.method} ${request.url}` } });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'];
      this.requests.push({ url: request.url, authorization: request.headers.authorization, body });
      const content = body.messages.at(-1)?.content ?? '';
      const n = (this.seen.get(content) ?? 0) + 1;
      this.seen.set(content, n);
      const mode = /mode=(\S+)/.exec(content)?.[1] ?? 'json';
      const answer = /answer=(\S+)/.exec(content)?.[1] ?? 'A';
      const retryAfter = /retryafter=(\S+)/.exec(content)?.[1] ?? '0';
      const good = JSON.stringify({ answer, confidence: 0.75, rationale: `because ${answer}` });
      switch (mode) {
        case 'json':
          return this.completion(response, good);
        case 'fenced':
          return this.completion(response, `\`\`\`json\n${good}\n\`\`\``);
        case 'prose':
          return this.completion(response, `I think the answer is probably ${answer}, all things considered.`);
        case 'long-prose':
          return this.completion(response, 'blah '.repeat(2000));
        case 'wrong-option':
          return this.completion(response, JSON.stringify({ answer: 'Z', confidence: 0.9, rationale: 'Z is best' }));
        case 'refusal':
          return this.json(response, 200, { choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I can't help with that." }, finish_reason: 'stop' }] });
        case '429-then-ok':
          if (n === 1) return this.json(response, 429, { error: { message: 'slow down' } }, { 'retry-after': retryAfter });
          return this.completion(response, good);
        case '500-once':
          if (n === 1) return this.json(response, 500, { error: { message: 'boom' } });
          return this.completion(response, good);
        case '500-twice':
          if (n <= 2) return this.json(response, 500, { error: { message: 'boom' } });
          return this.completion(response, good);
        case '500-always':
          return this.json(response, 500, { error: { message: 'boom forever' } });
        case '401':
          return this.json(response, 401, { error: { message: 'invalid api key' } });
        case 'hang':
          return; // never answers; stop() closes the socket
        default:
          return this.json(response, 400, { error: { message: `unknown mode ${mode}` } });
      }
    });
  }

  private completion(response: ServerResponse, content: string): void {
    this.json(response, 200, {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
    });
  }

  private json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const options = ['A', 'B', 'C'];

function endpoints(baseUrl: string): Record<string, ModelEndpointInput> {
  const fast = { timeoutMs: 3_000, retries: 3, backoffMs: 1, backoffCapMs: 4 };
  return {
    alice: { baseUrl, model: 'test-model', apiKey: 'sk-test', temperature: 0.2, maxTokens: 64, ...fast },
    bob: { baseUrl: `${baseUrl}/`, model: 'other-model', ...fast },
    // Retry-After must override this large backoff.
    slowBackoff: { baseUrl, model: 'test-model', timeoutMs: 3_000, retries: 2, backoffMs: 5_000, backoffCapMs: 5_000 },
    hasty: { baseUrl, model: 'test-model', timeoutMs: 300, retries: 3, backoffMs: 1, backoffCapMs: 4 },
    fragile: { baseUrl, model: 'test-model', timeoutMs: 3_000, retries: 0 },
  };
}

function clientFor(baseUrl: string, mode: ModelMode = 'live', recording?: ModelRecording): ModelClient {
  return new ModelClient({ mode, endpoints: endpoints(baseUrl), ...(recording !== undefined ? { recording } : {}) });
}

function ask(agent: string, content: string, params: ModelRequest['params'] = { options }): ModelRequest {
  return { agent, messages: [{ role: 'user', content }], ...(params !== undefined ? { params } : {}) };
}

function expectAnswer(result: ModelResult): asserts result is Extract<ModelResult, { kind: 'answer' }> {
  if (result.kind !== 'answer') throw new Error(`expected an answer, got ${JSON.stringify(result)}`);
}

function expectFailure(result: ModelResult): asserts result is Extract<ModelResult, { kind: 'failure' }> {
  if (result.kind !== 'failure') throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

// ---------------------------------------------------------------------------------------------

describe('model endpoints', () => {
  it('fills in the defaults and normalises the base URL', () => {
    const endpoint = parseModelEndpoint({ baseUrl: 'http://127.0.0.1:11434/v1/', model: 'llama3.2' });
    expect(endpoint).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'llama3.2',
      jsonMode: false,
      timeoutMs: 30_000,
      retries: 3,
      backoffMs: 250,
      backoffCapMs: 8_000,
      maxRetryAfterMs: 60_000,
    });
  });

  it('names every bad field', () => {
    const attempt = () => parseModelEndpoint({ baseUrl: 'ftp://example.org', model: '', timeoutMs: -1, retries: 1.5, colour: 'red' });
    expect(attempt).toThrow(AuraError);
    try {
      attempt();
    } catch (error) {
      const { code, issues, message } = error as AuraError;
      expect(code).toBe('validation');
      expect(issues.map((issue) => issue.path.join('.')).sort()).toEqual(['baseUrl', 'colour', 'model', 'retries', 'timeoutMs']);
      expect(message).toContain('baseUrl: expected an http or https URL');
    }
    expect(() => parseModelEndpoint({ baseUrl: 'http://x/v1', model: 'm', backoffMs: 500, backoffCapMs: 100 })).toThrow(/backoffCapMs: expected at least backoffMs/);
    expect(() => parseModelEndpoint({ baseUrl: 'not a url', model: 'm' })).toThrow(/baseUrl: expected an http\(s\) URL/);
    expect(() => new ModelClient({ mode: 'live', endpoints: { alice: { baseUrl: 'http://x/v1', model: 'm', temperature: 3 } } })).toThrow(/endpoints\.alice\.temperature/);
    expect(() => new ModelClient({ mode: 'replay', endpoints: { alice: { baseUrl: 'http://x/v1', model: 'm' } } })).toThrow(/recording: mode replay needs a recording/);
  });
});

describe('the model answer check', () => {
  it('accepts the JSON, a fenced JSON and a case-folded option; rejects the rest', () => {
    expect(parseModelAnswer('{"answer":"B","confidence":0.5,"rationale":"r"}', options)).toEqual({ ok: true, answer: 'B', confidence: 0.5, rationale: 'r' });
    expect(parseModelAnswer('```json\n{"answer":"b"}\n```', options)).toEqual({ ok: true, answer: 'B' });
    expect(parseModelAnswer('{"answer": 41.5}', undefined)).toEqual({ ok: true, answer: 41.5 });
    expect(parseModelAnswer('{"answer":"B","confidence":1.5}', options)).toMatchObject({ ok: false, detail: expect.stringContaining('"confidence"') });
    expect(parseModelAnswer('Sure! {"answer":"B"}', options)).toMatchObject({ ok: false, detail: expect.stringContaining('not JSON') });
    expect(parseModelAnswer('{"answer":"D"}', options)).toMatchObject({ ok: false, detail: expect.stringContaining('"D" is not one of the options') });
  });
});

describe('ModelClient against a local OpenAI-compatible server', () => {
  let server: FakeModelServer;
  let client: ModelClient;
  beforeAll(async () => {
    server = await FakeModelServer.start();
    client = clientFor(server.baseUrl);
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers well-formed JSON and sends the OpenAI request the endpoint describes', async () => {
    const result = await client.complete(ask('alice', 'q-json mode=json answer=B', { options, seed: 7 }));
    expectAnswer(result);
    expect(result).toMatchObject({ answer: 'B', confidence: 0.75, rationale: 'because B', attempts: 1, source: 'live' });
    expect(JSON.parse(result.raw)).toEqual({ answer: 'B', confidence: 0.75, rationale: 'because B' });

    const received = server.requests.at(-1) as Received;
    expect(received.url).toBe('/v1/chat/completions');
    expect(received.authorization).toBe('Bearer sk-test');
    expect(received.body).toMatchObject({ model: 'test-model', temperature: 0.2, max_tokens: 64, seed: 7, stream: false });
    expect(received.body.messages).toHaveLength(2);
    expect(received.body.messages[0]?.role).toBe('system');
    expect(received.body.messages[0]?.content).toContain('JSON');
    expect(received.body.messages[0]?.content).toContain('"A", "B", "C"');
    expect(received.body.messages[1]).toEqual({ role: 'user', content: 'q-json mode=json answer=B' });
    // The key is the hash of exactly what was sent: model, messages and the answer-shaping params.
    const params = { temperature: 0.2, maxTokens: 64, seed: 7, options };
    expect(result.key).toBe(sha256(canonicalJson({ model: 'test-model', messages: received.body.messages, params })));

    // Another agent, another endpoint: no API key, no temperature.
    const other = await client.complete(ask('bob', 'q-json-bob mode=fenced answer=c'));
    expectAnswer(other);
    expect(other.answer).toBe('C');
    const bobReceived = server.requests.at(-1) as Received;
    expect(bobReceived.authorization).toBeUndefined();
    expect(bobReceived.body.model).toBe('other-model');
    expect(bobReceived.body).not.toHaveProperty('temperature');
    expect(bobReceived.body).not.toHaveProperty('max_tokens');
  });

  it('reports prose as malformed, quoting it, without retrying', async () => {
    const result = await client.complete(ask('alice', 'q-prose mode=prose answer=B'));
    expectFailure(result);
    expect(result).toMatchObject({ reason: 'malformed', attempts: 1 });
    expect(result.detail).toContain('I think the answer is probably B');
    expect(server.count('q-prose')).toBe(1);

    const long = await client.complete(ask('alice', 'q-long mode=long-prose'));
    expectFailure(long);
    expect(long.reason).toBe('malformed');
    expect(long.detail.length).toBeLessThan(700);
    expect(long.detail).toContain('more characters');
  });

  it('reports an answer outside the options as malformed', async () => {
    const result = await client.complete(ask('alice', 'q-wrong mode=wrong-option'));
    expectFailure(result);
    expect(result.reason).toBe('malformed');
    expect(result.detail).toContain('"Z" is not one of the options "A", "B", "C"');
    // Without options, the same reply is an answer.
    const free = await client.complete(ask('alice', 'q-wrong mode=wrong-option', {}));
    expectAnswer(free);
    expect(free.answer).toBe('Z');
  });

  it('reports a refusal as refused', async () => {
    const result = await client.complete(ask('alice', 'q-refusal mode=refusal'));
    expectFailure(result);
    expect(result.reason).toBe('refused');
    expect(result.detail).toContain("I can't help with that.");
  });

  it('retries a 429 after its Retry-After instead of the backoff', async () => {
    let started = performance.now();
    const now = await client.complete(ask('slowBackoff', 'q-429 mode=429-then-ok retryafter=0 answer=C'));
    expectAnswer(now);
    expect(now).toMatchObject({ answer: 'C', attempts: 2 });
    expect(server.count('q-429 ')).toBe(2);
    expect(performance.now() - started).toBeLessThan(2_500); // not the 2.5-5 s backoff

    started = performance.now();
    const later = await client.complete(ask('slowBackoff', 'q-429-1s mode=429-then-ok retryafter=1 answer=A'));
    expectAnswer(later);
    expect(later.attempts).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('retries 5xx with backoff, and gives up after retries + 1 attempts', async () => {
    const twice = await client.complete(ask('alice', 'q-500-twice mode=500-twice answer=A'));
    expectAnswer(twice);
    expect(twice).toMatchObject({ answer: 'A', attempts: 3 });
    expect(server.count('q-500-twice')).toBe(3);

    const always = await client.complete(ask('alice', 'q-500-always mode=500-always'));
    expectFailure(always);
    expect(always).toMatchObject({ reason: 'http', status: 500, attempts: 4 });
    expect(always.detail).toContain('boom forever');
    expect(server.count('q-500-always')).toBe(4);
  });

  it('fails with timeout when the server hangs past timeoutMs, without retrying', async () => {
    const started = performance.now();
    const result = await client.complete(ask('hasty', 'q-hang mode=hang'));
    const elapsed = performance.now() - started;
    expectFailure(result);
    expect(result).toMatchObject({ reason: 'timeout', attempts: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    expect(server.count('q-hang')).toBe(1);
  });

  it('does not retry a 401', async () => {
    const result = await client.complete(ask('alice', 'q-401 mode=401'));
    expectFailure(result);
    expect(result).toMatchObject({ reason: 'http', status: 401, attempts: 1 });
    expect(result.detail).toContain('invalid api key');
    expect(server.count('q-401')).toBe(1);
  });

  it('lets the caller abort a call, and records nothing', async () => {
    const recording = new MemoryModelRecording();
    const recorded = clientFor(server.baseUrl, 'live', recording);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('debate stopped')), 100);
    await expect(recorded.complete(ask('alice', 'q-abort mode=hang'), { signal: controller.signal })).rejects.toThrow('debate stopped');
    expect(recording.log).toHaveLength(0);
  });

  it('record-missing replays what is recorded and calls for the rest (transport failures count as missing)', async () => {
    const recording = new MemoryModelRecording();
    const live = clientFor(server.baseUrl, 'live', recording);
    const answered = await live.complete(ask('alice', 'q-rm-answer mode=json answer=B'));
    const prose = await live.complete(ask('alice', 'q-rm-prose mode=prose'));
    const flaky = await live.complete(ask('fragile', 'q-rm-flaky mode=500-once answer=C'));
    expectFailure(flaky);
    expect(flaky).toMatchObject({ reason: 'http', status: 500, attempts: 1 });
    expect(recording.log).toHaveLength(3);

    const filling = clientFor(server.baseUrl, 'record-missing', recording);
    const before = server.requests.length;
    const again = await filling.complete(ask('alice', 'q-rm-answer mode=json answer=B'));
    const proseAgain = await filling.complete(ask('alice', 'q-rm-prose mode=prose'));
    expect(server.requests.length).toBe(before); // both replayed
    expect(again.source).toBe('replay');
    expect(canonicalJson(logicalResult(again))).toBe(canonicalJson(logicalResult(answered)));
    expect(canonicalJson(logicalResult(proseAgain))).toBe(canonicalJson(logicalResult(prose)));

    const retried = await filling.complete(ask('fragile', 'q-rm-flaky mode=500-once answer=C'));
    expectAnswer(retried);
    expect(retried).toMatchObject({ answer: 'C', source: 'live' });
    const fresh = await filling.complete(ask('bob', 'q-rm-fresh mode=json answer=A'));
    expect(fresh.source).toBe('live');
    expect(server.requests.length).toBe(before + 2);
    // The answer replaced the recorded failure for that key.
    expect(recording.get(retried.key)?.result.kind).toBe('answer');
    expect(recording.log).toHaveLength(5);
  });
});

describe('recording to a JSON-lines file and replaying without the server', () => {
  it('replays a recorded sequence byte for byte, with the server stopped and no socket opened', async () => {
    const home = temporaryDirectory('aura-lab-model-');
    const file = join(home.path, 'exchanges.jsonl');
    const server = await FakeModelServer.start();
    let sentinel: FakeModelServer | undefined;
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      const sequence: ModelRequest[] = [
        ask('alice', 'd1 r1 alice mode=json answer=A', { options, seed: 1 }),
        ask('bob', 'd1 r1 bob mode=json answer=C', { options, seed: 1 }),
        ask('alice', 'd1 r2 alice mode=prose answer=B', { options, seed: 1 }),
        ask('bob', 'd1 r2 bob mode=500-twice answer=B', { options, seed: 1 }),
        ask('alice', 'd1 r3 alice mode=401', { options, seed: 1 }),
      ];
      const recording = JsonlModelRecording.open(file);
      const live = clientFor(server.baseUrl, 'live', recording);
      const recorded: ModelResult[] = [];
      for (const request of sequence) recorded.push(await live.complete(request));
      expect(recorded.map((result) => (result.kind === 'answer' ? result.answer : result.reason))).toEqual(['A', 'C', 'malformed', 'B', 'http']);
      expect(recorded.map((result) => result.attempts)).toEqual([1, 1, 1, 3, 1]);
      expect(fetchSpy).toHaveBeenCalledTimes(7);

      // One canonical line per exchange; telemetry beside the logical part.
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(5);
      lines.forEach((line, index) => {
        const exchange = JSON.parse(line) as Record<string, Record<string, unknown>>;
        expect(canonicalJson(exchange)).toBe(line);
        expect(exchange['key']).toBe(recorded[index]?.key);
        expect(exchange['result']).toEqual(logicalResult(recorded[index] as ModelResult));
        expect(exchange['result']).not.toHaveProperty('latencyMs');
        expect(exchange['telemetry']).toMatchObject({ agent: sequence[index]?.agent, attempts: recorded[index]?.attempts });
        expect(typeof exchange['telemetry']?.['latencyMs']).toBe('number');
      });
      expect(JSON.parse(lines[0] as string).telemetry).toMatchObject({ promptTokens: 42, completionTokens: 7 });

      const port = server.port;
      await server.stop();
      expect(await portIsClosed(port)).toBe(true);

      // Replay from the file, alice pointed at a fresh server that counts connections, bob at the closed port.
      sentinel = await FakeModelServer.start();
      const replayEndpoints = endpoints(sentinel.baseUrl);
      replayEndpoints['bob'] = { ...replayEndpoints['bob'], baseUrl: `http://127.0.0.1:${port}/v1`, model: 'other-model' };
      const replaying = new ModelClient({ mode: 'replay', endpoints: replayEndpoints, recording: JsonlModelRecording.open(file) });
      fetchSpy.mockClear();
      const replayed: ModelResult[] = [];
      for (const request of sequence) replayed.push(await replaying.complete(request));
      const again: ModelResult[] = [];
      for (const request of sequence) again.push(await replaying.complete(request));

      for (let index = 0; index < sequence.length; index += 1) {
        const original = recorded[index] as ModelResult;
        const replay = replayed[index] as ModelResult;
        expect(replay.source).toBe('replay');
        expect(canonicalJson(logicalResult(replay))).toBe(canonicalJson(logicalResult(original)));
        expect(canonicalJson(again[index])).toBe(canonicalJson(replay));
        expect({ ...replay, source: 'live' }).toEqual(original); // telemetry comes from the recording too
      }

      // Not recorded: another question, or the same one with another seed.
      const missing = await replaying.complete(ask('alice', 'd1 r4 alice mode=json answer=A', { options, seed: 1 }));
      const otherSeed = await replaying.complete(ask('alice', 'd1 r1 alice mode=json answer=A', { options, seed: 2 }));
      for (const result of [missing, otherSeed]) {
        expectFailure(result);
        expect(result).toMatchObject({ reason: 'not_recorded', attempts: 0, source: 'replay' });
      }
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(sentinel.connections).toBe(0);
      expect(sentinel.requests).toHaveLength(0);
    } finally {
      fetchSpy.mockRestore();
      await server.stop();
      await sentinel?.stop();
      home.remove();
    }
  });

  it('fails with network after retries when nothing listens', async () => {
    const server = await FakeModelServer.start();
    const baseUrl = server.baseUrl;
    await server.stop();
    const client = new ModelClient({ mode: 'live', endpoints: { alice: { baseUrl, model: 'm', retries: 2, backoffMs: 1, backoffCapMs: 2 } } });
    const result = await client.complete(ask('alice', 'anyone there?'));
    expectFailure(result);
    expect(result).toMatchObject({ reason: 'network', attempts: 3 });
    expect(result.detail).toContain('ECONNREFUSED');
  });

  it('tolerates a torn last line and reports a damaged one elsewhere', async () => {
    const home = temporaryDirectory('aura-lab-model-');
    const server = await FakeModelServer.start();
    try {
      const file = join(home.path, 'nested', 'exchanges.jsonl');
      const first = JsonlModelRecording.open(file);
      const live = clientFor(server.baseUrl, 'live', first);
      const a = await live.complete(ask('alice', 't1 mode=json answer=A'));
      await live.complete(ask('alice', 't2 mode=json answer=B'));
      const intact = readFileSync(file, 'utf8');
      appendFileSync(file, '{"v":1,"key":"ab'); // a write cut short

      const reopened = JsonlModelRecording.open(file);
      expect(reopened.opened.exchanges).toBe(2);
      expect(reopened.opened.tornBytes).toBe(16);
      expect(readFileSync(file, 'utf8')).toBe(intact);
      expect(reopened.get(a.key)?.result).toEqual(logicalResult(a));
      await clientFor(server.baseUrl, 'live', reopened).complete(ask('alice', 't3 mode=json answer=C'));
      const third = JsonlModelRecording.open(file);
      expect(third.opened).toEqual({ exchanges: 3, tornBytes: 0 });
      expect(third.size).toBe(3);

      // A complete last line without its newline is kept, and the next append starts a new line.
      writeFileSync(file, intact.slice(0, -1));
      const unterminated = JsonlModelRecording.open(file);
      expect(unterminated.opened).toEqual({ exchanges: 2, tornBytes: 0 });
      expect(readFileSync(file, 'utf8')).toBe(intact);

      // Damage anywhere else is an error naming the line.
      const [line1, line2] = intact.split('\n');
      writeFileSync(file, `${line1}\n{"v":1}\n${line2}\n`);
      expect(() => JsonlModelRecording.open(file)).toThrow(/exchanges\.jsonl:2: not a model exchange/);
      const tampered = (line2 as string).replace('"answer":"B"', '"answer":"C"');
      writeFileSync(file, `${line1}\n${tampered.replace(/"content":"t2 /, '"content":"t9 ')}\n`);
      expect(() => JsonlModelRecording.open(file)).toThrow(/exchanges\.jsonl:2: the key .* is not the hash of the recorded request/);
    } finally {
      await server.stop();
      home.remove();
    }
  });
});
