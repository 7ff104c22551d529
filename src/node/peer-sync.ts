/**
 * A sync peer for AURA Lab's network drills: it owns one event log (its origin) and keeps a
 * replica of every other peer's log, replicated over plain TCP with newline-delimited JSON.
 *
 * Storage is one SQLite event store per origin under the peer's directory (`<dir>/<origin>.sqlite`).
 * The own log is appended to normally; replicas are written with `importEvents`, so a replica
 * of origin X has exactly X's positions and hashes, and every imported event's chain link is
 * checked first (a link that does not verify is refused and counted, never stored).
 *
 * Protocol (one JSON object a line):
 * - `hello {peerId, heads}` both ways on connect, heads = origin -> {position, hash};
 * - `events {origin, events}` every event the other side lacks, own log and replicas alike
 *   (gossip: a peer cut off from X still gets X's events through a third peer), in batches,
 *   then live as logs grow;
 * - `ack {heads}` the receiver's new heads after an import;
 * - `resend {origin, from}` after a gap (the sender rewinds), `ping` when idle.
 * Peers dial each other and re-dial after any disconnect (25 ms doubling to 200 ms), so a healed
 * link converges in well under a second. A malformed line is an AuraError('validation') counted
 * in stats().anomalies, never a crash.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { genesisHashHex, hashFraming } from '../core/events/encoding.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { createRandom, type Random } from '../core/kernel/random.ts';
import type { StreamAppend } from '../core/ports/event-store.ts';
import { EventReader } from './event-reader.ts';
import { chainHash, SqliteEventStore, type ImportedEvent } from './sqlite-event-store.ts';
import type { RawEventRowWithHash } from './sqlite-schema.ts';

export interface SyncPeerOptions {
  /** The peer's id, also its origin name and its own log's file name. */
  readonly id: string;
  readonly dir: string;
  /** 0 (default) picks any free port. */
  readonly listenPort?: number;
  /** Seeds the re-dial jitter. */
  readonly seed: number;
}

export interface SyncHead {
  readonly position: number;
  readonly hash: string;
}

export interface NeighbourStats {
  readonly connected: boolean;
  /** Open connections to this neighbour whose hello has arrived (dialled and accepted). */
  readonly connections: number;
  readonly disconnects: number;
  /** Dials after the first one. */
  readonly reconnects: number;
  readonly eventsSent: number;
  readonly eventsReceived: number;
  readonly eventsImported: number;
  /** Received events already held (at or below the replica's head). */
  readonly duplicates: number;
}

export interface SyncAnomaly {
  readonly kind: string;
  readonly code: string;
  readonly message: string;
  readonly peer: string | undefined;
}

export interface SyncPeerStats {
  readonly id: string;
  readonly neighbours: Record<string, NeighbourStats>;
  /** Count by class: malformed, protocol, chain, gap, import, divergence, own-origin, internal. */
  readonly anomalies: Record<string, number>;
  /** The last 50 anomalies. */
  readonly recentAnomalies: readonly SyncAnomaly[];
}

/** An event on the wire: a stored event exactly as written, its hash included. */
interface WireEvent {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** The payload's JSON text as stored (hashed verbatim). */
  readonly payload: string;
  readonly virtualTimeUs: number;
  readonly causation?: string;
  readonly correlation?: string;
  readonly hash: string;
}

export type SyncMessage =
  | { readonly t: 'hello'; readonly peerId: string; readonly heads: Record<string, SyncHead> }
  | { readonly t: 'events'; readonly origin: string; readonly events: readonly WireEvent[] }
  | { readonly t: 'ack'; readonly heads: Record<string, SyncHead> }
  | { readonly t: 'resend'; readonly origin: string; readonly from: number }
  | { readonly t: 'ping' };

const batchEventsMax = 500;
const batchBytesMax = 4 << 20;
const lineCharsMax = 64 << 20;
const backoffMinMs = 25;
const backoffMaxMs = 200;
const heartbeatMs = 250;
const pingAfterMs = 500;
const idleTimeoutMs = 5_000;
const recentAnomaliesMax = 50;
const originPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const hex32 = /^[0-9a-f]{32}$/;
const hex64 = /^[0-9a-f]{64}$/;

/** One origin's log at this peer: the own log or a replica. */
class OriginLog {
  readonly reader: EventReader;
  private readonly hashAtStatement: Database.Statement<[number], { hash: string }>;

