import { afterEach, describe, expect, it } from 'vitest';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { addAnnotation, putRunSummary, putScenario, readSession, sessionLimits, type SessionDoc } from '../../src/node/session/session-doc.ts';
import { readSessionFile, SessionRepo } from '../../src/node/session/session-repo.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = temporaryDirectory('aura-lab-session-doc-');
  cleanups.push(dir.remove);
  return dir.path;
}

const note = { runId: 'run-1', position: 3, author: 'ana', text: 'spike here', createdAtMs: 1 };

describe('the session document', () => {
  it('is created once, kept on disk and loaded again with its history', async () => {
    const dataDir = tempDir();
    const first = await SessionRepo.open({ dataDir, title: 'Team A' });
    const id = first.documentId;
    first.change((doc) => putScenario(doc, 'hello', 'version: 1\n'), 'add scenario');
    const afterScenario = first.heads();
    first.change((doc) => addAnnotation(doc, 'n1', note), 'annotate');
    await first.close();
    expect(readSessionFile(dataDir)).toBe(id);

    const again = await SessionRepo.open({ dataDir });
    cleanups.push(() => again.close());
    expect(again.documentId).toBe(id);
    const { session, rejected } = again.read();
    expect(session.title).toBe('Team A');
    expect(session.annotations.n1).toEqual(note);
    expect(session.scenarios.hello?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rejected).toEqual([]);
    const history = again.history();
    expect(history.map((entry) => entry.message)).toEqual([null, 'add scenario', 'annotate']);
    expect(again.viewAt(afterScenario).session.annotations).toEqual({});
    expect(again.diff(afterScenario).length).toBeGreaterThan(0);
    expect(again.syncStatus()).toMatchObject({ connectedPeers: 0, changesNotOnAnyPeer: 3 });
  });

  it('rejects malformed or oversized local input with a typed validation error and no change', async () => {
    const session = await SessionRepo.open({ title: 'memory' });
    cleanups.push(() => session.close());
    const before = session.heads();
    const attempts: ((doc: SessionDoc) => void)[] = [
      (doc) => addAnnotation(doc, 'n2', { ...note, position: 0 }),
      (doc) => addAnnotation(doc, 'bad id!', note),
      (doc) => addAnnotation(doc, 'n3', { ...note, text: 'x'.repeat(sessionLimits.annotationChars + 1) }),
      (doc) => putScenario(doc, 'big', 'y'.repeat(sessionLimits.documentChars + 1)),
      (doc) => putRunSummary(doc, 'run-1', { manifest: { scenarioName: 's', scenarioSha256: 'nothex', seed: 1, headPosition: 1, headHash: '0'.repeat(64), status: 'finished' } }),
    ];
    for (const attempt of attempts) {
      let caught: unknown;
      try {
        session.change(attempt);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AuraError);
      expect((caught as AuraError).code).toBe('validation');
    }
    expect(session.heads()).toEqual(before);
  });

  it('leaves out what a peer wrote that does not validate, and says so', () => {
    const { session, rejected } = readSession({
      title: 'T',
      annotations: { ok: note, extra: { ...note, secret: 'smuggled' }, huge: { ...note, text: 'z'.repeat(20_000) }, 'no/slash': note },
      scenarios: { forged: { text: 'a', sha256: '0'.repeat(64) } },
      runs: 'not an object',
    });
    expect(Object.keys(session.annotations)).toEqual(['ok']);
    expect(session.scenarios).toEqual({});
    expect(rejected.length).toBe(5);
  });
});
