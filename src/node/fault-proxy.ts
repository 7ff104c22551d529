/**
 * A fault-injecting TCP proxy for AURA Lab's chaos drills (in the spirit of Toxiproxy): it
 * forwards byte streams between a client and a target, per connection and in order, and can
 * partition (blackhole), delay with seeded jitter, model packet loss as retransmission stalls,
 * limit bandwidth, or reset connections, at any moment and per direction. Drills put one proxy
 * on every link between sync peers so that a partition is a real network fault on real sockets.
 *
 * Directions: `upstream` is client -> target, `downstream` is target -> client. Every random
 * choice (jitter, which chunks are "lost") comes from the lab's seeded PRNG, split per
 * connection and direction, so a seed reproduces the same fault sequence.
 */
import net from 'node:net';
import { AuraError } from '../core/kernel/errors.ts';
import { createRandom, type Random } from '../core/kernel/random.ts';

export type ProxyDirection = 'upstream' | 'downstream';

export interface FaultProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** 0 (default) picks any free port. */
  readonly listenPort?: number;
  readonly seed: number;
  readonly name?: string;
}

export interface DelayFault {
  readonly latencyMs: number;
  readonly jitterMs?: number;
}

export interface LossFault {
  /** Chance that a chunk is "lost" and only arrives after a retransmission. */
  readonly probability: number;
  /** How long a lost chunk (and everything behind it) is held back; default 200 ms. */
  readonly retransmitMs?: number;
}

export interface BandwidthFault {
  readonly bytesPerSecond: number;
}

export interface FaultProxyStats {
  readonly name: string;
  readonly connectionsOpen: number;
  readonly connectionsTotal: number;
  /** Bytes delivered client -> target. */
  readonly bytesUpstream: number;
  /** Bytes delivered target -> client. */
  readonly bytesDownstream: number;
  /** Bytes swallowed by a partition. */
  readonly bytesSwallowed: number;
  /** Chunks held back by a delay or a loss. */
  readonly chunksDelayed: number;
  /** Chunks held back by a loss (a subset of chunksDelayed). */
  readonly chunksLost: number;
  /** Connections reset (reset(), heal() of blackholed connections, a refused target). */
  readonly resets: number;
}

/** One delay decision, for reproducibility checks: which connection, which way, how long. */
export interface DelayTraceEntry {
  readonly connection: number;
  readonly direction: ProxyDirection;
  readonly delayMs: number;
  readonly lost: boolean;
}

interface DirectionFaults {
  partitioned: boolean;
  delay: { latencyMs: number; jitterMs: number } | undefined;
  loss: { probability: number; retransmitMs: number } | undefined;
  bandwidth: { bytesPerSecond: number } | undefined;
}

interface Chunk {
  data: Buffer;
  readonly readyAt: number;
}

const directions: readonly ProxyDirection[] = ['upstream', 'downstream'];
/** Above this many queued bytes the source socket is paused (backpressure through the proxy). */
const queueHighWaterBytes = 1 << 20;
const traceMax = 10_000;

function noFaults(): DirectionFaults {
  return { partitioned: false, delay: undefined, loss: undefined, bandwidth: undefined };
}

function checkNumber(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new AuraError('validation', `${name} must be a number in [${min}, ${max}], got ${String(value)}`);
}

