/** Starts session-peer.ts processes and talks to them (see that file). */
import { fork, type ChildProcess } from 'node:child_process';
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
    child.on('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${code})`));
      this.pending.clear();
    });
  }

  static async start(name: string): Promise<PeerProcess> {
    const child = fork(join(repoRoot, 'test/support/session-peer.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: repoRoot });
    const peer = new PeerProcess(name, child);
    await peer.ready;
    return peer;
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    this.seq += 1;
    const seq = this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ seq, op, ...args });
    });
  }

  read(): Promise<PeerView> {
    return this.call<PeerView>('read');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await Promise.race([this.call('close').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3_000))]);
    this.child.kill();
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
