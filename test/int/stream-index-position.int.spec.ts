/**
 * The stream index's position (meta.stream_index_position): a stream read takes the events up
 * to it from the index's chunks alone, so a position moved up by damage would hide events from
 * stream reads. The store refuses to open a log whose position is past its last event or not a
 * position; verification reports it, and the first event up to it that no chunk holds; a repair
 * rebuilds the index, after which every stream reads back whole.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { asStreamName } from '../../src/core/kernel/ids.ts';
import { uncoveredByIndex, type ChunkRow } from '../../src/node/chain-check.ts';
import { repairEventLog, settleStreamVersions } from '../../src/node/repair.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { temporaryDirectory } from '../support/fixtures.ts';
import { appendSeeded } from '../support/logs.ts';

const work = temporaryDirectory('aura-lab-index-position-');
afterAll(() => work.remove());

/** Each stream's positions, in version order. */
function streamPositions(path: string): Map<string, number[]> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT s.name AS stream, e.position FROM events e JOIN streams s USING (stream_id) ORDER BY e.position').all() as { stream: string; position: number }[];
    const out = new Map<string, number[]>();
    for (const row of rows) out.set(row.stream, [...(out.get(row.stream) ?? []), row.position]);
    return out;
  } finally {
    db.close();
  }
}

/** 3,150 events whose writer stopped without closing: the index holds them to its last flush (2,700: every 700 events, at the end of a batch), not to the head. */
function buildLog(name: string): { path: string; indexed: number; streams: Map<string, number[]> } {
  const path = join(work.path, `${name}.sqlite`);
  const store = new SqliteEventStore(path, { streamIndexFlushEvents: 700 });
  appendSeeded(store, 17, 7, 450);
  store.db.close();
  return { path, indexed: Number(meta(path)), streams: streamPositions(path) };
}

function meta(path: string, value?: string): string {
  const db = new Database(path);
  try {
    if (value !== undefined) db.prepare("UPDATE meta SET value = ? WHERE key = 'stream_index_position'").run(value);
    return (db.prepare("SELECT value FROM meta WHERE key = 'stream_index_position'").get() as { value: string }).value;
  } finally {
    db.close();
  }
}

function readEveryStream(path: string, streams: Map<string, number[]>): Map<string, number[]> {
  const store = new SqliteEventStore(path);
  try {
    return new Map([...streams.keys()].map((stream) => [stream, store.readStream(asStreamName(stream), 1, 10_000).map((event) => event.position)]));
  } finally {
    store.close();
  }
}

const indexFindings = (path: string): { position: number | null; detail: string }[] =>
  verifyEventLog(path)
    .problems.filter((problem) => problem.kind === 'stream_index')
    .map(({ position, detail }) => ({ position, detail }));