  constructor(
    readonly origin: string,
    readonly store: SqliteEventStore,
  ) {
    this.reader = new EventReader(store.db);
    this.hashAtStatement = store.db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?');
  }

  hashAt(position: number): string | undefined {
    return this.hashAtStatement.get(position)?.hash;
  }

  head(): SyncHead {
    return { position: this.store.headPosition(), hash: this.store.headHash() };
  }

  /** Events from `from` on, at most `max` of them and about `maxBytes`, as wire events. */
  wireEvents(from: number, max: number, maxBytes: number): WireEvent[] {
    const to = Math.min(this.store.headPosition(), from + max - 1);
    const out: WireEvent[] = [];
    let bytes = 0;
    for (const row of this.reader.rawRange(from, to) as Iterable<RawEventRowWithHash>) {
      out.push({
        position: row[0],
        stream: this.reader.streamName(row[1]),
        version: row[2],
        id: row[3],
        type: this.reader.typeName(row[4]),
        schemaVersion: row[5],
        payload: row[6],
        virtualTimeUs: row[7],
        ...(row[8] === '' ? {} : { causation: row[8] }),
        ...(row[9] === null ? {} : { correlation: row[9] }),
        hash: row[10],
      });
      bytes += row[6].length + 200;
      if (bytes >= maxBytes) break;
    }
    return out;
  }
}

interface Dialer {
  readonly peerId: string;
  readonly host: string;
  readonly port: number;
  backoffMs: number;
  dials: number;
  timer: NodeJS.Timeout | undefined;
}

/** One TCP connection to a neighbour, dialled or accepted. */
class Link {
  remoteId: string | undefined;
  helloReceived = false;
  buffer = '';
  waitingForDrain = false;
  lastReceivedAt = performance.now();
  lastSentAt = performance.now();
  /** Per origin: the position up to which the other side has, or has been sent, every event. */
  readonly sentUpTo = new Map<string, number>();
  readonly remoteHeads = new Map<string, SyncHead>();
  /** Per origin: the replica head at which a resend was asked (asked once per head). */
  readonly resendAskedAt = new Map<string, number>();
  readonly closed: Promise<void>;

  constructor(
    readonly socket: net.Socket,
    readonly dialer: Dialer | undefined,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }
}

