/**
 * Browser mode: serves the built renderer and the engine API on 127.0.0.1 only. Like Jupyter,
 * the URL carries a secret made at each launch; the API checks it, the Origin and the Host, so
 * neither another web page in the browser nor another local user can drive the engine.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { limits } from '../core/kernel/limits.ts';
import type { EngineSupervisor } from '../host/engine-supervisor.ts';
import { errorResponse } from '../shared/api.ts';
import { ApiClient } from '../shared/client.ts';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface BrowserServerOptions {
  readonly port: number;
  readonly rendererDir: string;
  readonly supervisor: EngineSupervisor;
  /** Fixed token (tests); otherwise 256 random bits per launch. */
  readonly token?: string;
}

export interface BrowserServer {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const tokenBytes = Buffer.from(token);
  let port = options.port;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

  // One engine link of the server's own for /metrics.
  const metricsClient: ApiClient = new ApiClient((message) => metricsLink.send(message));
  const metricsLink = options.supervisor.connect((message) => metricsClient.handle(message));
  const server: Server = createServer((request, response) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname === '/metrics') {
      void serveMetrics(request, response, allowedHosts(), tokenBytes, metricsClient);
      return;
    }
    serveStatic(request, response, options.rendererDir, allowedHosts(), port);
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: limits.apiMessageBytesMax });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: string): void => {
      socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const host = request.headers.host ?? '';
    if (!allowedHosts().includes(host)) return refuse('421 Misdirected Request');
    const url = new URL(request.url ?? '/', `http://${host}`);
    if (url.pathname !== '/api') return refuse('404 Not Found');
    // Browsers always send Origin on WebSocket handshakes; non-browser local clients must send ours.
    if (request.headers.origin !== `http://${host}`) return refuse('403 Forbidden');
    const offered = Buffer.from(url.searchParams.get('token') ?? '');
    if (offered.length !== tokenBytes.length || !timingSafeEqual(offered, tokenBytes)) return refuse('403 Forbidden');
    sockets.handleUpgrade(request, socket, head, (ws) => attach(ws, options.supervisor));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address !== null && typeof address === 'object') port = address.port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      metricsLink.close();
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function attach(ws: WebSocket, supervisor: EngineSupervisor): void {
  const link = supervisor.connect((message) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.send(JSON.stringify(errorResponse(null, { code: 'validation', message: 'binary messages are not part of the API', issues: [] })));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      ws.send(JSON.stringify(errorResponse(null, { code: 'validation', message: 'malformed message: not JSON', issues: [] })));
      return;
    }
    link.send(parsed);
  });
  ws.on('close', () => link.close());
  ws.on('error', () => link.close());
}

/**
 * Prometheus scrapes /metrics with this launch's secret, as `Authorization: Bearer <token>` (a
 * scrape config's `authorization` block) or `?token=`: the numbers name runs and scenarios.
 */
async function serveMetrics(request: IncomingMessage, response: ServerResponse, allowedHosts: string[], tokenBytes: Buffer, client: ApiClient): Promise<void> {
  if (!allowedHosts.includes(request.headers.host ?? '')) {
    response.writeHead(421, { 'Content-Type': 'text/plain' }).end('misdirected request\n');
    return;
  }
  if (request.method !== 'GET') {
    response.writeHead(405, { Allow: 'GET' }).end();
    return;
  }
  const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
  const offered = Buffer.from(bearer ?? new URL(request.url ?? '/', 'http://localhost').searchParams.get('token') ?? '');
  if (offered.length !== tokenBytes.length || !timingSafeEqual(offered, tokenBytes)) {
    response.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' }).end('this launch\'s token is required\n');
    return;
  }
  try {
    const { text } = await client.request('metrics.prometheus', {});
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' }).end(text);
  } catch (error) {
    response.writeHead(503, { 'Content-Type': 'text/plain' }).end(`metrics unavailable: ${(error as Error).message}\n`);
  }
}

function serveStatic(request: IncomingMessage, response: ServerResponse, rendererDir: string, allowedHosts: string[], port: number): void {
  if (!allowedHosts.includes(request.headers.host ?? '')) {
    response.writeHead(421, { 'Content-Type': 'text/plain' }).end('misdirected request\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
  const relativePath = pathname === '/' ? 'index.html' : normalize(pathname).replace(/^[/\\]+/, '');
  const file = join(rendererDir, relativePath);
  if (!file.startsWith(rendererDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  const isHtml = file.endsWith('.html');
  response.writeHead(200, {
    'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': isHtml ? 'no-store' : 'public, max-age=3600',
    ...(isHtml
      ? {
          'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
          'X-Frame-Options': 'DENY',
        }
      : {}),
  });
  response.end(request.method === 'HEAD' ? undefined : readFileSync(file));
}

/**
 * What `serve --share` prints besides the URL: a read-write invite made by the engine host (which
 * holds the session and its share server), and how to make a read-only one.
 */
export async function shareBanner(supervisor: EngineSupervisor): Promise<string> {
  const client: ApiClient = new ApiClient((message) => link.send(message));
  const link = supervisor.connect((message) => client.handle(message));
  try {
    const { invite } = await client.request('session.invite', { kind: 'read-write' });
    return [
      'Sharing this lab\'s session. Read-write invite (it carries a secret token; give it only to your peers):',
      invite,
      'A read-only invite: aura-lab session invite --read-only (same AURA_LAB_HOME), or the Session tab.',
      '',
    ].join('\n');
  } catch (error) {
    return `aura-lab: warning: sharing did not start: ${(error as Error).message}\n`;
  } finally {
    link.close();
  }
}