/** Resets a socket (TCP RST) if it is still open. */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** One direction of one connection: a queue of chunks delivered in order when due. */
class Pipe {
  private readonly queue: Chunk[] = [];
  private queuedBytes = 0;
  private lastReadyAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  /** The source is paused because too much is queued here. */
  private pausedSource = false;
  private ended = false;
  private endForwarded = false;
  private tokens: number;
  private tokensAt = performance.now();
  private readonly jitterRandom: Random;
  private readonly lossRandom: Random;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly connection: Connection,
    readonly direction: ProxyDirection,
    private readonly source: net.Socket,
    private readonly destination: net.Socket,
    random: Random,
  ) {
    this.jitterRandom = random.split('jitter');
    this.lossRandom = random.split('loss');
    this.tokens = 0;
    destination.on('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
  }

  private get faults(): DirectionFaults {
    return this.proxy.faultsFor(this.direction);
  }

  receive(data: Buffer): void {
    if (this.destination.destroyed) return;
    const faults = this.faults;
    if (faults.partitioned || this.connection.blackholed[this.direction]) {
      this.connection.blackholed[this.direction] = true;
      this.proxy.counters.bytesSwallowed += data.length;
      return;
    }
    const now = performance.now();
    let holdMs = 0;
    let lost = false;
    if (faults.delay !== undefined) holdMs += faults.delay.latencyMs + (faults.delay.jitterMs > 0 ? this.jitterRandom.int(0, Math.floor(faults.delay.jitterMs)) : 0);
    if (faults.loss !== undefined && faults.loss.probability > 0 && this.lossRandom.nextFloat() < faults.loss.probability) {
      lost = true;
      holdMs += faults.loss.retransmitMs;
    }
    if (holdMs > 0) this.proxy.counters.chunksDelayed += 1;
    if (lost) this.proxy.counters.chunksLost += 1;
    if (faults.delay !== undefined || faults.loss !== undefined) this.proxy.recordDelay({ connection: this.connection.id, direction: this.direction, delayMs: holdMs, lost });
    // Order is preserved: nothing is ready before the chunk ahead of it (head-of-line blocking).
    const readyAt = Math.max(now + holdMs, this.lastReadyAt);
    this.lastReadyAt = readyAt;
    this.queue.push({ data, readyAt });
    this.queuedBytes += data.length;
    if (this.queuedBytes > queueHighWaterBytes && !this.pausedSource) {
      this.pausedSource = true;
      this.source.pause();
    }
    this.pump();
  }

  /** The source ended (FIN): forward it once everything queued has gone. */
  end(): void {
    this.ended = true;
    this.pump();
  }

  /** Faults changed: re-evaluate the queue now. */
  poke(): void {
    this.pump();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(delayMs)),
    );
  }

  private pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.destination.destroyed || this.proxy.closing) return;
    const faults = this.faults;
    while (this.queue.length > 0 && !this.waitingForDrain) {
      if (faults.partitioned || this.connection.blackholed[this.direction]) {
        // In flight when the partition began: swallowed too.
        this.connection.blackholed[this.direction] = true;
        for (const chunk of this.queue) this.proxy.counters.bytesSwallowed += chunk.data.length;
        this.queue.length = 0;
        this.queuedBytes = 0;
        break;
      }
      const head = this.queue[0] as Chunk;
      const now = performance.now();
      if (head.readyAt > now) {
        this.schedule(head.readyAt - now);
        return;
      }
      let data = head.data;
      if (faults.bandwidth !== undefined) {
        const rate = faults.bandwidth.bytesPerSecond;
        const capacity = Math.max(1, Math.floor(rate / 20));
        this.tokens = Math.min(capacity, this.tokens + ((now - this.tokensAt) * rate) / 1000);
        this.tokensAt = now;
        const allowed = Math.floor(this.tokens);
        if (allowed < 1) {
          const want = Math.min(data.length, capacity);
          this.schedule(((want - this.tokens) * 1000) / rate);
          return;
        }
        if (allowed < data.length) {
          head.data = data.subarray(allowed);
          data = data.subarray(0, allowed);
        } else this.queue.shift();
        this.tokens -= data.length;
      } else this.queue.shift();
      this.queuedBytes -= data.length;
      this.proxy.countForwarded(this.direction, data.length);
      if (!this.destination.write(data)) this.waitingForDrain = true;
    }
    if (this.pausedSource && this.queuedBytes <= queueHighWaterBytes / 2) {
      this.pausedSource = false;
      if (!this.source.destroyed) this.source.resume();
    }
    if (this.queue.length === 0 && this.ended && !this.endForwarded) {
      // A FIN does not cross a partition either.
      if (faults.partitioned || this.connection.blackholed[this.direction]) return;
      this.endForwarded = true;
      this.destination.end();
    }
  }

  resetBucket(): void {
    this.tokens = 0;
    this.tokensAt = performance.now();
  }
}

