/**
 * The shared session through the engine API (session.*), two engine hosts under their supervisors:
 * A shares (AURA_LAB_SHARE), B joins A with an invite; annotations travel both ways, presence
 * arrives as a push, and neither the document id nor a token is ever in an answer but the invite.
 * The history pages newest first and shows the session at a past change with what differs now;
 * B fetches a run A put in the session, verified, as a local run, and a tampered bundle is refused.
 * A shares a scenario file, a chaos experiment file and a drill note (each validated first: a bad
 * one is a typed error and changes nothing); B sees them, saves the scenario into its own scenarios
 * directory (B has a copy of the repository's) and runs it; entries are removed from either side.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeHeads } from '@automerge/automerge-repo';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForRun } from '../../src/node/session/run-transfer.ts';
import type { PushOf, ServerMessage } from '../../src/shared/api.ts';
import { rejection, startEngine, type EngineHarness } from '../support/engine.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';

let a: EngineHarness;
let b: EngineHarness;
/** B's scenarios directory: a copy of the repository's, which B writes session scenarios into. */
const bScenarios = temporaryDirectory('aura-lab-session-scenarios-');

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function pushes<T extends 'session.changed' | 'session.presence' | 'session.fetchProgress'>(harness: EngineHarness, topic: T): PushOf<T>[] {
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
  cpSync(join(repoRoot, 'scenarios'), bScenarios.path, { recursive: true });
  a = await withShareEnv(true, () => startEngine());
  b = await startEngine({ scenariosDir: bScenarios.path });
});

