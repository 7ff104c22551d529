/**
 * The shared session through the engine API (session.*), two engine hosts under their supervisors:
 * A shares (AURA_LAB_SHARE), B joins A with an invite; annotations travel both ways, presence
 * arrives as a push, and neither the document id nor a token is ever in an answer but the invite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushOf, ServerMessage } from '../../src/shared/api.ts';
import { rejection, startEngine, type EngineHarness } from '../support/engine.ts';

let a: EngineHarness;
let b: EngineHarness;

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function pushes<T extends 'session.changed' | 'session.presence'>(harness: EngineHarness, topic: T): PushOf<T>[] {
  return harness.received.filter((m): m is Extract<ServerMessage, { type: 'push' }> => m.type === 'push' && m.topic === topic).map((m) => m.data as PushOf<T>);
}

/** Runs `fn` with AURA_LAB_SHARE=1 in this process's environment (which the engine supervisor passes on), when `on`. */
async function withShareEnv<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  if (!on) return fn();
  const before = process.env.AURA_LAB_SHARE;
  process.env.AURA_LAB_SHARE = '1';
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.AURA_LAB_SHARE;
    else process.env.AURA_LAB_SHARE = before;
  }
}

beforeAll(async () => {
  a = await withShareEnv(true, () => startEngine());
  b = await startEngine();
});

afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('session.* through the engine', () => {
  it('answers the session, validates annotations with typed errors, and makes invites only when sharing', async () => {
    const view = await a.client.request('session.get', {});
    expect(view.counts.annotations).toBe(0);
    expect(view.title.length).toBeGreaterThan(0);

    const badPosition = await rejection(a.client.request('session.annotate', { runId: 'run-1', position: 0, text: 'x' }));
    expect(badPosition.code).toBe('validation');
    expect(badPosition.issues.some((issue) => issue.path.includes('position'))).toBe(true);
    const badRun = await rejection(a.client.request('session.annotate', { runId: '../etc', position: 3, text: 'x' }));
    expect(badRun.code).toBe('validation');
    expect(badRun.issues.some((issue) => issue.path.includes('runId'))).toBe(true);

    expect((await a.client.request('session.status', {})).sharing).toBe(true);
    expect((await b.client.request('session.status', {})).sharing).toBe(false);
    expect((await rejection(b.client.request('session.invite', { kind: 'read-write' }))).code).toBe('conflict');
    expect((await rejection(b.client.request('session.join', { invite: 'https://example.com/nope' }))).code).toBe('validation');
  });

  it('joins, syncs annotations both ways, pushes changes and presence, and reports honest status', async () => {
    const { invite } = await a.client.request('session.invite', { kind: 'read-write' });
    expect(invite).toMatch(/^aura-lab:\/\/127\.0\.0\.1:\d+\/join\?token=/);
    const documentId = new URL(invite).searchParams.get('doc')!;
    const token = new URL(invite).searchParams.get('token')!;

    // A token for another session gets a typed refusal, and B keeps its own session.
    const forged = invite.replace(token, 'A'.repeat(43));
    expect((await rejection(b.client.request('session.join', { invite: forged }))).code).toBe('validation');

    const joined = await b.client.request('session.join', { invite });
    expect(joined.title).toBe((await a.client.request('session.get', {})).title);

    const onA = await a.client.request('session.annotate', { runId: 'run-1', position: 10, text: 'from A', author: 'alice' });
    const onB = await b.client.request('session.annotate', { runId: 'run-1', position: 20, text: 'from B', author: 'bob' });
    for (const harness of [a, b]) {
      await until(async () => {
        const ids = (await harness.client.request('session.get', {})).annotations.map((x) => x.id);
        return ids.includes(onA.id) && ids.includes(onB.id) ? true : undefined;
      }, 10_000, 'both annotations on both hosts');
    }
    expect(pushes(a, 'session.changed').length).toBeGreaterThan(0);
    await until(() => (pushes(b, 'session.changed').at(-1)?.counts.annotations === 2 ? true : undefined), 5_000, 'a session.changed on B counting both annotations');

    const statusB = await until(async () => {
      const status = await b.client.request('session.status', {});
      return status.peers === 1 && status.changesNotOnAnyPeer === 0 ? status : undefined;
    }, 10_000, 'B synced with A');
    expect(statusB.lastSyncMs).not.toBeNull();

    await b.client.request('session.presence', { name: 'bob', runId: 'run-1', position: 42 });
    const seen = await until(() => pushes(a, 'session.presence').flatMap((p) => p.peers).find((peer) => peer.name === 'bob'), 10_000, 'bob on A');
    expect(seen).toMatchObject({ name: 'bob', runId: 'run-1', position: 42 });
    await a.client.request('session.presence', { name: 'alice' });
    await until(() => pushes(b, 'session.presence').flatMap((p) => p.peers).find((peer) => peer.name === 'alice'), 10_000, 'alice on B');

    // No answer and no push but the invite itself carries the document id or a token.
    const everything = JSON.stringify([...a.received, ...b.received].filter((m) => !(m.type === 'response' && JSON.stringify(m).includes('aura-lab://'))));
    expect(everything).not.toContain(documentId);
    expect(everything).not.toContain(token);
  });

  it('keeps syncing across engine restarts: A comes back on its share port, B reconnects to A from disk', async () => {
    for (const harness of [a, b]) {
      const pid = harness.supervisor.pid!;
      const restarted = harness.waitForState('ready', 20_000);
      // The supervisor passes the environment on at each spawn: A shares again (the CLI passes `share` instead).
      await withShareEnv(harness === a, async () => {
        process.kill(pid, 'SIGKILL');
        await restarted;
      });
      const text = `after restarting ${harness === a ? 'A' : 'B'}`;
      const { id } = await harness.client.request('session.annotate', { runId: 'run-2', position: 1, text });
      const other = harness === a ? b : a;
      await until(async () => ((await other.client.request('session.get', {})).annotations.some((x) => x.id === id) ? true : undefined), 15_000, `${text}: annotation on the other host`);
    }
    expect((await b.client.request('session.status', {})).peers).toBe(1);
  });
});