interface MutableNeighbour {
  disconnects: number;
  reconnects: number;
  eventsSent: number;
  eventsReceived: number;
  eventsImported: number;
  duplicates: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function invalid(message: string): AuraError {
  return new AuraError('validation', message);
}

function checkOrigin(value: unknown, what: string): string {
  if (typeof value !== 'string' || !originPattern.test(value)) throw invalid(`${what} must be a peer id (letters, digits, - and _), got ${JSON.stringify(value)}`);
  return value;
}

function parseHeads(value: unknown): Record<string, SyncHead> {
  if (!isRecord(value)) throw invalid('heads must be an object');
  const heads: Record<string, SyncHead> = {};
  for (const [origin, head] of Object.entries(value)) {
    checkOrigin(origin, 'a heads key');
    if (!isRecord(head) || !isNonNegativeInteger(head.position) || typeof head.hash !== 'string' || !hex64.test(head.hash)) throw invalid(`heads.${origin} must be {position, hash}`);
    heads[origin] = { position: head.position, hash: head.hash };
  }
  return heads;
}

function parseWireEvent(value: unknown, index: number): WireEvent {
  const bad = (field: string): AuraError => invalid(`events[${index}].${field} is missing or malformed`);
  if (!isRecord(value)) throw invalid(`events[${index}] must be an object`);
  if (!isNonNegativeInteger(value.position) || value.position < 1) throw bad('position');
  if (typeof value.stream !== 'string' || value.stream === '') throw bad('stream');
  if (!isNonNegativeInteger(value.version) || value.version < 1) throw bad('version');
  if (typeof value.id !== 'string' || !hex32.test(value.id)) throw bad('id');
  if (typeof value.type !== 'string' || value.type === '') throw bad('type');
  if (!isNonNegativeInteger(value.schemaVersion)) throw bad('schemaVersion');
  if (typeof value.payload !== 'string') throw bad('payload');
  if (typeof value.virtualTimeUs !== 'number' || !Number.isSafeInteger(value.virtualTimeUs)) throw bad('virtualTimeUs');
  if (value.causation !== undefined && (typeof value.causation !== 'string' || !hex32.test(value.causation))) throw bad('causation');
  if (value.correlation !== undefined && typeof value.correlation !== 'string') throw bad('correlation');
  if (typeof value.hash !== 'string' || !hex64.test(value.hash)) throw bad('hash');
  return value as unknown as WireEvent;
}

/** Parses and checks one protocol line; AuraError('validation') when it is not a valid message. */
export function parseSyncMessage(line: string): SyncMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw invalid(`not JSON: ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (!isRecord(value) || typeof value.t !== 'string') throw invalid('a message must be an object with a type "t"');
  switch (value.t) {
    case 'hello':
      return { t: 'hello', peerId: checkOrigin(value.peerId, 'hello.peerId'), heads: parseHeads(value.heads) };
    case 'events': {
      const origin = checkOrigin(value.origin, 'events.origin');
      if (!Array.isArray(value.events)) throw invalid('events.events must be an array');
      return { t: 'events', origin, events: value.events.map((event, index) => parseWireEvent(event, index)) };
    }
    case 'ack':
      return { t: 'ack', heads: parseHeads(value.heads) };
    case 'resend':
      if (!isNonNegativeInteger(value.from) || value.from < 1) throw invalid('resend.from must be a position');
      return { t: 'resend', origin: checkOrigin(value.origin, 'resend.origin'), from: value.from };
    case 'ping':
      return { t: 'ping' };
    default:
      throw invalid(`unknown message type ${JSON.stringify(value.t)}`);
  }
}

export class SyncPeer {
  readonly id: string;
  private readonly logs = new Map<string, OriginLog>();
  private readonly unsubscribers: (() => void)[] = [];
  private readonly links = new Set<Link>();
  private readonly dialers = new Map<string, Dialer>();
  private readonly neighbours = new Map<string, MutableNeighbour>();
  private readonly anomalyCounts = new Map<string, number>();
  private readonly recentAnomalies: SyncAnomaly[] = [];
  private readonly random: Random;
  private readonly dir: string;
  private heartbeat: NodeJS.Timeout | undefined;
  private pumpScheduled: NodeJS.Immediate | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    options: SyncPeerOptions,
    private readonly server: net.Server,
  ) {
    this.id = options.id;
    this.dir = options.dir;
    this.random = createRandom(options.seed).split(`sync-peer:${options.id}`);
    mkdirSync(options.dir, { recursive: true });
    try {
      this.openLog(options.dir, this.id);
      for (const name of readdirSync(options.dir)) {
        const origin = name.endsWith('.sqlite') ? name.slice(0, -'.sqlite'.length) : undefined;
        if (origin !== undefined && origin !== this.id && originPattern.test(origin)) this.openLog(options.dir, origin);
      }
    } catch (error) {
      for (const log of this.logs.values()) log.store.close();
      throw error;
    }
    server.on('connection', (socket) => this.attach(socket, undefined));
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
  }

  static async start(options: SyncPeerOptions): Promise<SyncPeer> {
    checkOrigin(options.id, 'id');
    const server = net.createServer();
    const peer = new SyncPeer(options, server);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.listenPort ?? 0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await peer.close();
      throw error;
    }
    return peer;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new AuraError('unavailable', `peer ${this.id} is not listening`);
    return address.port;
  }

  /** Dials a neighbour and keeps re-dialling after every disconnect until close(). */
  connect(peerId: string, host: string, port: number): void {
    checkOrigin(peerId, 'peerId');
    if (this.closing !== undefined) throw new AuraError('unavailable', `peer ${this.id} is closed`);
    if (peerId === this.id) throw new AuraError('validation', `peer ${this.id} cannot dial itself`);
    if (this.dialers.has(peerId)) throw new AuraError('conflict', `peer ${this.id} already dials ${peerId}`);
    const dialer: Dialer = { peerId, host, port, backoffMs: backoffMinMs, dials: 0, timer: undefined };
    this.dialers.set(peerId, dialer);
    this.neighbour(peerId);
    this.dial(dialer);
  }

  /** Appends to the own log (one transaction); returns the positions of the appended events. */
  appendOwn(appends: readonly StreamAppend[]): number[] {
    if (this.closing !== undefined) throw new AuraError('unavailable', `peer ${this.id} is closed`);
    const results = this.ownLog().store.appendBatch(appends);
    const positions: number[] = [];
    for (const result of results) for (let position = result.firstPosition; position <= result.lastPosition; position++) positions.push(position);
    return positions;
  }

  /** Head of every log this peer holds (its own and every replica). */
  heads(): Record<string, SyncHead> {
    const out: Record<string, SyncHead> = {};
    for (const [origin, log] of this.logs) out[origin] = log.head();
    return out;
  }

  /** The stored hash of an origin's event at a position, if this peer has it. */
  hashAt(origin: string, position: number): string | undefined {
    return this.logs.get(origin)?.hashAt(position);
  }

  /** The file holding an origin's log at this peer. */
  logPath(origin: string): string {
    return join(this.dir, `${checkOrigin(origin, 'origin')}.sqlite`);
  }

  stats(): SyncPeerStats {
    const neighbours: Record<string, NeighbourStats> = {};
    for (const [peerId, counters] of this.neighbours) {
      const connections = [...this.links].filter((link) => link.remoteId === peerId && link.helloReceived && !link.socket.destroyed).length;
      neighbours[peerId] = { connected: connections > 0, connections, ...counters };
    }
    return { id: this.id, neighbours, anomalies: Object.fromEntries(this.anomalyCounts), recentAnomalies: [...this.recentAnomalies] };
  }

  /** Stops dialling, closes every connection and the server, then the logs. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (this.pumpScheduled !== undefined) clearImmediate(this.pumpScheduled);
    this.pumpScheduled = undefined;
    for (const dialer of this.dialers.values()) if (dialer.timer !== undefined) clearTimeout(dialer.timer);
    const serverClosed = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    const links = [...this.links];
    for (const link of links) link.socket.destroy();
    await Promise.all([serverClosed, ...links.map((link) => link.closed)]);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    for (const log of this.logs.values()) log.store.close();
  }

  // ---- logs ---------------------------------------------------------------------------------

  private ownLog(): OriginLog {
    return this.logs.get(this.id) as OriginLog;
  }

  private openLog(dir: string, origin: string): OriginLog {
    const store = new SqliteEventStore(join(dir, `${origin}.sqlite`));
    const log = new OriginLog(origin, store);
    this.logs.set(origin, log);
    // Own appends and imports alike are pushed on: imports are how gossip relays events.
    this.unsubscribers.push(store.onAppended(() => this.schedulePump()));
    return log;
  }

  // ---- connections --------------------------------------------------------------------------

  private neighbour(peerId: string): MutableNeighbour {
    let counters = this.neighbours.get(peerId);
    if (counters === undefined) {
      counters = { disconnects: 0, reconnects: 0, eventsSent: 0, eventsReceived: 0, eventsImported: 0, duplicates: 0 };
      this.neighbours.set(peerId, counters);
    }
    return counters;
  }

  private dial(dialer: Dialer): void {
    dialer.timer = undefined;
    if (this.closing !== undefined) return;
    dialer.dials += 1;
    if (dialer.dials > 1) this.neighbour(dialer.peerId).reconnects += 1;
    const socket = net.connect({ host: dialer.host, port: dialer.port });
    this.attach(socket, dialer);
  }

  private redial(dialer: Dialer): void {
    if (this.closing !== undefined || dialer.timer !== undefined) return;
    // A little seeded jitter (up to 20%) keeps peers from re-dialling in lockstep.
    const delay = dialer.backoffMs + Math.floor((dialer.backoffMs * this.random.int(0, 20)) / 100);
    dialer.backoffMs = Math.min(backoffMaxMs, dialer.backoffMs * 2);
    dialer.timer = setTimeout(() => this.dial(dialer), delay);
  }

  private attach(socket: net.Socket, dialer: Dialer | undefined): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const link = new Link(socket, dialer);
    this.links.add(link);
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('error', () => {
      // Resets and refused dials end in 'close', which re-dials.
    });
    socket.on('data', (chunk: string) => this.receive(link, chunk));
    socket.on('close', () => {
      this.links.delete(link);
      if (link.remoteId !== undefined && link.helloReceived) this.neighbour(link.remoteId).disconnects += 1;
      if (dialer !== undefined) this.redial(dialer);
    });
    const send = (): void => this.send(link, { t: 'hello', peerId: this.id, heads: this.heads() });
    if (dialer === undefined) send();
    else socket.once('connect', send);
  }

  private send(link: Link, message: SyncMessage): void {
    if (link.socket.destroyed) return;
    link.lastSentAt = performance.now();
    if (!link.socket.write(`${JSON.stringify(message)}\n`) && !link.waitingForDrain) {
      link.waitingForDrain = true;
      link.socket.once('drain', () => {
        link.waitingForDrain = false;
        this.pump(link);
      });
    }
  }

  private beat(): void {
    const now = performance.now();
    for (const link of this.links) {
      if (link.socket.connecting || link.socket.destroyed) continue;
      if (now - link.lastReceivedAt > idleTimeoutMs) {
        // Silent too long (a blackholed link): drop it; a dialled link re-dials.
        link.socket.destroy();
        continue;
      }
      if (now - link.lastSentAt > pingAfterMs) this.send(link, { t: 'ping' });
    }
  }

  private anomaly(kind: string, error: AuraError, peer: string | undefined): void {
    this.anomalyCounts.set(kind, (this.anomalyCounts.get(kind) ?? 0) + 1);
    if (this.recentAnomalies.length >= recentAnomaliesMax) this.recentAnomalies.shift();
    this.recentAnomalies.push({ kind, code: error.code, message: error.message, peer });
  }

  private receive(link: Link, chunk: string): void {
    if (this.closing !== undefined) return;
    link.lastReceivedAt = performance.now();
    const text = link.buffer + chunk;
    let start = 0;
    let newline = text.indexOf('\n', start);
    while (newline >= 0) {
      const line = text.slice(start, newline);
      start = newline + 1;
      if (line.trim() !== '') this.handleLine(link, line);
      if (link.socket.destroyed || this.closing !== undefined) return;
      newline = text.indexOf('\n', start);
    }
    link.buffer = text.slice(start);
    if (link.buffer.length > lineCharsMax) {
      this.anomaly('malformed', invalid(`a line longer than ${lineCharsMax} characters`), link.remoteId);
      link.socket.destroy();
    }
  }

  private handleLine(link: Link, line: string): void {
    let message: SyncMessage;
    try {
      message = parseSyncMessage(line);
    } catch (error) {
      const typed = error instanceof AuraError ? error : invalid(String(error));
      this.anomaly('malformed', typed, link.remoteId);
      return;
    }
    try {
      this.handle(link, message);
    } catch (error) {
      // A bug or a store failure while handling one message: counted, the connection goes on.
      const typed = error instanceof AuraError ? error : new AuraError('internal', (error as Error).message);
      this.anomaly('internal', typed, link.remoteId);
    }
  }

  private handle(link: Link, message: SyncMessage): void {
    if (message.t === 'ping') return;
    if (message.t === 'hello') {
      this.handleHello(link, message.peerId, message.heads);
      return;
    }
    if (!link.helloReceived) {
      this.anomaly('protocol', invalid(`"${message.t}" before hello`), undefined);
      return;
    }
    if (message.t === 'events') this.handleEvents(link, message.origin, message.events);
    else if (message.t === 'ack') this.advance(link, message.heads);
    else {
      link.sentUpTo.set(message.origin, Math.max(0, Math.min(link.sentUpTo.get(message.origin) ?? 0, message.from - 1)));
      this.pump(link);
    }
  }

  private handleHello(link: Link, peerId: string, heads: Record<string, SyncHead>): void {
    if (link.helloReceived) {
      this.anomaly('protocol', invalid(`a second hello from ${peerId}`), peerId);
      return;
    }
    if (peerId === this.id) {
      this.anomaly('protocol', invalid(`a hello from a peer calling itself ${peerId}`), peerId);
      link.socket.destroy();
      return;
    }
    if (link.dialer !== undefined && link.dialer.peerId !== peerId) this.anomaly('protocol', invalid(`dialled ${link.dialer.peerId} but ${peerId} answered`), peerId);
    link.remoteId = peerId;
    link.helloReceived = true;
    this.neighbour(peerId);
    if (link.dialer !== undefined) link.dialer.backoffMs = backoffMinMs;
    for (const [origin, head] of Object.entries(heads)) {
      link.remoteHeads.set(origin, head);
      link.sentUpTo.set(origin, head.position);
      // Origins are single-writer: a replica is always a prefix. Another hash is a divergence.
      const ours = this.logs.get(origin);
      if (ours !== undefined && head.position > 0 && head.position <= ours.store.headPosition()) {
        const hash = ours.hashAt(head.position);
        if (hash !== head.hash) this.anomaly('divergence', new AuraError('damaged', `${peerId} holds ${origin} at ${head.position} with another hash`), peerId);
      }
    }
    this.pump(link);
  }

  private handleEvents(link: Link, origin: string, events: readonly WireEvent[]): void {
    const peer = link.remoteId as string;
    const counters = this.neighbour(peer);
    counters.eventsReceived += events.length;
    const last = events[events.length - 1];
    if (last === undefined) return;
    // The sender holds these: nothing of them goes back on this link.
    link.sentUpTo.set(origin, Math.max(link.sentUpTo.get(origin) ?? 0, last.position));
    if (origin === this.id) {
      const own = this.ownLog().store.headPosition();
      if (last.position > own) this.anomaly('own-origin', new AuraError('conflict', `${peer} sent events of ${origin} beyond this peer's own head ${own}`), peer);
      counters.duplicates += events.length;
      return;
    }
    // A replica file is created only once an event of its origin verifies.
    let log = this.logs.get(origin);
    let head = log?.store.headPosition() ?? 0;
    let previous = log?.store.headHash() ?? genesisHashHex;
    const batch: ImportedEvent[] = [];
    for (const event of events) {
      if (event.position <= head) {
        counters.duplicates += 1;
        continue;
      }
      if (event.position !== head + 1) {
        this.anomaly('gap', invalid(`${peer} sent ${origin} position ${event.position}, this replica ends at ${head}`), peer);
        this.askResend(link, origin, head);
        break;
      }
      const framing = hashFraming(event.position, event.stream, event.version, event.id, event.type, event.schemaVersion, event.virtualTimeUs, event.causation, event.correlation, event.payload);
      if (chainHash(previous, framing) !== event.hash) {
        this.anomaly('chain', new AuraError('damaged', `${peer} sent ${origin} position ${event.position} whose chain link does not verify; refused`), peer);
        break;
      }
      batch.push({
        position: event.position,
        stream: event.stream,
        version: event.version,
        idHex: event.id,
        type: event.type,
        schemaVersion: event.schemaVersion,
        payloadText: event.payload,
        virtualTimeUs: event.virtualTimeUs,
        causationHex: event.causation,
        correlationId: event.correlation,
        hashHex: event.hash,
      });
      head = event.position;
      previous = event.hash;
    }
    if (batch.length > 0) {
      try {
        log ??= this.openLog(this.dir, origin);
        log.store.importEvents(batch);
        counters.eventsImported += batch.length;
      } catch (error) {
        this.anomaly('import', error instanceof AuraError ? error : new AuraError('internal', (error as Error).message), peer);
      }
    }
    if (log !== undefined) this.send(link, { t: 'ack', heads: { [origin]: log.head() } });
  }

  private askResend(link: Link, origin: string, head: number): void {
    if (link.resendAskedAt.get(origin) === head) return;
    link.resendAskedAt.set(origin, head);
    this.send(link, { t: 'resend', origin, from: head + 1 });
  }

  private advance(link: Link, heads: Record<string, SyncHead>): void {
    for (const [origin, head] of Object.entries(heads)) {
      link.remoteHeads.set(origin, head);
      link.sentUpTo.set(origin, Math.max(link.sentUpTo.get(origin) ?? 0, head.position));
    }
  }

  // ---- sending ------------------------------------------------------------------------------

  private schedulePump(): void {
    if (this.pumpScheduled !== undefined || this.closing !== undefined) return;
    this.pumpScheduled = setImmediate(() => {
      this.pumpScheduled = undefined;
      for (const link of this.links) this.pump(link);
    });
  }

  /** Sends the other side every event it lacks, origin by origin, until the socket pushes back. */
  private pump(link: Link): void {
    if (!link.helloReceived || link.socket.destroyed || this.closing !== undefined) return;
    for (const [origin, log] of this.logs) {
      if (origin === link.remoteId) continue;
      let sent = link.sentUpTo.get(origin) ?? 0;
      const head = log.store.headPosition();
      while (sent < head && !link.waitingForDrain && !link.socket.destroyed) {
        const events = log.wireEvents(sent + 1, batchEventsMax, batchBytesMax);
        const last = events[events.length - 1];
        if (last === undefined) break;
        this.send(link, { t: 'events', origin, events });
        sent = last.position;
        link.sentUpTo.set(origin, sent);
        this.neighbour(link.remoteId as string).eventsSent += events.length;
      }
      if (link.waitingForDrain) return;
    }
  }
}
