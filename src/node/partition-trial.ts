/**
 * AURA Lab's partition drill: N sync peers (peer-sync.ts) in a full mesh where every directed
 * link runs through its own fault proxy (fault-proxy.ts), all appending to their own logs. The
 * last peer is cut off from the rest (every proxy on its links partitioned), everyone keeps
 * appending, the partition heals and appends stop at that moment; the drill then measures how
 * long after the heal every peer holds every origin at the same head position and hash.
 *
 * Afterwards it runs the lab's Jepsen-style checks: every acknowledged append of every origin is
 * at every peer with the hash its origin acknowledged (none lost), every log file's chain
 * verifies, and no event is stored twice.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { genesisHashHex } from '../core/events/encoding.ts';
import type { NewEvent } from '../core/events/event.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { asEventId, asStreamName } from '../core/kernel/ids.ts';
import { createRandom, type Random } from '../core/kernel/random.ts';
import { anyVersion } from '../core/ports/event-store.ts';
import { FaultProxy, type FaultProxyStats } from './fault-proxy.ts';
import { SyncPeer, type SyncHead } from './peer-sync.ts';
import { verifyEventLog } from './verify.ts';

export interface PartitionTrialOptions {
  readonly dir: string;
  readonly seed: number;
  /** Peers in the mesh (default 3, at least 2). */
  readonly peers?: number;
  /** Own appends per peer per second (default 200). */
  readonly appendsPerSecond?: number;
  /** How long the minority is cut off (default 1500 ms). */
  readonly partitionMs?: number;
  /** Give up waiting for convergence after this long (default 30 s). */
  readonly convergeTimeoutMs?: number;
  readonly onProgress?: (stage: string) => void;
  /** Called when the partition is on; the heal waits for the promise it returns (a trainee's action) instead of `partitionMs`. */
  readonly healWhen?: () => Promise<void>;
  /** Called at the moment of the partition and of the heal (for a drill's timeline). */
  readonly onFault?: (event: 'partitioned' | 'healed', minority: string) => void;
}

export interface PartitionTrialResult {
  readonly peers: number;
  readonly peerIds: readonly string[];
  /** The peer cut off from the others. */
  readonly minority: string;
  readonly converged: boolean;
  /** Wall time from the heal until all heads were equal (the timeout when they never were). */
  readonly convergedMsAfterHeal: number;
  readonly partitionMs: number;
  /** Events in each origin's log when appends stopped. */
  readonly eventsPerOrigin: Record<string, number>;
  /** Appends acknowledged to their writers, all origins. */
  readonly acknowledged: number;
  /** Acknowledged appends missing (or with another hash) at some peer, counted per peer. */
  readonly lostAcknowledged: number;
  /** Verification problems over every log file at every peer. */
  readonly chainProblems: number;
  /** Events stored more than once (same id or same origin sequence) in some log. */
  readonly duplicates: number;
  readonly reconnects: number;
  /** Per directed link, `from->to`. */
  readonly proxyStats: Record<string, FaultProxyStats>;
  /** Sync anomalies by class, all peers together. */
  readonly anomalies: Record<string, number>;
  /** Every peer's heads after convergence. */
  readonly heads: Record<string, Record<string, SyncHead>>;
}

const warmUpMs = 300;
const appendTickMs = 10;
const pollMs = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function peerIdOf(index: number): string {
  return `peer-${String.fromCharCode(97 + (index % 26))}${index >= 26 ? String(Math.floor(index / 26)) : ''}`;
}

/** Deterministic drill events for one origin: ids are the sequence number then 64 seeded bits. */
class DrillWriter {
  private sequence = 0;
  readonly acknowledged: { position: number; hash: string }[] = [];

  constructor(
    readonly peer: SyncPeer,
    private readonly random: Random,
    private readonly appendsPerSecond: number,
  ) {}

  get appended(): number {
    return this.sequence;
  }

  append(count: number): void {
    if (count <= 0) return;
    const events: NewEvent[] = [];
    for (let index = 0; index < count; index++) {
      this.sequence += 1;
      const id = this.sequence.toString(16).padStart(16, '0') + this.random.nextUint32().toString(16).padStart(8, '0') + this.random.nextUint32().toString(16).padStart(8, '0');
      events.push({
        id: asEventId(id),
        type: 'DrillTick',
        schemaVersion: 1,
        payload: { origin: this.peer.id, sequence: this.sequence, value: this.random.int(0, 999_999) },
        metadata: { virtualTimeUs: Math.round((this.sequence * 1_000_000) / this.appendsPerSecond), correlationId: 'partition-trial' },
      });
    }
    const positions = this.peer.appendOwn([{ stream: asStreamName(`drill-${this.peer.id}`), events, expected: anyVersion }]);
    for (const position of positions) {
      const hash = this.peer.hashAt(this.peer.id, position);
      if (hash === undefined) throw new AuraError('internal', `${this.peer.id}: acknowledged position ${position} is not in its log`);
      this.acknowledged.push({ position, hash });
    }
  }
}

function checkOption(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) throw new AuraError('validation', `${name} must be in [${min}, ${max}], got ${value}`);
}

/** Every peer holds every origin at the origin's own head (position and hash); an empty log needs no replica. */
function allConverged(peers: readonly SyncPeer[]): boolean {
  const heads = peers.map((peer) => peer.heads());
  for (const [index, peer] of peers.entries()) {
    const own = heads[index]?.[peer.id];
    if (own === undefined) return false;
    for (const other of heads) {
      const held = other[peer.id] ?? { position: 0, hash: genesisHashHex };
      if (held.position !== own.position || held.hash !== own.hash) return false;
    }
  }
  return true;
}

