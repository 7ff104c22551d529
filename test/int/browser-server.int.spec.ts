import { request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowserServer, type BrowserServer } from '../../src/cli/serve.ts';
import type { ServerMessage } from '../../src/shared/api.ts';
import { startEngine, type EngineHarness } from '../support/engine.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

let engine: EngineHarness;
let server: BrowserServer;
const site = temporaryDirectory('aura-lab-site-');

beforeAll(async () => {
  mkdirSync(join(site.path, 'assets'));
  writeFileSync(join(site.path, 'index.html'), '<!doctype html><title>AURA Lab</title>');
  writeFileSync(join(site.path, 'assets', 'app.js'), 'console.log(1)');
  engine = await startEngine();
  server = await startBrowserServer({ port: 0, rendererDir: site.path, supervisor: engine.supervisor });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  site.remove();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens the API socket; resolves with the socket, or with the HTTP status that refused it. */
const inbox = new WeakMap<WebSocket, ServerMessage[]>();

function openSocket(options: { token?: string; origin?: string; host?: string; path?: string }): Promise<WebSocket | number> {
  const host = options.host ?? `127.0.0.1:${server.port}`;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${options.path ?? '/api'}?token=${encodeURIComponent(options.token ?? server.token)}`, {
    headers: { host },
    ...(options.origin === '' ? {} : { origin: options.origin ?? `http://${host}` }),
  });
  const messages: ServerMessage[] = [];
  inbox.set(ws, messages);
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as ServerMessage));
  return new Promise((resolve) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
}

async function nextMessage(ws: WebSocket, predicate: (message: ServerMessage) => boolean): Promise<ServerMessage> {
  const messages = inbox.get(ws) ?? [];
  for (let attempt = 0; attempt < 500; attempt++) {
    const index = messages.findIndex(predicate);
    if (index >= 0) return messages.splice(index, 1)[0]!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no matching message within 10 s');
}

describe('browser mode server', () => {
  it('prints a 127.0.0.1 URL carrying a fresh 256-bit secret', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`));
  });

  it('serves the UI with a strict content security policy, and nothing outside it', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('AURA Lab');
    expect(index.headers['content-security-policy']).toMatch(/default-src 'self'; script-src 'self'/);
    expect(index.headers['referrer-policy']).toBe('no-referrer');
    expect((await get('/assets/app.js')).headers['content-type']).toMatch(/javascript/);
    expect((await get('/../../etc/passwd')).status).toBe(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    expect((await get('/missing.js')).status).toBe(404);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await get('/', { host: `evil.example:${server.port}` })).status).toBe(421);
    expect(await openSocket({ host: `evil.example:${server.port}`, origin: `http://evil.example:${server.port}` })).toBe(421);
  });

  it('refuses the API without the secret, with a wrong one, or from another origin', async () => {
    expect(await openSocket({ token: '' })).toBe(403);
    // One character changed (never to itself: a random token ends in A one time in 64).
    expect(await openSocket({ token: `${server.token.slice(0, -1)}${server.token.endsWith('A') ? 'B' : 'A'}` })).toBe(403);
    expect(await openSocket({ origin: 'http://evil.example' })).toBe(403);
    expect(await openSocket({ origin: '' })).toBe(403);
    expect(await openSocket({ path: '/other' })).toBe(404);
  });

  it('lets the page with the secret drive the engine, and answers garbage with typed errors', async () => {
    const ws = await openSocket({});
    if (typeof ws === 'number') throw new Error(`refused with ${ws}`);
    try {
      const status = await nextMessage(ws, (message) => message.type === 'push' && message.topic === 'engine.status');
      expect(status).toMatchObject({ data: { state: 'ready' } });
      ws.send(JSON.stringify({ type: 'request', id: 1, method: 'engine.info', params: {} }));
      const info = await nextMessage(ws, (message) => message.type === 'response' && message.id === 1);
      expect(info).toMatchObject({ ok: true, result: { pid: engine.supervisor.pid } });
      ws.send('{not json');
      expect(await nextMessage(ws, (message) => message.type === 'response' && message.id === null)).toMatchObject({ ok: false, error: { code: 'validation', message: 'malformed message: not JSON' } });
      ws.send(JSON.stringify({ type: 'request', id: 2, method: 'run.start', params: { scenario: ['x'] } }));
      expect(await nextMessage(ws, (message) => message.type === 'response' && message.id === 2)).toMatchObject({ ok: false, error: { code: 'validation' } });
    } finally {
      ws.close();
    }
  });

  it('exposes every run as Prometheus text at /metrics, with the secret only', async () => {
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get('/metrics', { host: 'evil.example:80' })).status).toBe(421);
    const started = await engine.client.request('run.start', { scenario: 'poison.yaml', speed: 'max' });
    await engine.waitForRun(started.runId, 60_000);
    const scraped = await get('/metrics', { authorization: `Bearer ${server.token}` });
    expect(scraped.status).toBe(200);
    expect(scraped.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const run = `run="${started.runId}",scenario="poison"`;
    expect(scraped.body).toContain('# TYPE aura_run_events_total counter');
    expect(scraped.body).toMatch(new RegExp(`^aura_run_events_total\\{${run}\\} [1-9]\\d+$`, 'm'));
    expect(scraped.body).toMatch(new RegExp(`^aura_append_to_projected_latency_seconds\\{${run},quantile="0.99"\\} [0-9.e-]+$`, 'm'));
    expect(scraped.body).toMatch(new RegExp(`^aura_projection_parked_events\\{${run},projection="slo-status"\\} [1-9]\\d*$`, 'm'));
    // Every sample line is name{labels} value.
    for (const line of scraped.body.trim().split('\n').filter((text) => !text.startsWith('#'))) expect(line).toMatch(/^[a-z_]+\{[^}]*\} (NaN|[0-9.e+-]+)$/);
    expect((await get(`/metrics?token=${server.token}`)).status).toBe(200);
  }, 90_000);

  it('only listens on the loopback interface', async () => {
    const address = (await import('node:os')).networkInterfaces();
    const external = Object.values(address)
      .flat()
      .find((entry) => entry && entry.family === 'IPv4' && !entry.internal);
    if (external === undefined) {
      // No external interface on this machine: nothing else to prove.
      expect(server.url.startsWith('http://127.0.0.1:')).toBe(true);
      return;
    }
    const reached = await new Promise<boolean>((resolve) => {
      const req = request({ host: external.address, port: server.port, path: '/', timeout: 2_000 }, () => resolve(true));
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
      req.end();
    });
    expect(reached).toBe(false);
  });
});
