/**
 * Network chaos between session peers: a FaultProxy with delay, jitter and loss (and then a
 * partition on top) sits between one peer and the host; edits on both sides converge, and the
 * convergence time is printed and held under 5 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../src/node/fault-proxy.ts';
import { temporaryDirectory } from '../support/fixtures.ts';
import { PeerProcess, waitForConvergence } from '../support/session-peers.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const dirs: (() => void)[] = [];
function tempDir(): string {
  const dir = temporaryDirectory('aura-lab-session-chaos-');
  dirs.push(dir.remove);
  return dir.path;
}

describe('session sync through delay, jitter and loss', () => {
  let host: PeerProcess;
  let alice: PeerProcess;
  let bob: PeerProcess;
  let proxy: FaultProxy;

  beforeAll(async () => {
    [host, alice, bob] = await Promise.all([PeerProcess.start('host'), PeerProcess.start('alice'), PeerProcess.start('bob')]);
    const { port } = await host.call<{ port: number }>('host', { dataDir: tempDir(), title: 'Chaos drill' });
    const invite = await host.call<string>('invite', { kind: 'read-write' });
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port }, seed: 42, name: 'alice-host' });
    await Promise.all([alice.call('join', { dataDir: tempDir(), invite: invite.replace(/:(\d+)\/join/, `:${proxy.port}/join`) }), bob.call('join', { dataDir: tempDir(), invite })]);
    await waitForConvergence([host, alice, bob], 10_000);
  });

  afterAll(async () => {
    await Promise.all([host, alice, bob].map((peer) => peer?.stop()));
    await proxy?.close();
    for (const remove of dirs) remove();
  });

  it('edits on both sides of a delayed, jittery, lossy link converge in < 5 s', async () => {
    proxy.setDelay({ latencyMs: 60, jitterMs: 40 });
    proxy.setLoss({ probability: 0.1, retransmitMs: 200 });
    const peers = [host, alice, bob];
    await Promise.all(
      peers.map(async (peer) => {
        for (let i = 1; i <= 20; i += 1) {
          await peer.call('annotate', { id: `${peer.name}-lossy-${i}`, runId: 'run-1', position: i, text: `${peer.name} through chaos ${i}`, author: peer.name });
          if (i % 4 === 0) await sleep(15);
        }
      }),
    );
    const lastEdit = performance.now();
    const { views } = await waitForConvergence(peers, 10_000);
    const convergenceMs = performance.now() - lastEdit;
    const stats = proxy.stats();
    console.log(`delay 60±40 ms + 10% loss: 3 peers x 20 annotations converged ${convergenceMs.toFixed(0)} ms after the last edit (${stats.chunksDelayed} chunks delayed, ${stats.chunksLost} lost)`);
    expect(convergenceMs).toBeLessThan(5_000);
    expect(stats.chunksDelayed).toBeGreaterThan(0);
    for (const view of views) {
      expect(Object.keys(view.view.session.annotations)).toHaveLength(60);
      expect(view.view.rejected).toEqual([]);
    }
  });

  it('a partition on top of delay and loss: both sides edit, and after the heal all converge in < 5 s', async () => {
    proxy.partition();
    for (let i = 1; i <= 10; i += 1) {
      await alice.call('annotate', { id: `alice-cut-${i}`, runId: 'run-2', position: i, text: `alice offline ${i}`, author: 'alice' });
      await host.call('annotate', { id: `host-cut-${i}`, runId: 'run-2', position: 100 + i, text: `host during the cut ${i}`, author: 'host' });
      await bob.call('annotate', { id: `bob-cut-${i}`, runId: 'run-2', position: 200 + i, text: `bob during the cut ${i}`, author: 'bob' });
    }
    await sleep(300);
    expect((await alice.read()).view.session.annotations['host-cut-1']).toBeUndefined();
    expect((await alice.read()).status.changesNotOnAnyPeer).toBeGreaterThan(0);
    // The link comes back still slow and lossy.
    proxy.heal();
    proxy.setDelay({ latencyMs: 60, jitterMs: 40 });
    proxy.setLoss({ probability: 0.1, retransmitMs: 200 });
    const healedAt = performance.now();
    const { views } = await waitForConvergence([host, alice, bob], 10_000);
    const convergenceMs = performance.now() - healedAt;
    console.log(`partition heal under delay 60±40 ms + 10% loss: converged ${convergenceMs.toFixed(0)} ms after heal (${Object.keys(views[0]?.view.session.annotations ?? {}).length} annotations)`);
    expect(convergenceMs).toBeLessThan(5_000);
    for (const view of views) for (const id of ['alice-cut-10', 'host-cut-10', 'bob-cut-10']) expect(view.view.session.annotations[id]).toBeDefined();
  });
});