/** A proxied connection: the client's socket, the socket to the target, a pipe each way. */
class Connection {
  readonly blackholed: Record<ProxyDirection, boolean> = { upstream: false, downstream: false };
  readonly pipes: Record<ProxyDirection, Pipe>;
  private closedSockets = 0;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly id: number,
    private readonly proxy: FaultProxy,
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    random: Random,
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.pipes = {
      upstream: new Pipe(proxy, this, 'upstream', client, upstream, random.split('upstream')),
      downstream: new Pipe(proxy, this, 'downstream', upstream, client, random.split('downstream')),
    };
    this.wire(client, upstream, this.pipes.upstream, 'upstream');
    this.wire(upstream, client, this.pipes.downstream, 'downstream');
  }

  private wire(source: net.Socket, other: net.Socket, pipe: Pipe, direction: ProxyDirection): void {
    source.on('data', (data: Buffer) => pipe.receive(data));
    source.on('end', () => pipe.end());
    source.on('error', () => {
      // A reset from one side is a reset to the other, unless a partition hides it.
      if (!this.proxy.faultsFor(direction).partitioned && !this.blackholed[direction]) resetSocket(other);
    });
    source.on('close', () => {
      // Nothing more can reach this socket; what it sent before closing still drains the other way.
      this.pipes[direction === 'upstream' ? 'downstream' : 'upstream'].stop();
      this.closedSockets += 1;
      if (this.closedSockets === 2) {
        pipe.stop();
        this.proxy.forget(this);
        this.resolveClosed();
      }
    });
  }

  /** Marks the connection blackholed in the directions a partition now covers. */
  partition(direction: ProxyDirection): void {
    this.blackholed[direction] = true;
    this.pipes[direction].poke();
  }

  get isBlackholed(): boolean {
    return this.blackholed.upstream || this.blackholed.downstream;
  }

  reset(): void {
    this.pipes.upstream.stop();
    this.pipes.downstream.stop();
    resetSocket(this.client);
    resetSocket(this.upstream);
  }
}

