/**
 * A debate with real-model agents against a local OpenAI-compatible server, recorded; then the
 * server is stopped and the debate replays identically from the recording, without a socket.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue } from '../../src/core/kernel/canonical.ts';
import { parseDebateSpec } from '../../src/core/debate/spec.ts';
import { checkQuorum } from '../../src/core/debate/debate.ts';
import { debateEvents } from '../../src/core/debate/events.ts';
import { ModelClient } from '../../src/node/model-client.ts';
import { JsonlModelRecording } from '../../src/node/model-recording.ts';
import { runModelDebate } from '../../src/node/model-debate.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-model-debate-');
afterAll(() => work.remove());

/** A fake model: answers "incident" unless the prompt says a peer answered "noise" with high confidence; prose for "carol" in round 2. */
function fakeModel(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const parsed = JSON.parse(body) as { messages: { role: string; content: string }[] };
      const prompt = parsed.messages.at(-1)?.content ?? '';
      requests.push(prompt);
      const agent = /You are (\w+)/.exec(prompt)?.[1] ?? '?';
      const round = Number(/Round (\d+)/.exec(prompt)?.[1] ?? 0);
      const swayed = /: noise, confidence 0\.9/.test(prompt);
      const content =
        agent === 'carol' && round === 2
          ? 'I think it is probably an incident, but I cannot say.'
          : JSON.stringify({ answer: agent === 'dave' && round === 1 ? 'noise' : swayed && agent === 'bob' ? 'noise' : 'incident', confidence: agent === 'dave' ? 0.9 : 0.7, rationale: `${agent} in round ${round}` });
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, requests })));
}

const spec = parseDebateSpec({
  debateId: 'llm-1',
  question: { kind: 'categorical', text: 'Is this burst of requests an incident?', options: ['incident', 'noise'], correct: 'incident' },
  rounds: 3,
  agents: [
    { name: 'alice', model: 'llm', params: { endpoint: 'local' } },
    { name: 'bob', model: 'llm', params: { endpoint: 'local', persona: 'You are easily swayed.' } },
    { name: 'carol', model: 'llm', params: { endpoint: 'local' } },
    { name: 'dave', model: 'llm', params: { endpoint: 'local' } },
    { name: 'eve', model: 'reasoner', params: { competence: 0.6 } },
  ],
});

describe('debates with real models', () => {
  it('records every exchange, and replays the debate identically with the model server stopped', async () => {
    const { server, port, requests } = await fakeModel();
    const file = join(work.path, 'exchanges.jsonl');
    const endpoints = { local: { baseUrl: `http://127.0.0.1:${port}/v1`, model: 'fake-1', temperature: 0, retries: 0 } };
    const live = await runModelDebate(spec, 42, new ModelClient({ mode: 'live', endpoints, recording: JsonlModelRecording.open(file) }));
    // Four model agents, three rounds: twelve exchanges, one request each.
    expect(live.exchanges).toHaveLength(12);
    expect(requests).toHaveLength(12);
    expect(live.passes).toBe(13);
    expect(checkQuorum(live.outcome, spec)).toBeNull();
    const carol2 = live.exchanges.find((exchange) => exchange.payload.agent === 'carol' && exchange.payload.round === 2);
    expect((carol2?.payload.result as { kind: string; reason: string }).reason).toBe('malformed');
    // carol's malformed answer left her silent in round 2: no argument from her there.
    const carolRounds = live.outcome.records.filter((record) => record.type === 'argument' && record.agent === 'carol').map((record) => (record as { round: number }).round);
    expect(carolRounds).toEqual([1, 3]);
    expect(live.exchanges.every((exchange) => /^[0-9a-f]{64}$/.test(String(exchange.payload.key)))).toBe(true);

    await new Promise((resolve) => server.close(resolve));
    const replayed = await runModelDebate(spec, 42, new ModelClient({ mode: 'replay', endpoints, recording: JsonlModelRecording.open(file) }));
    expect(requests).toHaveLength(12); // nothing more reached the (stopped) server
    expect(canonicalJson(debateEvents(replayed.outcome.records) as unknown as JsonValue)).toBe(canonicalJson(debateEvents(live.outcome.records) as unknown as JsonValue));
    expect(canonicalJson(replayed.exchanges as unknown as JsonValue)).toBe(canonicalJson(live.exchanges as unknown as JsonValue));
  }, 30_000);
});
