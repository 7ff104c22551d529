import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { genesisHashHex, hashFraming } from '../../src/core/events/encoding.ts';
import type { NewEvent } from '../../src/core/events/event.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { FaultProxy } from '../../src/node/fault-proxy.ts';
import { runPartitionTrial } from '../../src/node/partition-trial.ts';
import { SyncPeer } from '../../src/node/peer-sync.ts';
import { chainHash } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tempDir(): string {
  const dir = temporaryDirectory('aura-lab-sync-');
  cleanups.push(dir.remove);
  return dir.path;
}

async function startPeer(id: string, dir: string): Promise<SyncPeer> {
  const peer = await SyncPeer.start({ id, dir: join(dir, id), seed: 11 });
  cleanups.push(() => peer.close());
  return peer;
}

let counter = 0;
function events(origin: string, count: number): NewEvent[] {
  return Array.from({ length: count }, () => {
    counter += 1;
    return { id: asEventId(counter.toString(16).padStart(32, '0')), type: 'Tick', schemaVersion: 1, payload: { origin, counter }, metadata: { virtualTimeUs: counter } };
  });
}

function append(peer: SyncPeer, count: number): number[] {
  return peer.appendOwn([{ stream: asStreamName(`tick-${peer.id}`), events: events(peer.id, count), expected: anyVersion }]);
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Every peer holds every origin at that origin's own head (an empty origin needs no replica). */
function converged(peers: readonly SyncPeer[]): boolean {
  return peers.every((origin) => {
    const own = origin.heads()[origin.id];
    return peers.every((peer) => {
      const held = peer.heads()[origin.id] ?? { position: 0, hash: '0'.repeat(64) };
      return own !== undefined && held.position === own.position && held.hash === own.hash;
    });
  });
}

describe('SyncPeer', () => {
  it('three peers replicate every log with the same positions and hashes', async () => {
    const dir = tempDir();
    const [a, b, c] = [await startPeer('a', dir), await startPeer('b', dir), await startPeer('c', dir)];
    append(a, 700); // more than one batch
    a.connect('b', '127.0.0.1', b.port);
    b.connect('c', '127.0.0.1', c.port);
    c.connect('a', '127.0.0.1', a.port);
    const positions = { a: [...append(a, 5), ...append(a, 5)], b: append(b, 30), c: append(c, 1) };
    expect(positions.a).toEqual(Array.from({ length: 10 }, (_, index) => 701 + index));
    expect(positions.b).toEqual(Array.from({ length: 30 }, (_, index) => 1 + index));
    await until(() => converged([a, b, c]));
    for (const peer of [a, b, c]) {
      expect(Object.keys(peer.heads()).sort()).toEqual(['a', 'b', 'c']);
      expect(peer.heads().a?.position).toBe(710);
      expect(peer.hashAt('b', 17)).toBe(b.hashAt('b', 17));
      expect(peer.stats().anomalies).toEqual({});
    }
    // Live appends keep flowing after the catch-up.
    append(c, 3);
    await until(() => converged([a, b, c]));
    expect(a.heads().c?.position).toBe(4);
    const stats = a.stats();
    expect(stats.neighbours.b?.connected).toBe(true);
    expect(stats.neighbours.c?.connected).toBe(true);
    expect((stats.neighbours.b?.eventsSent ?? 0) + (stats.neighbours.c?.eventsSent ?? 0)).toBeGreaterThanOrEqual(710);
    await Promise.all([a.close(), b.close(), c.close()]);
    for (const peer of ['a', 'b', 'c']) {
      for (const origin of ['a', 'b', 'c']) {
        const report = verifyEventLog(join(dir, peer, `${origin}.sqlite`));
        expect(report.ok).toBe(true);
      }
    }
  });

  it('gossips through a third peer when a direct link is partitioned', async () => {
    const dir = tempDir();
    const [a, b, c] = [await startPeer('a', dir), await startPeer('b', dir), await startPeer('c', dir)];
    const link = await FaultProxy.start({ target: { host: '127.0.0.1', port: b.port }, seed: 3, name: 'a->b' });
    cleanups.push(() => link.close());
    a.connect('b', '127.0.0.1', link.port);
    a.connect('c', '127.0.0.1', c.port);
    b.connect('c', '127.0.0.1', c.port);
    await until(() => a.stats().neighbours.b?.connected === true && c.stats().neighbours.b?.connected === true);
    link.partition();
    append(a, 50);
    append(b, 20);
    await until(() => converged([a, b, c]));
    expect(link.stats().bytesSwallowed).toBeGreaterThan(0);
    // b got a's events from c, not from a.
    expect(b.stats().neighbours.a?.eventsImported ?? 0).toBe(0);
    expect(b.stats().neighbours.c?.eventsImported).toBe(50);
    expect(a.stats().neighbours.c?.eventsImported).toBe(20);
    expect(b.hashAt('a', 50)).toBe(a.hashAt('a', 50));
    // After the heal the direct link comes back.
    link.heal();
    await until(() => (a.stats().neighbours.b?.reconnects ?? 0) >= 1 && a.stats().neighbours.b?.connected === true, 2_000);
    expect(a.stats().neighbours.b?.disconnects).toBe(1);
    expect(link.stats().connectionsTotal).toBe(2);
  });

  it('counts a malformed line as a validation anomaly and carries on', async () => {
    const dir = tempDir();
    const a = await startPeer('a', dir);
    append(a, 3);
    const socket = net.connect({ host: '127.0.0.1', port: a.port });
    cleanups.push(() => {
      socket.destroy();
    });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('this is not json\n');
    socket.write('{"t":"events","origin":"../escape","events":[]}\n');
    socket.write('{"t":"nonsense"}\n');
    socket.write('{"t":"hello","peerId":"x","heads":{}}\n');
    // An event whose chain link does not verify is refused, and creates no replica.
    const forged = { position: 1, stream: 'tick-z', version: 1, id: '0'.repeat(31) + '1', type: 'Tick', schemaVersion: 1, payload: '{}', virtualTimeUs: 0, hash: 'f'.repeat(64) };
    socket.write(`${JSON.stringify({ t: 'events', origin: 'z', events: [forged] })}\n`);
    await until(() => received.includes('"t":"events"'));
    await until(() => (a.stats().anomalies.chain ?? 0) === 1);
    const stats = a.stats();
    expect(stats.anomalies.malformed).toBe(3);
    expect(stats.recentAnomalies.filter((anomaly) => anomaly.kind === 'malformed').every((anomaly) => anomaly.code === 'validation')).toBe(true);
    expect(a.heads().z).toBeUndefined();
    expect(existsSync(join(dir, 'a', 'z.sqlite'))).toBe(false);
    expect(existsSync(join(dir, 'escape.sqlite'))).toBe(false);
    // The peer answered the hello with its own and sent its log.
    const lines = received.trim().split('\n').map((line) => JSON.parse(line) as { t: string; peerId?: string; origin?: string; events?: unknown[] });
    expect(lines[0]).toMatchObject({ t: 'hello', peerId: 'a' });
    expect(lines.find((line) => line.t === 'events')).toMatchObject({ origin: 'a', events: expect.any(Array) as unknown });
    // And it still replicates with a real peer.
    const b = await startPeer('b', dir);
    b.connect('a', '127.0.0.1', a.port);
    await until(() => b.heads().a?.position === 3);
  });

  it('asks for a resend after a gap, then imports verified events and acks its new head', async () => {
    const dir = tempDir();
    const a = await startPeer('a', dir);
    const socket = net.connect({ host: '127.0.0.1', port: a.port });
    cleanups.push(() => {
      socket.destroy();
    });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('{"t":"hello","peerId":"z","heads":{}}\n');
    // Origin z's first two events, hashed as z's own log would hash them.
    const wire: Record<string, unknown>[] = [];
    let previous = genesisHashHex;
    for (let position = 1; position <= 2; position++) {
      const event = { position, stream: 'tick-z', version: position, id: position.toString(16).padStart(32, '0'), type: 'Tick', schemaVersion: 1, payload: `{"n":${position}}`, virtualTimeUs: position };
      const hash = chainHash(previous, hashFraming(position, event.stream, event.version, event.id, event.type, event.schemaVersion, event.virtualTimeUs, undefined, undefined, event.payload));
      wire.push({ ...event, hash });
      previous = hash;
    }
    socket.write(`${JSON.stringify({ t: 'events', origin: 'z', events: [wire[1]] })}\n`);
    await until(() => received.includes('"t":"resend"'));
    expect(received).toContain('{"t":"resend","origin":"z","from":1}');
    expect(a.stats().anomalies.gap).toBe(1);
    socket.write(`${JSON.stringify({ t: 'events', origin: 'z', events: wire })}\n`);
    await until(() => a.heads().z?.position === 2);
    expect(a.heads().z?.hash).toBe(previous);
    await until(() => received.includes('"t":"ack"'));
    expect(received).toContain(`{"t":"ack","heads":{"z":{"position":2,"hash":"${previous}"}}}`);
    // A re-sent event is a duplicate, not an anomaly.
    socket.write(`${JSON.stringify({ t: 'events', origin: 'z', events: wire })}\n`);
    await until(() => a.stats().neighbours.z?.duplicates === 2);
    expect(a.stats().neighbours.z?.eventsImported).toBe(2);
    expect(a.stats().anomalies).toEqual({ gap: 1 });
  });

  it.each([1, 2])('partition trial (seed %i): nothing acknowledged is lost and heads converge within 1 s of the heal', async (seed) => {
    const dir = tempDir();
    const result = await runPartitionTrial({ dir, seed });
    console.log(`partition trial seed ${seed}: convergedMsAfterHeal=${result.convergedMsAfterHeal} acknowledged=${result.acknowledged} reconnects=${result.reconnects} events=${JSON.stringify(result.eventsPerOrigin)}`);
    expect(result.converged).toBe(true);
    expect(result.lostAcknowledged).toBe(0);
    expect(result.chainProblems).toBe(0);
    expect(result.duplicates).toBe(0);
    expect(result.anomalies).toEqual({});
    expect(result.peerIds).toEqual(['peer-a', 'peer-b', 'peer-c']);
    // Around 200 per second per peer for ~1.8 s: every origin really appended during the drill.
    for (const id of result.peerIds) expect(result.eventsPerOrigin[id]).toBeGreaterThan(200);
    expect(result.acknowledged).toBe(Object.values(result.eventsPerOrigin).reduce((sum, n) => sum + n, 0));
    const heads = Object.values(result.heads);
    for (const peerHeads of heads) expect(peerHeads).toEqual(heads[0]);
    // The minority really was cut off: its proxies swallowed traffic and reset on heal.
    expect(result.proxyStats['peer-a->peer-c']?.bytesSwallowed).toBeGreaterThan(0);
    expect(result.proxyStats['peer-c->peer-b']?.resets).toBeGreaterThan(0);
    expect(result.proxyStats['peer-a->peer-b']?.bytesSwallowed).toBe(0);
    expect(result.reconnects).toBeGreaterThan(0);
    expect(result.convergedMsAfterHeal).toBeLessThan(1_000);
  });
});