export async function runPartitionTrial(options: PartitionTrialOptions): Promise<PartitionTrialResult> {
  const count = options.peers ?? 3;
  const rate = options.appendsPerSecond ?? 200;
  const partitionMs = options.partitionMs ?? 1_500;
  const convergeTimeoutMs = options.convergeTimeoutMs ?? 30_000;
  checkOption('peers', count, 2, 26);
  checkOption('appendsPerSecond', rate, 1, 100_000);
  checkOption('partitionMs', partitionMs, 0, 600_000);
  const progress = options.onProgress ?? (() => undefined);
  const random = createRandom(options.seed).split('partition-trial');
  const ids = Array.from({ length: count }, (_, index) => peerIdOf(index));
  const minority = ids[count - 1] as string;
  const peers: SyncPeer[] = [];
  const proxies = new Map<string, FaultProxy>();
  let appendTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const closeAll = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (appendTimer !== undefined) clearInterval(appendTimer);
    await Promise.all([...peers.map((peer) => peer.close()), ...[...proxies.values()].map((proxy) => proxy.close())]);
  };

  try {
    progress('starting peers');
    for (const id of ids) peers.push(await SyncPeer.start({ id, dir: join(options.dir, id), seed: random.split(`peer:${id}`).nextUint32() }));
    for (const from of peers) {
      for (const to of peers) {
        if (from === to) continue;
        const name = `${from.id}->${to.id}`;
        proxies.set(name, await FaultProxy.start({ target: { host: '127.0.0.1', port: to.port }, seed: random.split(`proxy:${name}`).nextUint32(), name }));
      }
    }
    for (const from of peers) for (const to of peers) if (from !== to) from.connect(to.id, '127.0.0.1', (proxies.get(`${from.id}->${to.id}`) as FaultProxy).port);
    progress('connecting');
    const connectDeadline = performance.now() + 10_000;
    while (!peers.every((peer) => Object.values(peer.stats().neighbours).filter((neighbour) => neighbour.connected).length === count - 1)) {
      if (performance.now() > connectDeadline) throw new AuraError('unavailable', 'partition trial: the peers did not connect within 10 s');
      await sleep(pollMs);
    }

    const writers = peers.map((peer) => new DrillWriter(peer, random.split(`events:${peer.id}`), rate));
    const appendsStarted = performance.now();
    appendTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - appendsStarted) * rate) / 1000);
      for (const writer of writers) writer.append(due - writer.appended);
    }, appendTickMs);
    progress('warming up');
    await sleep(warmUpMs);

    progress(`partitioning ${minority}`);
    const cut = [...proxies.entries()].filter(([name]) => name.startsWith(`${minority}->`) || name.endsWith(`->${minority}`)).map(([, proxy]) => proxy);
    for (const proxy of cut) proxy.partition();
    options.onFault?.('partitioned', minority);
    if (options.healWhen === undefined) await sleep(partitionMs);
    else await options.healWhen();

    // Appends stop at the moment of the heal: from here on the logs only have to converge.
    clearInterval(appendTimer);
    appendTimer = undefined;
    for (const proxy of cut) proxy.heal();
    const healedAt = performance.now();
    options.onFault?.('healed', minority);
    progress('healed; waiting for convergence');
    let converged = allConverged(peers);
    while (!converged && performance.now() - healedAt < convergeTimeoutMs) {
      await sleep(pollMs);
      converged = allConverged(peers);
    }
    const convergedMsAfterHeal = Math.round(performance.now() - healedAt);

    progress('checking');
    let lostAcknowledged = 0;
    let acknowledged = 0;
    const eventsPerOrigin: Record<string, number> = {};
    for (const writer of writers) {
      eventsPerOrigin[writer.peer.id] = writer.peer.heads()[writer.peer.id]?.position ?? 0;
      acknowledged += writer.acknowledged.length;
      for (const peer of peers) for (const ack of writer.acknowledged) if (peer.hashAt(writer.peer.id, ack.position) !== ack.hash) lostAcknowledged += 1;
    }
    const heads: Record<string, Record<string, SyncHead>> = {};
    const anomalies: Record<string, number> = {};
    let reconnects = 0;
    for (const peer of peers) {
      heads[peer.id] = peer.heads();
      const stats = peer.stats();
      for (const [kind, n] of Object.entries(stats.anomalies)) anomalies[kind] = (anomalies[kind] ?? 0) + n;
      for (const neighbour of Object.values(stats.neighbours)) reconnects += neighbour.reconnects;
    }
    const proxyStats: Record<string, FaultProxyStats> = {};
    for (const [name, proxy] of proxies) proxyStats[name] = proxy.stats();

    progress('closing');
    await closeAll();
    progress('verifying');
    let chainProblems = 0;
    let duplicates = 0;
    for (const peer of peers) {
      for (const origin of ids) {
        const path = peer.logPath(origin);
        // A replica that was never created shows up as lost acknowledged appends.
        if (!existsSync(path)) continue;
        const report = verifyEventLog(path);
        chainProblems += report.ok ? 0 : Math.max(1, report.problems.length);
        const db = new Database(path, { readonly: true, fileMustExist: true });
        try {
          const row = db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids, COUNT(DISTINCT json_extract(payload, '$.sequence')) AS sequences FROM events").get() as { n: number; ids: number; sequences: number };
          duplicates += row.n - Math.min(row.ids, row.sequences);
        } finally {
          db.close();
        }
      }
    }
    progress('done');
    return {
      peers: count,
      peerIds: ids,
      minority,
      converged,
      convergedMsAfterHeal,
      partitionMs,
      eventsPerOrigin,
      acknowledged,
      lostAcknowledged,
      chainProblems,
      duplicates,
      reconnects,
      proxyStats,
      anomalies,
      heads,
    };
  } finally {
    await closeAll();
  }
}
