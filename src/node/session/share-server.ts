/**
 * The sharing side of a session (`serve --share`): a WebSocket server (on 127.0.0.1 unless told
 * otherwise) that lets invited peers sync the session document through automerge-repo's WebSocket
 * protocol.
 *
 * Access. Every peer needs an invite token: 256 random bits (`crypto.randomBytes(32)`, base64url),
 * read-write or read-only. The token is checked at the HTTP upgrade, before any WebSocket or
 * automerge traffic (query parameter `token` or `Authorization: Bearer <token>`), by comparing
 * SHA-256 digests in constant time against every valid invite. Anything else (no token, a wrong
 * one, another path, plain HTTP) gets `401` with no body, the same answer whether or not a session
 * exists. Only token digests are kept (in memory, and in `<dataDir>/session/invites.json` mode 0600
 * so that `aura-lab session invite` can add one while the server runs), each with its expiry time
 * when it has one; an expired token is refused exactly like a wrong one (an expiry bounds when an
 * invite can open a connection: a peer already connected stays until it disconnects, and
 * `revokeInvites` cuts it off). Tokens and document ids are never logged nor put in errors.
 *
 * Invites. `createInvite(kind)` returns `aura-lab://<host>:<port>/join?token=<token>&doc=<documentId>`;
 * `join.ts` turns it into `ws://<host>:<port>/session?token=<token>` and asks for `<documentId>`.
 * `<host>` is the address peers reach: the bound address, or, when bound to every interface
 * (0.0.0.0 or ::), `inviteHost` or else this machine's first non-internal IPv4 address
 * (`shareAddresses`). The server never terminates TLS: bound beyond loopback, tokens and the
 * session cross the network in clear (the CLI warns).
 *
 * Enforcement, per peer, on every message before automerge-repo sees it:
 * - a message over 8 MiB (the WebSocket's maxPayload) or more than 200 messages in one second
 *   disconnects the peer; so does anything that is not a well-formed automerge-repo message
 *   (CBOR, a known type, its own sender id, a sync payload that decodes);
 * - a message about any document but the session is dropped (the lab stores nothing else);
 * - from a read-only peer, every sync message that carries changes is dropped, so it receives the
 *   session but never writes to it (its presence and requests still pass).
 * Each of these is counted in `stats()`; the session and the other peers are unaffected.
 *
 * Runs travel on the same port: `GET /runs/<runId>/bundle` with a valid token (either kind, in
 * the `Authorization: Bearer` header or the `token` parameter, checked exactly as at the upgrade)
 * streams the run's `.aura-run` bundle from `<dataDir>/runs` (`run-transfer.ts`); without one it is
 * the same bodiless 401.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { decodeSyncMessage } from '@automerge/automerge';
import { cbor } from '@automerge/automerge-repo';
import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuraError } from '../../core/kernel/errors.ts';
import { TokenBucket } from '../../core/kernel/token-bucket.ts';
import { bundleRequestRunId, serveRunBundle } from './run-transfer.ts';
import { sessionDirOf, type SessionRepo } from './session-repo.ts';

export type InviteKind = 'read-write' | 'read-only';

export interface ShareLimits {
  /** Largest message accepted from a peer; default 8 MiB. */
  readonly maxMessageBytes: number;
  /** Messages accepted from one peer per second, sustained, with bursts of up to twice as many; default 200. */
  readonly maxMessagesPerSecond: number;
  /** Most peers connected at once; default 64 (more get 503). */
  readonly maxPeers: number;
}

export const defaultShareLimits: ShareLimits = { maxMessageBytes: 8 * 1024 * 1024, maxMessagesPerSecond: 200, maxPeers: 64 };

export interface ShareServerOptions {
  readonly session: SessionRepo;
  /** The address to listen on (an IP address of this machine, 0.0.0.0 or ::); default 127.0.0.1. */
  readonly host?: string;
  /** The host put in invites when listening on every interface (see `shareAddresses`). */
  readonly inviteHost?: string;
  /** ms since epoch, for invite expiry (tests inject one); default Date.now. */
  readonly clock?: () => number;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Keep invites in `<dataDir>/session/invites.json` and the address in `share.json`. */
  readonly dataDir?: string;
  readonly limits?: Partial<ShareLimits>;
  /** Receives one line per peer event; never a token or a document id. */
  readonly log?: (line: string) => void;
}

