import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../src/node/fault-proxy.ts';

/** Everything a test opened, closed after it. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP echo server on a free port. */
async function echoServer(): Promise<{ port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (data) => socket.write(data));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port };
}

async function startProxy(port: number, seed = 1, name = 'test-proxy'): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port }, seed, name });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client of the proxy that collects what it receives. */
class Client {
  received = Buffer.alloc(0);
  error: NodeJS.ErrnoException | undefined;
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => {
      this.received = Buffer.concat([this.received, data]);
      this.wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.error = error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(port: number): Promise<Client> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = new Client(socket);
    cleanups.push(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return client;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until `bytes` bytes in all have arrived (or the socket closed, or the timeout). */
  async waitFor(bytes: number, timeoutMs = 5_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.received.length < bytes && !this.closed) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), sleep(left)]);
    }
    return this.received.length >= bytes;
  }

  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closed && performance.now() < deadline) await sleep(5);
    return this.closed;
  }

  /** Sends a message and waits for its echo; the round-trip time in ms. */
  async roundTrip(message: string): Promise<number> {
    const started = performance.now();
    const expected = this.received.length + Buffer.byteLength(message);
    this.socket.write(message);
    if (!(await this.waitFor(expected))) throw new Error(`no echo of ${JSON.stringify(message)}`);
    return performance.now() - started;
  }
}

