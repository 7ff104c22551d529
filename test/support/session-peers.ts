/** Starts session-peer.ts processes and talks to them (see that file). */
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { repoRoot } from './fixtures.ts';

export interface PeerView {
  readonly view: { readonly session: { readonly title: string; readonly annotations: Record<string, { readonly text: string }> }; readonly rejected: readonly unknown[] };
  readonly heads: readonly string[];
  readonly status: { readonly connectedPeers: number; readonly peersUpToDate: number; readonly changesNotOnAnyPeer: number };
  readonly stats?: { readonly readOnlyWritesDropped: number; readonly peersConnected: number; readonly disconnectedOversized: number; readonly disconnectedFlood: number; readonly disconnectedMalformed: number; readonly upgradesRefused: number };
  readonly history: number;
}

export class PeerProcess {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly ready: Promise<void>;
  private stderrText = '';
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    child.on('message', (message: { seq: number; ok: boolean; result?: unknown; error?: string }) => {
      if (message.seq === 0) return markReady();
      const waiter = this.pending.get(message.seq);
      this.pending.delete(message.seq);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`${name}: ${message.error}`));
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${code})`));
      this.pending.clear();
    });
  }

  /** Starts a peer; with `env`, these variables are added to its environment and its stderr is kept (`stderr()`). */
  static async start(name: string, env?: NodeJS.ProcessEnv): Promise<PeerProcess> {
    const child = fork(join(repoRoot, 'test/support/session-peer.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', env === undefined ? 'inherit' : 'pipe', 'ipc'],
      cwd: repoRoot,
      ...(env === undefined ? {} : { env: { ...process.env, ...env } }),
    });
    const peer = new PeerProcess(name, child);
    await peer.ready;
    return peer;
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    this.seq += 1;
    const seq = this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ seq, op, ...args }, (error) => {
        if (error === null) return;
        this.pending.delete(seq);
        reject(error);
      });
    });
  }

  /** What the peer wrote on stderr (when started with `env`). */
  stderr(): string {
    return this.stderrText;
  }

  read(): Promise<PeerView> {
    return this.call<PeerView>('read');
  }

  /** Closes the peer's session and ends the process; calling it again waits for the same stop. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      await Promise.race([this.call('close').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3_000))]);
      this.child.kill();
    })();
    return this.stopping;
  }
}

/** A comparable fingerprint of a peer's session: the valid content and the heads. */
export function fingerprint(view: PeerView): string {
  return JSON.stringify({ session: view.view.session, heads: view.heads });
}

export async function waitForConvergence(peers: readonly PeerProcess[], timeoutMs: number): Promise<{ ms: number; views: PeerView[] }> {
  const started = performance.now();
  for (;;) {
    const views = await Promise.all(peers.map((peer) => peer.read()));
    const prints = views.map(fingerprint);
    if (prints.every((print) => print === prints[0])) return { ms: performance.now() - started, views };
    if (performance.now() - started > timeoutMs) throw new Error(`no convergence after ${timeoutMs} ms: ${views.map((view, i) => `${peers[i]?.name}=${Object.keys(view.view.session.annotations).length} annotations/${view.heads.length} heads`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A raw HTTP upgrade: status, headers and body of whatever the server answers. */
export function rawUpgrade(port: number, path: string, host = '127.0.0.1'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': Buffer.alloc(16, 1).toString('base64') } });
    req.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}