export class FaultProxy {
  readonly name: string;
  /** Set by close(): pipes stop delivering. */
  closing = false;
  readonly counters = { connectionsTotal: 0, bytesUpstream: 0, bytesDownstream: 0, bytesSwallowed: 0, chunksDelayed: 0, chunksLost: 0, resets: 0 };
  private readonly faults: Record<ProxyDirection, DirectionFaults> = { upstream: noFaults(), downstream: noFaults() };
  private readonly connections = new Set<Connection>();
  private readonly random: Random;
  private readonly trace: DelayTraceEntry[] = [];
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly target: { readonly host: string; readonly port: number },
    seed: number,
    name: string,
  ) {
    this.name = name;
    this.random = createRandom(seed).split(`fault-proxy:${name}`);
    server.on('connection', (client) => this.accept(client));
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    checkNumber('target.port', options.target.port, 1, 65_535);
    checkNumber('listenPort', options.listenPort ?? 0, 0, 65_535);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const proxy = new FaultProxy(server, options.target, options.seed, options.name ?? `proxy-${options.target.port}`);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new AuraError('unavailable', `${this.name} is not listening`);
    return address.port;
  }

  // ---- faults -------------------------------------------------------------------------------

  /** Blackholes the link: bytes (and FINs) are swallowed, sockets stay open, new connections are accepted into the hole. */
  partition(direction?: ProxyDirection): void {
    for (const which of this.directionsOf(direction)) {
      this.faults[which].partitioned = true;
      for (const connection of this.connections) connection.partition(which);
    }
  }

  /** Ends a partition and resets every blackholed connection, so clients notice and reconnect at once. */
  heal(direction?: ProxyDirection): void {
    for (const which of this.directionsOf(direction)) this.faults[which].partitioned = false;
    for (const connection of [...this.connections]) {
      if (!connection.isBlackholed) continue;
      if (this.faults.upstream.partitioned || this.faults.downstream.partitioned) continue;
      this.counters.resets += 1;
      connection.reset();
    }
  }

  setDelay(delay: DelayFault, direction?: ProxyDirection): void {
    checkNumber('latencyMs', delay.latencyMs, 0, 600_000);
    checkNumber('jitterMs', delay.jitterMs ?? 0, 0, 600_000);
    for (const which of this.directionsOf(direction)) this.faults[which].delay = { latencyMs: delay.latencyMs, jitterMs: delay.jitterMs ?? 0 };
  }

  setLoss(loss: LossFault, direction?: ProxyDirection): void {
    checkNumber('probability', loss.probability, 0, 1);
    checkNumber('retransmitMs', loss.retransmitMs ?? 200, 0, 600_000);
    for (const which of this.directionsOf(direction)) this.faults[which].loss = { probability: loss.probability, retransmitMs: loss.retransmitMs ?? 200 };
  }

  setBandwidth(bandwidth: BandwidthFault, direction?: ProxyDirection): void {
    checkNumber('bytesPerSecond', bandwidth.bytesPerSecond, 1);
    for (const which of this.directionsOf(direction)) this.faults[which].bandwidth = { bytesPerSecond: bandwidth.bytesPerSecond };
    for (const connection of this.connections) for (const which of this.directionsOf(direction)) connection.pipes[which].resetBucket();
  }

  /** Destroys every current connection with a TCP RST on both sides. */
  reset(): void {
    for (const connection of [...this.connections]) {
      this.counters.resets += 1;
      connection.reset();
    }
  }

  /** Removes every fault (a partition is healed as by heal()). */
  clear(): void {
    for (const which of directions) {
      this.faults[which].delay = undefined;
      this.faults[which].loss = undefined;
      this.faults[which].bandwidth = undefined;
    }
    this.heal();
    for (const connection of this.connections) for (const which of directions) connection.pipes[which].poke();
  }

  stats(): FaultProxyStats {
    return {
      name: this.name,
      connectionsOpen: this.connections.size,
      connectionsTotal: this.counters.connectionsTotal,
      bytesUpstream: this.counters.bytesUpstream,
      bytesDownstream: this.counters.bytesDownstream,
      bytesSwallowed: this.counters.bytesSwallowed,
      chunksDelayed: this.counters.chunksDelayed,
      chunksLost: this.counters.chunksLost,
      resets: this.counters.resets,
    };
  }

  /** The delay decisions made so far (the last 10,000), in order. */
  delayTrace(): readonly DelayTraceEntry[] {
    return [...this.trace];
  }

  /** Stops listening, destroys every connection and clears every timer; resolves when all are closed. */
  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    this.closing = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const connections = [...this.connections];
    for (const connection of connections) {
      connection.pipes.upstream.stop();
      connection.pipes.downstream.stop();
      connection.client.destroy();
      connection.upstream.destroy();
    }
    this.closed = Promise.all([serverClosed, ...connections.map((connection) => connection.closed)]).then(() => undefined);
    return this.closed;
  }

  // ---- internals (used by connections and pipes) --------------------------------------------

  faultsFor(direction: ProxyDirection): DirectionFaults {
    return this.faults[direction];
  }

  countForwarded(direction: ProxyDirection, bytes: number): void {
    if (direction === 'upstream') this.counters.bytesUpstream += bytes;
    else this.counters.bytesDownstream += bytes;
  }

  recordDelay(entry: DelayTraceEntry): void {
    if (this.trace.length >= traceMax) this.trace.shift();
    this.trace.push(entry);
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  private directionsOf(direction: ProxyDirection | undefined): readonly ProxyDirection[] {
    if (direction === undefined) return directions;
    if (direction !== 'upstream' && direction !== 'downstream') throw new AuraError('validation', `direction must be upstream or downstream, got ${String(direction)}`);
    return [direction];
  }

  private accept(client: net.Socket): void {
    if (this.closing) {
      client.destroy();
      return;
    }
    this.counters.connectionsTotal += 1;
    const id = this.counters.connectionsTotal;
    const upstream = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const connection = new Connection(id, this, client, upstream, this.random.split(`connection-${id}`));
    this.connections.add(connection);
    for (const which of directions) if (this.faults[which].partitioned) connection.blackholed[which] = true;
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.resume();
    });
    upstream.once('error', () => {
      // A target that refuses: the client is reset (by the connection's error handling).
      if (!connected) this.counters.resets += 1;
    });
  }
}