describe("the stream index's position", () => {
  it.each([
    ['past the last event', '3200', { position: null, detail: 'stream index: says it holds every event to position 3200, past the last one (3150)' }],
    ['not a position', 'abc', { position: null, detail: 'stream index: its position "abc" is not a position' }],
    ['not written as a position', '2700.0', { position: null, detail: 'stream index: its position "2700.0" is not a position' }],
  ])('refuses to open a log whose index position is %s; verification reports it and a repair rebuilds the index', async (_, value, finding) => {
    const { path, indexed, streams } = buildLog(`refused-${value}`);
    expect(indexed).toBe(2_700);
    meta(path, value);
    expect(() => new SqliteEventStore(path)).toThrow(AuraError);
    expect(() => new SqliteEventStore(path, { readonly: true })).toThrow(finding.detail.includes('past') ? /the stream index says it holds every event to position 3200, but the log ends at 3150/ : /the stream index's position \(meta.stream_index_position\) is not a position/);
    expect(indexFindings(path)).toEqual([finding]);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'none'), nowMs: 1 });
    expect(report.lostPositions).toEqual([]);
    expect(verifyEventLog(path).problems).toEqual([]);
    expect(readEveryStream(path, streams)).toEqual(streams);
  });

  it('reports the first event up to the position that no chunk holds, and a repair makes every stream read whole again', async () => {
    const { path, indexed, streams } = buildLog('uncovered');
    // Moved up within the log: the open cannot tell, and the events after the true position vanish from stream reads.
    meta(path, '3150');
    const hidden = readEveryStream(path, streams);
    expect(hidden).not.toEqual(streams);
    expect([...hidden.values()].flat().length).toBe(indexed);
    expect(indexFindings(path)).toEqual([{ position: indexed + 1, detail: expect.stringMatching(new RegExp(`^stream index: position ${indexed + 1} \\(version \\d+ of stream \\d+\\) is in no chunk, though the index says it holds every event to 3150$`)) }]);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'none'), nowMs: 2 });
    expect(report.lostPositions).toEqual([]);
    // Its streams' versions are recorded as of the true position, so verification finds them off too, and the slow path rebuilds the log.
    expect(report.method).toBe('import');
    expect(readEveryStream(path, streams)).toEqual(streams);
    expect(verifyEventLog(path).problems).toEqual([]);
  });

  it('finds the events of a chunk that is gone, and the in-place repair rebuilds the index from the first of them', async () => {
    const path = join(work.path, 'chunk-gone.sqlite');
    const writer = new SqliteEventStore(path, { streamIndexFlushEvents: 700 });
    appendSeeded(writer, 19, 7, 450);
    writer.closeFinished();
    const streams = streamPositions(path);
    const db = new Database(path);
    const gone = db.prepare('SELECT chunk_id, positions FROM stream_chunks ORDER BY chunk_id LIMIT 1 OFFSET 45').get() as { chunk_id: number; positions: Buffer };
    db.prepare('DELETE FROM stream_chunks WHERE chunk_id = ?').run(gone.chunk_id);
    db.close();
    const first = gone.positions.readDoubleLE(0);
    expect(indexFindings(path).map((finding) => finding.position)).toEqual([first]);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'none'), nowMs: 3 });
    expect(report.method).toBe('patch');
    expect(report.lostPositions).toEqual([]);
    expect(Number(meta(path))).toBeLessThan(first);
    expect(readEveryStream(path, streams)).toEqual(streams);
    expect(verifyEventLog(path).problems).toEqual([]);
  });

  it("settles every stream's version as of the index's position from its chunks, or from its last event where a chunk holds a later position", () => {
    const { path, indexed } = buildLog('settled');
    const db = new Database(path);
    try {
      const versions = (upTo: number): Map<number, number> =>
        new Map(db.prepare('SELECT s.stream_id, coalesce((SELECT max(version) FROM events e WHERE e.stream_id = s.stream_id AND e.position <= ?), 0) FROM streams s').raw().all(upTo) as [number, number][]);
      const settled = (): Map<number, number> => {
        db.prepare('UPDATE streams SET version = 999').run();
        settleStreamVersions(db);
        return new Map(db.prepare('SELECT stream_id, version FROM streams').raw().all() as [number, number][]);
      };
      expect(versions(indexed)).not.toEqual(versions(3_150));
      // A log an older build wrote (schema 4 took streams.version as current) becomes schema 5, which means these versions.
      db.prepare("UPDATE meta SET value = '4' WHERE key = 'schema_version'").run();
      expect(settled()).toEqual(versions(indexed));
      expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('5');
      // Chunks up to 2,700 and a position of 1,400: the chunks cannot say what each stream's version was there.
      db.prepare("UPDATE meta SET value = '1400' WHERE key = 'stream_index_position'").run();
      expect(settled()).toEqual(versions(3_150));
    } finally {
      db.close();
    }
  });

  it('holds for chunks as written: duplicates, versions with no event, unaligned positions', () => {
    // Positions 1..5: stream 1 at 1, 3, 5; stream 2 at 2, 4.
    const streamAt = Int32Array.from([-1, 1, 2, 1, 2, 1]);
    const versionAt = Int32Array.from([0, 1, 1, 2, 2, 3]);
    const chunk = (streamId: number, firstVersion: number, positions: number[]): ChunkRow => {
      const blob = Buffer.alloc(positions.length * 8);
      positions.forEach((position, index) => blob.writeDoubleLE(position, index * 8));
      return { stream_id: streamId, first_version: firstVersion, positions: blob };
    };
    const chunks = [chunk(1, 1, [1, 3]), chunk(2, 1, [2, 0, 4]), chunk(1, 1, [1, 3])];
    expect(uncoveredByIndex(chunks, '4', 5, streamAt, versionAt)).toBeUndefined();
    expect(uncoveredByIndex(chunks, '0', 5, streamAt, versionAt)).toBeUndefined();
    expect(uncoveredByIndex(chunks, '5', 5, streamAt, versionAt)?.position).toBe(5);
    expect(uncoveredByIndex(chunks, '6', 5, streamAt, versionAt)?.position).toBeNull();
    for (const bad of ['-1', '2.5', '04', '']) expect(uncoveredByIndex(chunks, bad, 5, streamAt, versionAt)?.detail, bad).toMatch(/is not a position$/);
    // A position nothing was read at (a hole, reported elsewhere) needs no chunk.
    expect(uncoveredByIndex([chunk(1, 1, [1, 3])], '3', 5, Int32Array.from([-1, 1, -1, 1, 2, 1]), versionAt)).toBeUndefined();
  });
});