export interface ShareStats {
  readonly peersConnected: number;
  readonly peersReadOnly: number;
  readonly upgradesAccepted: number;
  readonly upgradesRefused: number;
  /** Plain HTTP requests refused (no valid token, or not a run bundle path). */
  readonly requestsRefused: number;
  /** Authorised run bundle requests (`GET /runs/<runId>/bundle`). */
  readonly bundleRequests: number;
  /** Sync messages with changes from read-only peers, dropped. */
  readonly readOnlyWritesDropped: number;
  /** Messages about other documents, dropped. */
  readonly foreignMessagesDropped: number;
  readonly disconnectedOversized: number;
  readonly disconnectedFlood: number;
  readonly disconnectedMalformed: number;
}

/** Where a running share server listens, for other lab processes (`aura-lab session invite`). */
export interface ShareAddress {
  /** The host in invites. */
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The address it is bound to (older share.json files: the invite host). */
  readonly bindHost: string;
}

export interface InviteOptions {
  /** The invite stops opening connections this long after it is made; default: never. */
  readonly ttlMs?: number;
  /** ms since epoch; default Date.now(). */
  readonly nowMs?: number;
}

interface InviteRecord {
  readonly digest: string;
  readonly kind: InviteKind;
  readonly createdAtMs: number;
  /** ms since epoch; absent: never expires. */
  readonly expiresAtMs?: number;
}

/** The longest invite lifetime accepted (`--expires`). */
export const inviteTtlMaxMs = 365 * 24 * 3_600_000;

interface PeerState {
  readonly kind: InviteKind;
  peerId: string | undefined;
  /** Messages a second, with room for a burst of twice as many (ShareLimits.maxMessagesPerSecond). */
  readonly rate: TokenBucket;
  closing: boolean;
}

const knownTypes = new Set(['sync', 'request', 'ephemeral', 'doc-unavailable', 'remote-subscription-change', 'remote-heads-changed']);
const documentTypes = new Set(['sync', 'request', 'ephemeral', 'doc-unavailable']);

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A fresh invite token: 256 random bits, base64url (43 characters). */
export function newInviteToken(): string {
  return randomBytes(32).toString('base64url');
}

export function invitesPath(dataDir: string): string {
  return join(sessionDirOf(dataDir), 'invites.json');
}

export function shareAddressPath(dataDir: string): string {
  return join(sessionDirOf(dataDir), 'share.json');
}

/** A well-formed invite record (an expiry that is there but not a number fails closed: dropped). */
function isInviteRecord(entry: unknown): entry is InviteRecord {
  if (typeof entry !== 'object' || entry === null) return false;
  const record = entry as Partial<InviteRecord>;
  return (
    typeof record.digest === 'string' &&
    /^[0-9a-f]{64}$/.test(record.digest) &&
    (record.kind === 'read-write' || record.kind === 'read-only') &&
    (record.expiresAtMs === undefined || (typeof record.expiresAtMs === 'number' && Number.isFinite(record.expiresAtMs)))
  );
}

function readInviteFile(path: string): InviteRecord[] {
  if (!existsSync(path)) return [];
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { invites?: unknown };
    if (!Array.isArray(parsed.invites)) return [];
    return parsed.invites.filter(isInviteRecord);
  } catch {
    return [];
  }
}

function writeInviteFile(path: string, invites: readonly InviteRecord[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ invites }, null, 1)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

const live = (nowMs: number) => (record: InviteRecord): boolean => record.expiresAtMs === undefined || nowMs < record.expiresAtMs;