describe('FaultProxy', () => {
  it('forwards bytes both ways in order and counts them', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    const payload = Buffer.alloc(200_000);
    for (let index = 0; index < payload.length; index++) payload[index] = index % 251;
    client.socket.write(payload);
    expect(await client.waitFor(payload.length)).toBe(true);
    expect(client.received.equals(payload)).toBe(true);
    const stats = proxy.stats();
    expect(stats.bytesUpstream).toBe(payload.length);
    expect(stats.bytesDownstream).toBe(payload.length);
    expect(stats.connectionsOpen).toBe(1);
    expect(stats.connectionsTotal).toBe(1);
  });

  it('partition swallows bytes with the sockets left open; heal resets the blackholed connections', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    await client.roundTrip('before');
    proxy.partition();
    client.socket.write('into the hole');
    // A connection made during the partition is accepted, and blackholed too.
    const late = await Client.connect(proxy.port);
    late.socket.write('also lost');
    await sleep(250);
    expect(client.received.toString()).toBe('before');
    expect(late.received.length).toBe(0);
    expect(client.closed).toBe(false);
    expect(late.closed).toBe(false);
    expect(proxy.stats().bytesSwallowed).toBe('into the hole'.length + 'also lost'.length);
    expect(proxy.stats().connectionsOpen).toBe(2);

    const healedAt = performance.now();
    proxy.heal();
    expect(await client.waitClosed(1_000)).toBe(true);
    expect(await late.waitClosed(1_000)).toBe(true);
    expect(performance.now() - healedAt).toBeLessThan(500);
    expect(client.error?.code).toBe('ECONNRESET');
    expect(late.error?.code).toBe('ECONNRESET');
    expect(proxy.stats().resets).toBe(2);
    const after = await Client.connect(proxy.port);
    await after.roundTrip('after the heal');
    expect(after.received.toString()).toBe('after the heal');
  });

  it('a one-way partition swallows only that direction', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    proxy.partition('downstream');
    client.socket.write('up goes through');
    await sleep(200);
    expect(proxy.stats().bytesUpstream).toBe('up goes through'.length);
    expect(proxy.stats().bytesDownstream).toBe(0);
    expect(client.received.length).toBe(0);
  });

  it('delay adds latency within [latency, latency + jitter] and keeps order', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    const baseline = await client.roundTrip('warm');
    proxy.setDelay({ latencyMs: 40, jitterMs: 30 }, 'upstream');
    const rtts: number[] = [];
    for (let index = 0; index < 12; index++) rtts.push(await client.roundTrip(`m${index}`));
    for (const rtt of rtts) {
      expect(rtt).toBeGreaterThanOrEqual(40);
      expect(rtt).toBeLessThan(40 + 30 + 60 + baseline);
    }
    const delays = proxy.delayTrace().map((entry) => entry.delayMs);
    expect(delays).toHaveLength(12);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(40);
      expect(delay).toBeLessThanOrEqual(70);
    }
    expect(new Set(delays).size).toBeGreaterThan(1);
    // Many chunks with random jitter still arrive in the order they were sent.
    proxy.setDelay({ latencyMs: 0, jitterMs: 25 });
    const before = client.received.length;
    let sent = '';
    for (let index = 0; index < 40; index++) {
      const part = `<${index}>`;
      sent += part;
      client.socket.write(part);
      await sleep(1);
    }
    expect(await client.waitFor(before + sent.length)).toBe(true);
    expect(client.received.subarray(before).toString()).toBe(sent);
  });

  it('loss holds back about `probability` of the chunks for retransmitMs', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port, 7);
    const client = await Client.connect(proxy.port);
    proxy.setLoss({ probability: 0.3, retransmitMs: 25 }, 'upstream');
    const rtts: number[] = [];
    for (let index = 0; index < 150; index++) rtts.push(await client.roundTrip(`p${index};`));
    const lost = proxy.stats().chunksLost;
    expect(lost / 150).toBeGreaterThan(0.18);
    expect(lost / 150).toBeLessThan(0.42);
    expect(proxy.delayTrace().filter((entry) => entry.lost)).toHaveLength(lost);
    // Every lost chunk really was held back.
    expect(rtts.filter((rtt) => rtt >= 25).length).toBeGreaterThanOrEqual(lost);
    expect(client.received.toString()).toBe(Array.from({ length: 150 }, (_, index) => `p${index};`).join(''));
  });

  it('bandwidth limit bounds throughput', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    const payload = Buffer.alloc(60_000, 7);
    let started = performance.now();
    client.socket.write(payload);
    expect(await client.waitFor(payload.length)).toBe(true);
    const unlimitedMs = performance.now() - started;
    proxy.setBandwidth({ bytesPerSecond: 100_000 }, 'downstream');
    started = performance.now();
    client.socket.write(payload);
    expect(await client.waitFor(payload.length * 2, 10_000)).toBe(true);
    const limitedMs = performance.now() - started;
    // 60 kB at 100 kB/s with a 5 kB burst: at least ~550 ms.
    expect(limitedMs).toBeGreaterThan(500);
    expect(limitedMs).toBeLessThan(3_000);
    expect(unlimitedMs).toBeLessThan(limitedMs / 2);
    expect(proxy.stats().bytesDownstream).toBe(payload.length * 2);
  });

  it('reset makes the client see ECONNRESET', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    await client.roundTrip('hello');
    proxy.reset();
    expect(await client.waitClosed(1_000)).toBe(true);
    expect(client.error?.code).toBe('ECONNRESET');
    expect(proxy.stats().resets).toBe(1);
    await sleep(20);
    expect(proxy.stats().connectionsOpen).toBe(0);
  });

  it('clear removes every fault', async () => {
    const echo = await echoServer();
    const proxy = await startProxy(echo.port);
    const client = await Client.connect(proxy.port);
    proxy.setDelay({ latencyMs: 200 });
    proxy.setLoss({ probability: 1, retransmitMs: 200 });
    proxy.clear();
    expect(await client.roundTrip('fast again')).toBeLessThan(150);
  });

  it('the jitter sequence is reproducible from the seed', async () => {
    const echo = await echoServer();
    const run = async (seed: number): Promise<number[]> => {
      const proxy = await startProxy(echo.port, seed, 'jitter');
      proxy.setDelay({ latencyMs: 0, jitterMs: 15 });
      proxy.setLoss({ probability: 0.2, retransmitMs: 5 });
      const client = await Client.connect(proxy.port);
      for (let index = 0; index < 20; index++) await client.roundTrip(`j${index}`);
      return proxy.delayTrace().map((entry) => entry.delayMs);
    };
    const first = await run(42);
    const second = await run(42);
    const other = await run(43);
    expect(first).toHaveLength(40);
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('close ends every connection and stops listening', async () => {
    const echo = await echoServer();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: echo.port }, seed: 1 });
    const client = await Client.connect(proxy.port);
    proxy.setDelay({ latencyMs: 10_000 });
    client.socket.write('held in a timer');
    await sleep(20);
    const port = proxy.port;
    await proxy.close();
    expect(proxy.stats().connectionsOpen).toBe(0);
    expect(await client.waitClosed(1_000)).toBe(true);
    await expect(Client.connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