afterAll(async () => {
  await b?.close();
  await a?.close();
  bScenarios.remove();
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
    // An expiring invite is kept with its expiry; a lifetime out of range is refused and makes no invite.
    const invitesFile = join(a.dataDir, 'session', 'invites.json');
    const readInvites = (): { kind: string; expiresAtMs?: number }[] => (existsSync(invitesFile) ? (JSON.parse(readFileSync(invitesFile, 'utf8')) as { invites: { kind: string; expiresAtMs?: number }[] }).invites : []);
    const before = readInvites();
    const tooShort = await rejection(a.client.request('session.invite', { kind: 'read-only', expiresInMs: 10 }));
    expect(tooShort.code).toBe('validation');
    expect(tooShort.issues.some((issue) => issue.path.includes('expiresInMs'))).toBe(true);
    expect(readInvites()).toHaveLength(before.length);
    const madeAt = Date.now();
    await a.client.request('session.invite', { kind: 'read-only', expiresInMs: 3_600_000 });
    const records = readInvites();
    expect(records).toHaveLength(before.length + 1);
    const expiring = records.at(-1)!;
    expect(expiring.kind).toBe('read-only');
    expect(expiring.expiresAtMs! - madeAt).toBeGreaterThan(3_590_000);
    expect(expiring.expiresAtMs! - madeAt).toBeLessThanOrEqual(3_600_000 + 5_000);
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

describe('session history and runs fetched from a peer, through the engine', () => {
  it('pages the history newest first and shows the session at a past change with what differs now', async () => {
    const before = (await a.client.request('session.history', { limit: 500 })).total;
    const ids: string[] = [];
    for (const text of ['first', 'second', 'third']) ids.push((await a.client.request('session.annotate', { runId: 'run-h', position: ids.length + 1, text, author: 'alice' })).id);

    const all = await a.client.request('session.history', { limit: 500 });
    expect(all.total).toBe(before + 3);
    expect(all.changes).toHaveLength(all.total);
    expect(all.changes.slice(0, 3).map((change) => change.message)).toEqual(['annotate', 'annotate', 'annotate']);
    const seqs = all.changes.slice(0, 3).map((change) => change.seq);
    expect(seqs[0]! - seqs[1]!).toBe(1);
    expect(seqs[1]! - seqs[2]!).toBe(1);
    for (const change of all.changes) {
      expect(change.actor).toMatch(/^[0-9a-f]{8}$/);
      expect(change.heads.length).toBeGreaterThan(0);
    }
    const page = await a.client.request('session.history', { offset: 1, limit: 2 });
    expect(page.total).toBe(all.total);
    expect(page.changes).toEqual(all.changes.slice(1, 3));

    // Newest: nothing since. Right after the first of the three: two since, and those two are what differs.
    const newest = await a.client.request('session.viewAt', { heads: all.changes[0]!.heads });
    expect(newest.changesSince).toBe(0);
    expect(newest.view.annotations.map((x) => x.id)).toEqual(expect.arrayContaining(ids));
    expect(newest.diff.annotations).toEqual({ added: [], changed: [], removed: [], more: 0 });
    const afterFirst = await a.client.request('session.viewAt', { heads: all.changes[2]!.heads });
    expect(afterFirst.changesSince).toBe(2);
    const then = afterFirst.view.annotations.map((x) => x.id);
    expect(then).toContain(ids[0]);
    expect(then).not.toContain(ids[1]);
    expect(then).not.toContain(ids[2]);
    expect(afterFirst.view.counts.annotations).toBe(newest.view.counts.annotations - 2);
    expect(afterFirst.diff.annotations.added).toEqual([ids[1], ids[2]].sort());
    expect(afterFirst.diff.annotations.changed).toEqual([]);
    expect(afterFirst.diff.annotations.removed).toEqual([]);
    expect(afterFirst.diff.runs.added).toEqual([]);
    expect(afterFirst.diff.titleChanged).toBe(false);
    // The first change of all: the empty session; every annotation was added since.
    const oldest = await a.client.request('session.viewAt', { heads: all.changes.at(-1)!.heads });
    expect(oldest.view.counts.annotations).toBe(0);
    expect(oldest.diff.annotations.added).toHaveLength(newest.view.counts.annotations);

    // B, synced, has the same history.
    await until(async () => ((await b.client.request('session.history', { limit: 1 })).total === all.total ? true : undefined), 10_000, 'B has the three changes');
    expect((await b.client.request('session.viewAt', { heads: all.changes[2]!.heads })).diff.annotations.added).toEqual([ids[1], ids[2]].sort());

    // Typed errors: a point that is not in this history, heads that are not change hashes, bad paging.
    const unknown = await rejection(a.client.request('session.viewAt', { heads: encodeHeads([randomBytes(32).toString('hex')]) }));
    expect(unknown.code).toBe('not_found');
    expect((await rejection(a.client.request('session.viewAt', { heads: ['not a hash!'] }))).code).toBe('validation');
    expect((await rejection(a.client.request('session.viewAt', { heads: ['zzzz'] }))).code).toBe('validation');
    expect((await rejection(a.client.request('session.viewAt', { heads: [] }))).code).toBe('validation');
    expect((await rejection(a.client.request('session.history', { limit: 0 }))).code).toBe('validation');
    expect((await rejection(a.client.request('session.history', { limit: 501 }))).code).toBe('validation');
    expect((await rejection(a.client.request('session.text', { section: 'scenarios', name: 'constructor' }))).code).toBe('not_found');
    expect((await rejection(a.client.request('session.text', { section: 'notes' as 'scenarios', name: 'x' }))).code).toBe('validation');

    // Never the document id.
    const documentId = (JSON.parse(readFileSync(join(a.dataDir, 'session', 'session.json'), 'utf8')) as { documentId: string }).documentId;
    expect(JSON.stringify([all, newest, afterFirst, oldest])).not.toContain(documentId);
  });

  it('puts a run in the session, and B fetches it from A verified as a local run; not_found, conflict and damaged are typed', async () => {
    const started = await a.client.request('run.start', { scenario: 'hello.yaml', speed: 'max' });
    const finished = await a.waitForRun(started.runId);
    expect(finished.status).toBe('completed');
    const runId = started.runId;

    expect((await rejection(a.client.request('session.addRun', { runId: 'no-such-run' }))).code).toBe('not_found');
    expect((await rejection(a.client.request('session.addRun', { runId: '../etc' }))).code).toBe('validation');
    await a.client.request('session.addRun', { runId });
    const onA = (await a.client.request('session.get', {})).runs.find((run) => run.runId === runId);
    expect(onA).toMatchObject({ scenarioName: finished.scenario, seed: finished.seed, headPosition: finished.headPosition, headHash: finished.headHash, status: 'completed', local: true });
    expect(onA?.verdict).toBeDefined();

    // B sees the summary and does not have the run.
    const onB = await until(async () => (await b.client.request('session.get', {})).runs.find((run) => run.runId === runId), 10_000, 'the run summary on B');
    expect(onB).toMatchObject({ headHash: finished.headHash, local: false });

    // A joined nobody: nothing to fetch from. B asks A for a run A does not have.
    expect((await rejection(a.client.request('session.fetchRun', { runId }))).code).toBe('conflict');
    expect((await rejection(b.client.request('session.fetchRun', { runId: 'no-such-run' }))).code).toBe('not_found');
    expect(existsSync(join(b.dataDir, 'runs', 'no-such-run'))).toBe(false);

    const fetched = await b.client.request('session.fetchRun', { runId }, 60_000);
    expect(fetched).toMatchObject({ runId, verified: true, events: finished.headPosition, headHash: finished.headHash });
    expect(fetched.bytes).toBeGreaterThan(0);
    expect(fetched.sha256).toMatch(/^[0-9a-f]{64}$/);
    const progress = pushes(b, 'session.fetchProgress').filter((p) => p.runId === runId);
    expect(progress.some((p) => p.stage === 'download' && p.done === p.total && p.total === fetched.bytes)).toBe(true);
    expect(progress.some((p) => p.stage === 'verify' && p.done === p.total && p.total > 0)).toBe(true);

    // Now a local run of B: listed, verifiable, and no second fetch.
    const listed = (await b.client.request('runs.history', {})).runs.find((run) => run.runId === runId);
    expect(listed).toMatchObject({ headHash: finished.headHash, headPosition: finished.headPosition, live: false });
    expect((await b.client.request('session.get', {})).runs.find((run) => run.runId === runId)?.local).toBe(true);
    expect((await b.client.request('events.read', { runId, offset: 0, limit: 5 })).headPosition).toBe(finished.headPosition);
    expect((await rejection(b.client.request('session.fetchRun', { runId }))).code).toBe('conflict');

    // A bundle altered on A's side (an event's payload, its SHA-256 announced to match): the chain
    // check refuses it, and B keeps nothing.
    const second = await a.client.request('run.start', { scenario: 'hello.yaml', speed: 'max', seed: 7 });
    await a.waitForRun(second.runId);
    await a.client.request('session.addRun', { runId: second.runId });
    const bundle = await bundleForRun(a.dataDir, second.runId);
    const db = new Database(bundle.file);
    try {
      expect(db.prepare(`UPDATE events SET payload = json_set(payload, '$.tampered', 1) WHERE position = 2`).run().changes).toBe(1);
    } finally {
      db.close();
    }
    const bytes = readFileSync(bundle.file);
    writeFileSync(`${bundle.file}.json`, `${JSON.stringify({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength })}\n`);
    const damaged = await rejection(b.client.request('session.fetchRun', { runId: second.runId }, 60_000));
    expect(damaged.code).toBe('damaged');
    expect(damaged.message).toContain('does not verify');
    expect(existsSync(join(b.dataDir, 'runs', second.runId))).toBe(false);
    expect(readdirSync(join(b.dataDir, 'runs')).sort()).toEqual([runId]);
    expect((await b.client.request('runs.history', {})).runs.map((run) => run.runId)).not.toContain(second.runId);
    expect((await b.client.request('session.get', {})).runs.find((run) => run.runId === second.runId)?.local).toBe(false);
  });
});

describe('the session library through the engine: scenarios, chaos plans and drill notes', () => {
  it('refuses bad scenarios, chaos plans, notes and names with typed errors naming the file and field, and changes nothing', async () => {
    const dir = temporaryDirectory('aura-lab-session-library-');
    try {
      const badScenario = join(dir.path, 'bad.yaml');
      writeFileSync(badScenario, readFileSync(join(repoRoot, 'scenarios', 'hello.yaml'), 'utf8').replace('duration: 60s', 'duration: banana'));
      const badPlan = join(dir.path, 'bad-plan.yaml');
      writeFileSync(badPlan, readFileSync(join(repoRoot, 'scenarios', 'chaos', 'load-spike.yaml'), 'utf8').replace('scenario: baseline.yaml', `scenario: ${join(repoRoot, 'scenarios', 'baseline.yaml')}`).replace('generator: orders, factor: 3', 'generator: nope, factor: 3'));
      const historyBefore = (await a.client.request('session.history', { limit: 1 })).total;
      const countsBefore = (await a.client.request('session.get', {})).counts;

      const invalid = await rejection(a.client.request('session.putScenario', { scenario: badScenario }));
      expect(invalid.code).toBe('validation');
      const issue = invalid.issues.find((x) => x.path.includes('duration'));
      expect(issue?.file).toMatch(/bad\.yaml$/);
      expect(issue?.line).toBeGreaterThan(1);
      expect(invalid.message).toContain('bad.yaml');
      expect((await rejection(a.client.request('session.putScenario', { scenario: 'no-such-scenario.yaml' }))).code).toBe('not_found');
      const badName = await rejection(a.client.request('session.putScenario', { scenario: 'hello.yaml', name: 'not a key!' }));
      expect(badName.code).toBe('validation');
      expect(badName.issues.map((x) => x.path)).toEqual([['name']]);

      const planMisfit = await rejection(a.client.request('session.putChaosPlan', { file: badPlan }));
      expect(planMisfit.code).toBe('validation');
      expect(planMisfit.issues.some((x) => x.file?.endsWith('bad-plan.yaml') === true && x.path.includes('generator'))).toBe(true);
      const scenarioAsPlan = await rejection(a.client.request('session.putChaosPlan', { file: 'hello.yaml' }));
      expect(scenarioAsPlan.code).toBe('validation');
      expect(scenarioAsPlan.issues.some((x) => x.file?.endsWith('hello.yaml') === true)).toBe(true);
      expect((await rejection(a.client.request('session.putChaosPlan', { file: 'chaos/no-such-plan.yaml' }))).code).toBe('not_found');

      const emptyNote = await rejection(a.client.request('session.addDrillNote', { drillId: 'network-partition', text: '  ' }));
      expect(emptyNote.code).toBe('validation');
      expect(emptyNote.issues.map((x) => x.path)).toEqual([['text']]);
      const badDrill = await rejection(a.client.request('session.addDrillNote', { drillId: '../etc', text: 'x' }));
      expect(badDrill.code).toBe('validation');
      expect(badDrill.issues.some((x) => x.path.includes('drillId'))).toBe(true);
      const longNote = await rejection(a.client.request('session.addDrillNote', { drillId: 'network-partition', text: 'x'.repeat(20_001) }));
      expect(longNote.code).toBe('validation');
      expect(longNote.issues.some((x) => x.path.includes('text'))).toBe(true);
      expect((await rejection(a.client.request('session.addDrillNote', { drillId: 'network-partition' } as never))).code).toBe('validation');

      expect((await rejection(a.client.request('session.removeScenario', { name: 'no-such' }))).code).toBe('not_found');
      expect((await rejection(a.client.request('session.removeChaosPlan', { name: 'no-such' }))).code).toBe('not_found');
      expect((await rejection(a.client.request('session.saveScenario', { name: 'no-such' }))).code).toBe('not_found');

      expect((await a.client.request('session.history', { limit: 1 })).total).toBe(historyBefore);
      expect((await a.client.request('session.get', {})).counts).toEqual(countsBefore);
    } finally {
      dir.remove();
    }
  });

  it('shares a scenario, a chaos plan and a drill note that reach B; B saves the scenario, runs it, and never overwrites another file; entries are removed', async () => {
    const helloText = readFileSync(join(repoRoot, 'scenarios', 'hello.yaml'), 'utf8');
    const planText = readFileSync(join(repoRoot, 'scenarios', 'chaos', 'load-spike.yaml'), 'utf8');
    const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

    expect((await a.client.request('chaos.plans', {})).plans).toEqual(expect.arrayContaining([expect.objectContaining({ file: 'chaos/load-spike.yaml', scenario: 'baseline.yaml' })]));
    expect((await a.client.request('chaos.plans', {})).plans.every((plan) => plan.error === undefined)).toBe(true);

    expect(await a.client.request('session.putScenario', { scenario: 'hello.yaml' })).toEqual({ name: 'hello', sha256: sha(helloText) });
    expect(await a.client.request('session.putScenario', { scenario: join(repoRoot, 'scenarios', 'hello.yaml'), name: 'hello-shared' })).toEqual({ name: 'hello-shared', sha256: sha(helloText) });
    expect(await a.client.request('session.putChaosPlan', { file: 'chaos/load-spike.yaml', author: 'alice' })).toEqual({ name: 'load-spike', sha256: sha(planText) });
    const { id } = await a.client.request('session.addDrillNote', { drillId: 'network-partition', text: 'Heal the partition after 30 s', author: 'alice' });
    const messages = (await a.client.request('session.history', { limit: 4 })).changes.map((change) => change.message);
    expect(messages).toEqual(['add drill note', 'put chaos plan load-spike', 'put scenario hello-shared', 'put scenario hello']);

    // B sees them all.
    const onB = await until(async () => {
      const view = await b.client.request('session.get', {});
      return view.scenarios.includes('hello-shared') && view.chaosPlans.some((plan) => plan.name === 'load-spike') && view.drillNotes.some((note) => note.id === id) ? view : undefined;
    }, 10_000, 'the scenarios, the chaos plan and the note on B');
    expect(onB.chaosPlans.find((plan) => plan.name === 'load-spike')).toMatchObject({ author: 'alice', sha256: sha(planText), chars: planText.length });
    expect(onB.drillNotes.find((note) => note.id === id)).toMatchObject({ drillId: 'network-partition', author: 'alice', text: 'Heal the partition after 30 s' });
    expect((await b.client.request('session.text', { section: 'scenarios', name: 'hello-shared' })).text).toBe(helloText);
    expect((await b.client.request('session.text', { section: 'chaosPlans', name: 'load-spike' })).text).toBe(planText);

    // B saves the scenario into its scenarios directory, lists it and runs it; saving again is fine.
    expect(await b.client.request('session.saveScenario', { name: 'hello-shared' })).toEqual({ name: 'hello-shared', file: 'session/hello-shared.yaml', written: true });
    expect(readFileSync(join(bScenarios.path, 'session', 'hello-shared.yaml'), 'utf8')).toBe(helloText);
    expect(await b.client.request('session.saveScenario', { name: 'hello-shared' })).toEqual({ name: 'hello-shared', file: 'session/hello-shared.yaml', written: false });
    const listed = (await b.client.request('scenarios.list', {})).scenarios.find((entry) => entry.file === 'session/hello-shared.yaml');
    expect(listed).toMatchObject({ name: 'hello', durationUs: 60_000_000 });
    expect(listed?.error).toBeUndefined();
    expect((await a.client.request('scenarios.list', {})).scenarios.map((entry) => entry.file)).not.toContain('session/hello-shared.yaml');
    const started = await b.client.request('run.start', { scenario: listed!.file, speed: 'max' });
    expect((await b.waitForRun(started.runId)).status).toBe('completed');

    // A replaces the entry with another scenario: B's save refuses to overwrite its file.
    await a.client.request('session.putScenario', { scenario: 'baseline.yaml', name: 'hello-shared' });
    const baselineSha = sha(readFileSync(join(repoRoot, 'scenarios', 'baseline.yaml'), 'utf8'));
    await until(async () => ((await b.client.request('session.text', { section: 'scenarios', name: 'hello-shared' })).sha256 === baselineSha ? true : undefined), 10_000, 'the replaced scenario on B');
    expect((await rejection(b.client.request('session.saveScenario', { name: 'hello-shared' }))).code).toBe('conflict');
    expect(readFileSync(join(bScenarios.path, 'session', 'hello-shared.yaml'), 'utf8')).toBe(helloText);

    // Removing, from either side, reaches the other.
    expect(await a.client.request('session.removeChaosPlan', { name: 'load-spike' })).toEqual({ name: 'load-spike' });
    expect(await b.client.request('session.removeScenario', { name: 'hello' })).toEqual({ name: 'hello' });
    for (const harness of [a, b]) {
      await until(async () => {
        const view = await harness.client.request('session.get', {});
        return !view.scenarios.includes('hello') && view.scenarios.includes('hello-shared') && view.chaosPlans.length === 0 ? true : undefined;
      }, 10_000, 'both removals on both hosts');
    }
    expect((await rejection(a.client.request('session.removeChaosPlan', { name: 'load-spike' }))).code).toBe('not_found');
    expect((await rejection(b.client.request('session.text', { section: 'scenarios', name: 'hello' }))).code).toBe('not_found');
  });
});
