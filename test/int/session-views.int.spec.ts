/**
 * What the engine says about a session's past (host/session-views.ts): the diff between a past
 * point and now names entries added, changed and removed per section, ignores an entry changed
 * and changed back, and lists at most 200 keys per kind; history pages are newest first.
 */
import * as A from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import { historyPage, sessionDiff } from '../../src/host/session-views.ts';
import { addAnnotation, addDrillNote, emptySession, putChaosPlan, putScenario, readSession, setTitle, type SessionDoc } from '../../src/node/session/session-doc.ts';
import type { HistoryEntry } from '../../src/node/session/session-repo.ts';

const note = (text: string) => ({ drillId: 'drill-1', author: 'alice', text, createdAtMs: 1 });

function start(title: string): A.Doc<SessionDoc> {
  return A.from(emptySession(title) as unknown as Record<string, unknown>) as unknown as A.Doc<SessionDoc>;
}

function diffBetween(past: A.Doc<SessionDoc>, now: A.Doc<SessionDoc>) {
  return sessionDiff(readSession(past).session, readSession(now).session, A.diff(now, A.getHeads(past), A.getHeads(now)));
}

describe('session diff between a past point and now', () => {
  it('names what was added, changed and removed, section by section', () => {
    let doc = start('before');
    doc = A.change(doc, (d) => {
      putScenario(d, 'kept', 'name: kept\n');
      putScenario(d, 'edited', 'name: edited\n');
      putScenario(d, 'dropped', 'name: dropped\n');
      addDrillNote(d, 'n-1', note('one'));
    });
    const past = doc;
    doc = A.change(doc, (d) => {
      putScenario(d, 'edited', 'name: edited\nversion: 2\n');
      delete d.scenarios.dropped;
      putScenario(d, 'new', 'name: new\n');
      putScenario(d, 'constructor', 'name: constructor\n');
      putChaosPlan(d, 'plan', { text: 'faults: []\n', author: 'bob', updatedAtMs: 2 });
      addAnnotation(d, 'a-1', { runId: 'run-1', position: 3, author: 'bob', text: 'hi', createdAtMs: 3 });
      setTitle(d, 'after');
    });
    const diff = diffBetween(past, doc);
    expect(diff.scenarios).toEqual({ added: ['constructor', 'new'], changed: ['edited'], removed: ['dropped'], more: 0 });
    expect(diff.chaosPlans).toEqual({ added: ['plan'], changed: [], removed: [], more: 0 });
    expect(diff.annotations).toEqual({ added: ['a-1'], changed: [], removed: [], more: 0 });
    expect(diff.drillNotes).toEqual({ added: [], changed: [], removed: [], more: 0 });
    expect(diff.runs).toEqual({ added: [], changed: [], removed: [], more: 0 });
    expect(diff.titleChanged).toBe(true);
  });

  it('counts an entry changed and changed back as unchanged, and lists at most 200 keys per kind', () => {
    let doc = start('t');
    doc = A.change(doc, (d) => addDrillNote(d, 'n-1', note('one')));
    const past = doc;
    doc = A.change(doc, (d) => addDrillNote(d, 'n-1', note('two')));
    doc = A.change(doc, (d) => {
      addDrillNote(d, 'n-1', note('one'));
      for (let i = 0; i < 250; i += 1) addAnnotation(d, `a-${String(i).padStart(3, '0')}`, { runId: 'run-1', position: i + 1, author: 'x', text: 't', createdAtMs: i });
    });
    const diff = diffBetween(past, doc);
    expect(diff.drillNotes).toEqual({ added: [], changed: [], removed: [], more: 0 });
    expect(diff.annotations.added).toHaveLength(200);
    expect(diff.annotations.added[0]).toBe('a-000');
    expect(diff.annotations.more).toBe(50);
    expect(diff.titleChanged).toBe(false);
  });
});

describe('session history pages', () => {
  const entries: HistoryEntry[] = Array.from({ length: 5 }, (_, i) => ({ heads: [`h${i}`] as unknown as HistoryEntry['heads'], hash: `${i}`.repeat(64), actor: `${'abcdef0123456789'.repeat(2)}`, seq: i + 1, timeMs: 1000 * i, message: `change ${i}`, deps: [] }));

  it('goes newest first, skips `offset`, stops at `limit`, and shortens actors', () => {
    expect(historyPage(entries, 0, 2)).toEqual({
      total: 5,
      changes: [
        { actor: 'abcdef01', seq: 5, timeMs: 4000, message: 'change 4', heads: ['h4'] },
        { actor: 'abcdef01', seq: 4, timeMs: 3000, message: 'change 3', heads: ['h3'] },
      ],
    });
    expect(historyPage(entries, 3, 10).changes.map((change) => change.seq)).toEqual([2, 1]);
    expect(historyPage(entries, 5, 10).changes).toEqual([]);
  });
});
