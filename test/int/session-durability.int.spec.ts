/**
 * The session store: nothing acknowledged is lost when a lab is killed (SIGKILL, at varied
 * moments, compactions included), storage is compacted to one chunk, and a load leaves no trace.
 */
import { fork } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { UrlHeads } from '@automerge/automerge-repo';
import { describe, expect, it } from 'vitest';
import { addAnnotation, putScenario } from '../../src/node/session/session-doc.ts';
import { readSessionFile, SessionRepo, sessionDirOf } from '../../src/node/session/session-repo.ts';
import { chunkCount } from '../../src/node/session/session-storage.ts';
import { cleanupsAfterEach, repoRoot } from '../support/fixtures.ts';

const { cleanups, tempDir } = cleanupsAfterEach('aura-lab-session-durability-');

const note = (i: number): { runId: string; position: number; author: string; text: string; createdAtMs: number } => ({ runId: 'run-1', position: 1 + i, author: 'ana', text: `note ${i}`, createdAtMs: 1_700_000_000_000 + i });

/** Runs session-writer.ts on `dataDir` and SIGKILLs it after `killAfterAcks` acknowledgements; returns every acknowledged id. */
function writeUntilKilled(dataDir: string, prefix: string, seedCount: number, killAfterAcks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = fork(join(repoRoot, 'test/support/session-writer.ts'), [dataDir, prefix, String(seedCount)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: repoRoot });
    const acked: string[] = [];
    let acks = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer acknowledged only ${acks} flushes in 30 s`));
    }, 30_000);
    child.on('message', (message: { acked?: string[] }) => {
      if (message.acked === undefined) return;
      acked.push(...message.acked);
      acks += 1;
      if (acks === killAfterAcks) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`the writer exited on its own (${signal ?? 'no signal'})`));
    });
  });
}

function chunkFiles(dataDir: string): string[] {
  const id = readSessionFile(dataDir) as string;
  const dir = join(sessionDirOf(dataDir), id.slice(0, 2), id.slice(2));
  return ['snapshot', 'incremental'].flatMap((kind) => {
    try {
      return readdirSync(join(dir, kind)).map((name) => join(dir, kind, name));
    } catch {
      return [];
    }
  });
}

describe('the session store', () => {
  it('keeps every acknowledged change when the lab is killed (SIGKILL) at varied moments, compactions included', { timeout: 120_000 }, async () => {
    const dataDir = tempDir();
    const acknowledged = new Set<string>();
    // Round 0 creates the session; later rounds open what the killed round left (several chunks,
    // so their first save is a compaction), seeded with 400 annotations at once to make saves slow.
    const killAfter = [3, 1, 6, 2];
    for (const [round, acks] of killAfter.entries()) {
      const acked = await writeUntilKilled(dataDir, `r${round}`, round === 0 ? 50 : 400, acks);
      for (const id of acked) acknowledged.add(id);
      const session = await SessionRepo.open({ dataDir });
      const { annotations } = session.read().session;
      const missing = [...acknowledged].filter((id) => annotations[id] === undefined);
      expect(missing, `round ${round}: acknowledged annotations lost`).toEqual([]);
      await session.close();
    }
    expect(acknowledged.size).toBeGreaterThan(50 + 3 * 400);
  });

  it('is compacted into one snapshot by the first save after a load, and a close with nothing new writes nothing', async () => {
    const dataDir = tempDir();
    const first = await SessionRepo.open({ dataDir, title: 'Compaction' });
    // At least 30 annotations, and as many more as it takes to end on several chunks: whether a
    // save compacts depends on the sizes already on disk, and saves that overlap (a throttled
    // save and a flush) change them, so the count is not fixed.
    let annotations = 0;
    while (annotations < 30 || (chunkCount(sessionDirOf(dataDir), first.documentId) <= 1 && annotations < 200)) {
      const i = annotations;
      first.change((doc) => addAnnotation(doc, `n${i}`, note(i)));
      await first.flush();
      annotations += 1;
    }
    const heads = [...first.heads()].sort();
    await first.close();
    expect(chunkCount(sessionDirOf(dataDir), first.documentId)).toBeGreaterThan(1);

    // Loaded from several chunks and closed unchanged: compacted into one snapshot.
    const second = await SessionRepo.open({ dataDir });
    expect([...second.heads()].sort()).toEqual(heads);
    await second.close();
    const [only, ...others] = chunkFiles(dataDir);
    expect(others).toEqual([]);
    const written = statSync(only as string).mtimeMs;

    // Loaded from one chunk and closed unchanged: nothing is rewritten.
    const third = await SessionRepo.open({ dataDir });
    expect(Object.keys(third.read().session.annotations)).toHaveLength(annotations);
    await third.close();
    expect(chunkFiles(dataDir)).toEqual([only]);
    expect(statSync(only as string).mtimeMs).toBe(written);

    // The first change after a load is saved as one new snapshot, with everything in it.
    const fourth = await SessionRepo.open({ dataDir });
    fourth.change((doc) => putScenario(doc, 'hello', 'version: 1\n'), 'scenario');
    await fourth.flush();
    expect(chunkFiles(dataDir)).toHaveLength(1);
    expect(chunkFiles(dataDir)).not.toEqual([only]);
    await fourth.close();
    const fifth = await SessionRepo.open({ dataDir });
    cleanups.push(() => fifth.close());
    expect(Object.keys(fifth.read().session.annotations)).toHaveLength(annotations);
    expect(fifth.read().session.scenarios.hello).toBeDefined();
    expect(fifth.history().map((entry) => entry.message).at(-1)).toBe('scenario');
  });

  it('answers history diffs from the empty document after a load (the load leaves no cached patches behind)', async () => {
    const dataDir = tempDir();
    const first = await SessionRepo.open({ dataDir, title: 'Diffs' });
    first.change((doc) => addAnnotation(doc, 'n1', note(1)));
    await first.close();
    const again = await SessionRepo.open({ dataDir });
    cleanups.push(() => again.close());
    const patches = again.diff([] as unknown as UrlHeads);
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.some((patch) => patch.path[0] === 'annotations')).toBe(true);
  });
});