/** A new invite's record; the token is returned beside it, the only place it exists in clear. */
function newInvite(kind: InviteKind, options: InviteOptions): { token: string; record: InviteRecord } {
  const { ttlMs } = options;
  if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs < 1_000 || ttlMs > inviteTtlMaxMs)) throw new AuraError('validation', `an invite lifetime must be between 1 s and 365 days, got ${ttlMs} ms`);
  const nowMs = options.nowMs ?? Date.now();
  const token = newInviteToken();
  return { token, record: { digest: digestOf(token).toString('hex'), kind, createdAtMs: nowMs, ...(ttlMs === undefined ? {} : { expiresAtMs: nowMs + ttlMs }) } };
}

/**
 * Adds an invite to the lab's invite file and returns its token (the only place the token ever
 * exists in clear), dropping expired invites from the file. Used by the share server and by
 * `aura-lab session invite` while it runs.
 */
export function addInvite(dataDir: string, kind: InviteKind, options: InviteOptions = {}): string {
  const { token, record } = newInvite(kind, options);
  const path = invitesPath(dataDir);
  writeInviteFile(path, [...readInviteFile(path).filter(live(record.createdAtMs)), record]);
  return token;
}

/** The address of the share server running for this data directory, if one is. */
export function readShareAddress(dataDir: string): ShareAddress | undefined {
  const path = shareAddressPath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const address = JSON.parse(readFileSync(path, 'utf8')) as Partial<ShareAddress>;
    if (typeof address.port !== 'number' || typeof address.host !== 'string' || typeof address.pid !== 'number') return undefined;
    process.kill(address.pid, 0);
    return { host: address.host, port: address.port, pid: address.pid, bindHost: typeof address.bindHost === 'string' ? address.bindHost : address.host };
  } catch {
    return undefined;
  }
}

/** Where a client on this machine reaches the share server (loopback when it listens everywhere). */
export function localShareHost(address: ShareAddress): string {
  if (address.bindHost === '0.0.0.0') return '127.0.0.1';
  if (address.bindHost === '::') return '::1';
  return address.bindHost;
}

export function formatInvite(host: string, port: number, token: string, documentId: string): string {
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `aura-lab://${hostPart}:${port}/join?token=${encodeURIComponent(token)}&doc=${encodeURIComponent(documentId)}`;
}

