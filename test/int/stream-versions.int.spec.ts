/**
 * streams.version is written with the stream index's chunks (stream-index.ts), so after a writer
 * stops without closing it is behind the log. Everything that reads versions must still see the
 * log's: a reopened writer (expected versions), the category counts, verification; and the next
 * clean close makes the column exact again.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { asEventId, asStreamName, type StreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion, type ExpectedVersion } from '../../src/core/ports/event-store.ts';
import { EventLogQueries } from '../../src/node/event-queries.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { verifyEventLogParallel } from '../../src/node/verify-parallel.ts';
import { temporaryDirectory } from '../support/fixtures.ts';
import { appendSeeded } from '../support/logs.ts';

const work = temporaryDirectory('aura-lab-stream-versions-');
afterAll(() => work.remove());

function columnsBehind(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM streams s WHERE s.version <> (SELECT max(version) FROM events e WHERE e.stream_id = s.stream_id)').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const exact = (version: number): ExpectedVersion => ({ kind: 'exact', version });

let next = 0;
function event(): { id: ReturnType<typeof asEventId>; type: string; schemaVersion: number; payload: { n: number }; metadata: { virtualTimeUs: number } } {
  next += 1;
  return { id: asEventId(`ffff${next.toString(16).padStart(28, '0')}`), type: 'Checked', schemaVersion: 1, payload: { n: next }, metadata: { virtualTimeUs: next } };
}

describe('stream versions behind the log', () => {
  it('are the log\'s for a writer reopened after a stop, for category counts and for verification', async () => {
    const path = join(work.path, 'stopped.sqlite');
    const writer = new SqliteEventStore(path, { streamIndexFlushEvents: 300 });
    appendSeeded(writer, 5, 5, 100);
    const names = (writer.db.prepare('SELECT name FROM streams ORDER BY name').all() as { name: string }[]).map((row) => row.name as StreamName);
    const versions = new Map(names.map((name) => [name, writer.streamVersion(name)]));
    // The process dies after its last commit: the connection goes, nothing is flushed.
    writer.db.close();
    expect(columnsBehind(path)).toBeGreaterThan(0);

    const queries = EventLogQueries.open(path);
    expect(queries.categoryCounts()).toEqual([{ name: 'order', count: 500 }]);
    queries.close();
    expect(verifyEventLog(path).problems).toEqual([]);

    const store = new SqliteEventStore(path, { streamIndexFlushEvents: 300 });
    for (const name of names) expect(store.streamVersion(name), name).toBe(versions.get(name));
    const stream = names[0] as StreamName;
    const version = versions.get(stream) as number;
    await expect(store.append(stream, [event()], exact(version - 1))).rejects.toMatchObject({ code: 'concurrency' });
    expect((await store.append(stream, [event()], exact(version))).streamVersion).toBe(version + 1);
    expect(store.appendBatch([{ stream, events: [event()], expected: exact(version + 1) }])[0]?.streamVersion).toBe(version + 2);
    // A batch rolled back whole (a bad event at its end): the writer forgets its cached streams
    // and reloads them, from streams.version and the stream index's pending entries.
    const other = names[1] as StreamName;
    expect(() => store.appendBatch([{ stream: other, events: [event()], expected: anyVersion }, { stream: asStreamName('bad stream name!'), events: [event()], expected: anyVersion }])).toThrow();
    expect(store.streamVersion(other)).toBe(versions.get(other));
    expect(store.streamVersion(stream)).toBe(version + 2);
    await expect(store.append(other, [event()], exact(versions.get(other) as number))).resolves.toMatchObject({ streamVersion: (versions.get(other) as number) + 1 });
    store.close();
    // A clean close writes every stream's version.
    expect(columnsBehind(path)).toBe(0);
    expect(verifyEventLog(path).problems).toEqual([]);
  });

  it('verification of a log whose writer goes on appending and writing its index finds nothing wrong, on one thread and on workers', async () => {
    for (const parallel of [false, true]) {
      const path = join(work.path, `live-${parallel}.sqlite`);
      const writer = new SqliteEventStore(path, { streamIndexFlushEvents: 100 });
      appendSeeded(writer, 3, 2, 500);
      let appended = 0;
      // Mid-verification, the writer appends and flushes its stream index and the streams' versions.
      const onProgress = (): void => {
        if (appended < 3) appendSeeded(writer, 4, 1, 200, 10 + appended++);
      };
      const report = parallel ? await verifyEventLogParallel(path, { sliceEvents: 250, threads: 1, onProgress }) : verifyEventLog(path, onProgress);
      expect(appended, `parallel: ${parallel}`).toBeGreaterThan(0);
      expect(report.problems, `parallel: ${parallel}`).toEqual([]);
      expect(report.headPosition).toBe(1_000);
      writer.close();
    }
  });

  it('reads a schema-4 log as it is, marks it 5 when a writer opens it, and refuses another schema', () => {
    const path = join(work.path, 'schema-4.sqlite');
    const writer = new SqliteEventStore(path);
    appendSeeded(writer, 7, 2, 100);
    writer.close();
    const schema = (): string => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value;
      } finally {
        db.close();
      }
    };
    expect(schema()).toBe('5');
    const setSchema = (value: string): void => {
      const db = new Database(path);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(value);
      db.close();
    };
    setSchema('4');
    const reader = new SqliteEventStore(path, { readonly: true });
    expect(reader.readAll(1, 1_000)).toHaveLength(200);
    reader.close();
    expect(verifyEventLog(path).problems).toEqual([]);
    expect(schema()).toBe('4');
    new SqliteEventStore(path).close();
    expect(schema()).toBe('5');
    setSchema('6');
    expect(() => new SqliteEventStore(path)).toThrow(/schema 6; this AURA Lab reads schemas 4 and 5/);
  });

  it('verification still finds a stream version that is neither the log\'s nor the stream index\'s', () => {
    const path = join(work.path, 'wrong.sqlite');
    const writer = new SqliteEventStore(path, { streamIndexFlushEvents: 300 });
    appendSeeded(writer, 6, 5, 100);
    writer.db.close();
    const db = new Database(path);
    // A stream with events both before and after the stream index's position: its column holds
    // the version as of that position; one more is neither.
    const asOf = Number((db.prepare("SELECT value FROM meta WHERE key = 'stream_index_position'").get() as { value: string }).value);
    const stream = db.prepare('SELECT s.stream_id, s.name, s.version FROM streams s WHERE s.version > 0 AND EXISTS (SELECT 1 FROM events e WHERE e.stream_id = s.stream_id AND e.position > ? AND e.version > s.version + 1) LIMIT 1').get(asOf) as { stream_id: number; name: string; version: number };
    expect(asOf).toBeGreaterThan(0);
    expect(verifyEventLog(path).problems).toEqual([]);
    db.prepare('UPDATE streams SET version = version + 1 WHERE stream_id = ?').run(stream.stream_id);
    db.close();
    expect(verifyEventLog(path).problems.map((problem) => problem.kind)).toEqual(['head']);
  });
});