/** A listening address that accepts connections from other machines (not loopback). */
export function isExposedHost(host: string): boolean {
  return !(host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.')));
}

/**
 * Checks a share listening address and works out the host for invites. `bindHost` must be an IP
 * address of this machine, 0.0.0.0 or :: (every interface), or localhost. Listening everywhere,
 * invites carry `inviteHost` when given, else the first non-internal IPv4 address of this machine
 * (`inviteHostChosen: true`; 127.0.0.1 when it has none). Throws `validation` naming the field.
 */
export function shareAddresses(bindHost: string, inviteHost?: string): { bindHost: string; inviteHost: string; inviteHostChosen: boolean } {
  const interfaces = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::';
  if (!wildcard && bindHost !== 'localhost' && !interfaces.some((entry) => entry.address === bindHost)) {
    const why = isIP(bindHost) === 0 ? 'not an IP address' : 'not an address of this machine';
    throw new AuraError('validation', `share host: ${JSON.stringify(bindHost)} is ${why} (use 127.0.0.1, 0.0.0.0 for every interface, or one of this machine's addresses)`, [{ path: ['shareHost'], message: why }]);
  }
  if (inviteHost !== undefined) {
    if (!(isIP(inviteHost) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(inviteHost))) {
      throw new AuraError('validation', `share URL host: ${JSON.stringify(inviteHost)} is not a host name or an IP address (no scheme, port or path)`, [{ path: ['shareUrlHost'], message: 'not a host name or an IP address' }]);
    }
    return { bindHost, inviteHost, inviteHostChosen: false };
  }
  if (!wildcard) return { bindHost, inviteHost: bindHost, inviteHostChosen: false };
  const external = interfaces.find((entry) => entry.family === 'IPv4' && !entry.internal);
  return { bindHost, inviteHost: external?.address ?? '127.0.0.1', inviteHostChosen: true };
}

/** automerge-repo's server adapter, with every incoming message screened first. */
class ScreenedServerAdapter extends WebSocketServerAdapter {
  constructor(
    server: WebSocketServer,
    private readonly screen: (bytes: Uint8Array, socket: WebSocket) => boolean,
  ) {
    super(server as never);
  }

  override receiveMessage(messageBytes: Uint8Array, socket: Parameters<WebSocketServerAdapter['receiveMessage']>[1]): void {
    if (this.screen(messageBytes, socket as unknown as WebSocket)) super.receiveMessage(messageBytes, socket);
  }
}

export class ShareServer {
  private readonly peers = new Map<WebSocket, PeerState>();
  private readonly memoryInvites: InviteRecord[] = [];
  private fileInvites: { mtimeMs: number; records: InviteRecord[] } = { mtimeMs: -1, records: [] };
  private readonly counters = { upgradesAccepted: 0, upgradesRefused: 0, requestsRefused: 0, bundleRequests: 0, readOnlyWritesDropped: 0, foreignMessagesDropped: 0, disconnectedOversized: 0, disconnectedFlood: 0, disconnectedMalformed: 0 };
  private readonly limits: ShareLimits;
  private readonly log: (line: string) => void;
  private readonly clock: () => number;
  private readonly adapter: ScreenedServerAdapter;
  private closed = false;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly session: SessionRepo,
    /** The address listened on. */
    readonly host: string,
    /** The host put in invites (see `shareAddresses`). */
    readonly inviteHost: string,
    private readonly options: ShareServerOptions,
  ) {
    this.limits = { ...defaultShareLimits, ...options.limits };
    this.log = options.log ?? (() => undefined);
    this.clock = options.clock ?? Date.now;
    this.adapter = new ScreenedServerAdapter(wss, (bytes, socket) => this.screen(bytes, socket));
    http.on('request', (request: IncomingMessage, response: ServerResponse) => this.request(request, response));
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
    session.addNetworkAdapter(this.adapter);
  }

  static async start(options: ShareServerOptions): Promise<ShareServer> {
    const { bindHost: host, inviteHost } = shareAddresses(options.host ?? '127.0.0.1', options.inviteHost);
    const limits = { ...defaultShareLimits, ...options.limits };
    for (const key of ['maxMessageBytes', 'maxMessagesPerSecond', 'maxPeers'] as const) {
      if (!(Number.isFinite(limits[key]) && limits[key] >= 1)) throw new AuraError('validation', `share limits: ${key} must be a number >= 1 (got ${String(limits[key])})`, [{ path: ['limits', key], message: 'expected a number >= 1' }]);
    }
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const server = new ShareServer(http, wss, options.session, host, inviteHost, options);
    if (options.dataDir !== undefined) {
      const path = shareAddressPath(options.dataDir);
      writeFileSync(`${path}.tmp`, `${JSON.stringify({ host: inviteHost, port: server.port, pid: process.pid, bindHost: host } satisfies ShareAddress)}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    }
    return server;
  }

  get port(): number {
    const address = this.http.address();
    if (address === null || typeof address === 'string') throw new AuraError('unavailable', 'the share server is not listening');
    return address.port;
  }

  /** A new invite URL of that kind (see the module comment for its form), expiring after `ttlMs` when given. */
  createInvite(kind: InviteKind, options: { readonly ttlMs?: number } = {}): string {
    const inviteOptions: InviteOptions = { nowMs: this.clock(), ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }) };
    let token: string;
    if (this.options.dataDir !== undefined) {
      token = addInvite(this.options.dataDir, kind, inviteOptions);
    } else {
      const invite = newInvite(kind, inviteOptions);
      token = invite.token;
      this.memoryInvites.splice(0, this.memoryInvites.length, ...this.memoryInvites.filter(live(this.clock())), invite.record);
    }
    return formatInvite(this.inviteHost, this.port, token, this.session.documentId);
  }

  /** Disconnects every peer and invalidates every invite (of one kind, or all). */
  revokeInvites(kind?: InviteKind): void {
    const keep = (record: InviteRecord): boolean => kind !== undefined && record.kind !== kind;
    this.memoryInvites.splice(0, this.memoryInvites.length, ...this.memoryInvites.filter(keep));
    if (this.options.dataDir !== undefined) {
      const path = invitesPath(this.options.dataDir);
      writeInviteFile(path, readInviteFile(path).filter(keep));
    }
    for (const [socket, state] of this.peers) if (kind === undefined || state.kind === kind) socket.terminate();
  }

  stats(): ShareStats {
    let readOnly = 0;
    for (const state of this.peers.values()) if (state.kind === 'read-only') readOnly += 1;
    return { peersConnected: this.peers.size, peersReadOnly: readOnly, ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.peers.keys()) socket.terminate();
    this.wss.close();
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    // Run bundle downloads in flight end too (a close never waits for a peer's download).
    this.http.closeAllConnections();
    await httpClosed;
    if (this.options.dataDir !== undefined) rmSync(shareAddressPath(this.options.dataDir), { force: true });
  }

  // ---- access ------------------------------------------------------------------------------

  private invites(): readonly InviteRecord[] {
    if (this.options.dataDir === undefined) return this.memoryInvites;
    const path = invitesPath(this.options.dataDir);
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      mtimeMs = -1;
    }
    if (mtimeMs !== this.fileInvites.mtimeMs) this.fileInvites = { mtimeMs, records: mtimeMs < 0 ? [] : readInviteFile(path) };
    return [...this.memoryInvites, ...this.fileInvites.records];
  }

  /**
   * The kind of the live invite this token belongs to; every invite is compared (no early exit),
   * and an expired one counts as no match.
   */
  private authenticate(token: string | undefined): InviteKind | undefined {
    const candidate = digestOf(token ?? '');
    const isLive = live(this.clock());
    let kind: InviteKind | undefined;
    for (const record of this.invites()) {
      const match = timingSafeEqual(candidate, Buffer.from(record.digest, 'hex'));
      if (match && isLive(record) && token !== undefined && token.length >= 22) kind = record.kind;
    }
    return kind;
  }

  /** The request's path and token (query parameter `token`, else `Authorization: Bearer`). */
  private credentials(request: IncomingMessage): { path: string; token: string | undefined } {
    let token: string | undefined;
    let path = '';
    try {
      const url = new URL(request.url ?? '/', 'ws://share.invalid');
      path = url.pathname;
      token = url.searchParams.get('token') ?? undefined;
    } catch {
      token = undefined;
    }
    const authorization = request.headers.authorization;
    if (token === undefined && typeof authorization === 'string' && authorization.startsWith('Bearer ')) token = authorization.slice('Bearer '.length).trim();
    return { path, token };
  }

  /**
   * Plain HTTP: `GET /runs/<runId>/bundle` with a valid invite token (read-only ones too) streams
   * the run's bundle (`run-transfer.ts`); anything else, and any request without a valid token,
   * gets the same bodiless 401 as a refused upgrade, whether or not the run or a session exists.
   */
  private request(request: IncomingMessage, response: ServerResponse): void {
    response.on('error', () => undefined);
    const { token } = this.credentials(request);
    // The token is checked first, always, so a refusal takes the same path whatever was asked.
    const kind = this.authenticate(token);
    const runId = bundleRequestRunId(request.url ?? '/');
    if (kind === undefined || runId === undefined || this.closed) {
      this.counters.requestsRefused += 1;
      response.writeHead(401, { 'Content-Length': '0', Connection: 'close' });
      response.end();
      if (runId !== undefined) this.log('share: refused a run bundle request (no valid invite)');
      return;
    }
    this.counters.bundleRequests += 1;
    void serveRunBundle(request, response, this.options.dataDir, this.log);
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: string): void => {
      this.counters.upgradesRefused += 1;
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    socket.on('error', () => undefined);
    const { path, token } = this.credentials(request);
    const kind = this.authenticate(token);
    if (kind === undefined || path !== '/session' || this.closed) {
      refuse('401 Unauthorized');
      this.log('share: refused a connection (no valid invite)');
      return;
    }
    if (this.peers.size >= this.limits.maxPeers) {
      refuse('503 Service Unavailable');
      this.log('share: refused a connection (too many peers)');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.counters.upgradesAccepted += 1;
      this.peers.set(ws, { kind, peerId: undefined, rate: new TokenBucket(this.limits.maxMessagesPerSecond, 2 * this.limits.maxMessagesPerSecond, performance.now()), closing: false });
      ws.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.drop(ws, 'oversized');
        else this.drop(ws, 'malformed');
      });
      ws.on('close', () => {
        this.peers.delete(ws);
        this.log(`share: a ${kind} peer left (${this.peers.size} connected)`);
      });
      this.log(`share: a ${kind} peer joined (${this.peers.size} connected)`);
      this.wss.emit('connection', ws, request);
    });
  }

  // ---- screening ---------------------------------------------------------------------------

  private drop(socket: WebSocket, why: 'oversized' | 'flood' | 'malformed'): void {
    const state = this.peers.get(socket);
    if (state === undefined || state.closing) return;
    state.closing = true;
    if (why === 'oversized') this.counters.disconnectedOversized += 1;
    else if (why === 'flood') this.counters.disconnectedFlood += 1;
    else this.counters.disconnectedMalformed += 1;
    this.log(`share: disconnected a ${state.kind} peer (${why} message)`);
    socket.terminate();
  }

  /** true: hand the message to automerge-repo; false: dropped (and maybe disconnected). */
  private screen(bytes: Uint8Array, socket: WebSocket): boolean {
    const state = this.peers.get(socket);
    if (state === undefined || state.closing) return false;
    // Monotonic time: a wall clock stepped back would stop the bucket refilling.
    if (!state.rate.take(performance.now())) {
      this.drop(socket, 'flood');
      return false;
    }
    if (bytes.byteLength > this.limits.maxMessageBytes) {
      this.drop(socket, 'oversized');
      return false;
    }
    let message: unknown;
    try {
      message = cbor.decode(bytes instanceof Buffer ? bytes : Buffer.from(bytes));
    } catch {
      this.drop(socket, 'malformed');
      return false;
    }
    if (typeof message !== 'object' || message === null) {
      this.drop(socket, 'malformed');
      return false;
    }
    const fields = message as Record<string, unknown>;
    const { type, senderId } = fields;
    if (typeof senderId !== 'string' || senderId.length === 0 || senderId.length > 256) {
      this.drop(socket, 'malformed');
      return false;
    }
    if (type === 'join') {
      if (state.peerId !== undefined && state.peerId !== senderId) {
        this.drop(socket, 'malformed');
        return false;
      }
      state.peerId = senderId;
      return true;
    }
    if (typeof type !== 'string' || !knownTypes.has(type) || state.peerId === undefined || senderId !== state.peerId) {
      this.drop(socket, 'malformed');
      return false;
    }
    if (!documentTypes.has(type)) {
      // Remote-heads gossip is off in the lab.
      this.counters.foreignMessagesDropped += 1;
      return false;
    }
    if (fields.documentId !== this.session.documentId) {
      this.counters.foreignMessagesDropped += 1;
      return false;
    }
    if (type === 'sync' || type === 'request') {
      if (!(fields.data instanceof Uint8Array) || fields.data.byteLength === 0) {
        this.drop(socket, 'malformed');
        return false;
      }
      let changes: number;
      try {
        changes = decodeSyncMessage(fields.data).changes.length;
      } catch {
        this.drop(socket, 'malformed');
        return false;
      }
      if (state.kind === 'read-only' && changes > 0) {
        this.counters.readOnlyWritesDropped += 1;
        return false;
      }
    } else if (type === 'ephemeral' && !(fields.data instanceof Uint8Array)) {
      this.drop(socket, 'malformed');
      return false;
    }
    return true;
  }
}

/** Removes one invite from the lab's invite file (a short-lived local client's own invite). */
export function removeInvite(dataDir: string, token: string): void {
  const path = invitesPath(dataDir);
  const digest = digestOf(token).toString('hex');
  writeInviteFile(path, readInviteFile(path).filter((record) => record.digest !== digest));
}
