import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { asStreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { EventReader } from '../../src/node/event-reader.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import type { RecordedEvent } from '../../src/core/events/event.ts';
import { eventStoreContract, newEvent } from '../contract/event-store.contract.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

eventStoreContract('SQLite', (options) => {
  const dir = temporaryDirectory();
  const store = new SqliteEventStore(join(dir.path, 'events.sqlite'), options?.upcasters === undefined ? {} : { upcasters: options.upcasters });
  return {
    store,
    close: () => {
      store.close();
      dir.remove();
    },
  };
});

describe('SQLite event store', () => {
  it('a batch rolled back by bad input mid-way leaves the head hash as it was, and the chain after it verifies', () => {
    const dir = temporaryDirectory();
    try {
      const path = join(dir.path, 'events.sqlite');
      const store = new SqliteEventStore(path);
      store.appendBatch([{ stream: asStreamName('a'), events: [newEvent()], expected: anyVersion }]);
      const hash = store.headHash();
      expect(() =>
        store.appendBatch([
          { stream: asStreamName('a'), events: [newEvent(), newEvent('Fresh')], expected: anyVersion },
          { stream: asStreamName('b'), events: [newEvent('X', { x: Number.POSITIVE_INFINITY })], expected: anyVersion },
        ]),
      ).toThrow(/not JSON/);
      expect(store.headHash()).toBe(hash);
      store.appendBatch([{ stream: asStreamName('a'), events: [newEvent('Fresh')], expected: { kind: 'exact', version: 1 } }]);
      store.close();
      const report = verifyEventLog(path);
      expect(report.problems).toEqual([]);
      expect(report.events).toBe(2);
    } finally {
      dir.remove();
    }
  });

  it('keeps the log and its hash chain across close and reopen', () => {
    const dir = temporaryDirectory();
    try {
      const path = join(dir.path, 'events.sqlite');
      const store = new SqliteEventStore(path);
      store.appendBatch([{ stream: asStreamName('a'), events: [newEvent(), newEvent()], expected: anyVersion }]);
      const hash = store.headHash();
      store.close();
      const reopened = new SqliteEventStore(path);
      expect(reopened.headPosition()).toBe(2);
      expect(reopened.headHash()).toBe(hash);
      reopened.appendBatch([{ stream: asStreamName('a'), events: [newEvent()], expected: { kind: 'exact', version: 2 } }]);
      expect(reopened.headHash()).not.toBe(hash);
      reopened.close();
    } finally {
      dir.remove();
    }
  });

  it('uses WAL with synchronous NORMAL by default', () => {
    const dir = temporaryDirectory();
    try {
      const store = new SqliteEventStore(join(dir.path, 'events.sqlite'));
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
      store.close();
    } finally {
      dir.remove();
    }
  });

  it('refuses an event over the size limit and a payload that is not JSON, leaving the log unchanged', () => {
    const dir = temporaryDirectory();
    try {
      const store = new SqliteEventStore(join(dir.path, 'events.sqlite'));
      store.appendBatch([{ stream: asStreamName('a'), events: [newEvent()], expected: anyVersion }]);
      expect(() => store.appendBatch([{ stream: asStreamName('a'), events: [newEvent('Big', { blob: 'x'.repeat(70_000) })], expected: anyVersion }])).toThrow(/the limit is 65536/);
      const notJson = { ...newEvent(), payload: undefined as unknown as null };
      expect(() => store.appendBatch([{ stream: asStreamName('b'), events: [notJson], expected: anyVersion }])).toThrow(/payload is not JSON/);
      expect(store.count()).toBe(1);
      expect(new Database(join(dir.path, 'events.sqlite'), { readonly: true }).prepare('SELECT COUNT(*) AS n FROM streams').get()).toEqual({ n: 1 });
      store.close();
    } finally {
      dir.remove();
    }
  });
});

describe('online backups', () => {
  it('copy a consistent snapshot from another thread while the writer keeps appending', async () => {
    const dir = temporaryDirectory();
    const store = new SqliteEventStore(join(dir.path, 'events.sqlite'), { backgroundCheckpoints: true });
    try {
      for (let batch = 0; batch < 40; batch++) store.appendBatch([{ stream: asStreamName(`s-${batch % 7}`), events: Array.from({ length: 500 }, () => newEvent('Filler', { text: 'x'.repeat(200) })), expected: anyVersion }]);
      const before = store.headPosition();
      let appendedDuring = 0;
      let copying = true;
      const backup = store.backup(join(dir.path, 'backup.sqlite')).finally(() => (copying = false));
      // The writer is not held: it appends while the copy runs on the worker's connection.
      while (copying) {
        store.appendBatch([{ stream: asStreamName('during'), events: [newEvent('During')], expected: anyVersion }]);
        appendedDuring += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await backup;
      expect(appendedDuring).toBeGreaterThan(0);
      const report = verifyEventLog(join(dir.path, 'backup.sqlite'));
      expect(report.ok).toBe(true);
      // A snapshot taken when the copy started: at least what was there, at most what is there now.
      expect(report.headPosition).toBeGreaterThanOrEqual(before);
      expect(report.headPosition).toBeLessThanOrEqual(store.headPosition());
    } finally {
      store.close();
      dir.remove();
    }
  });
});

describe('reads for folds', () => {
  it('yield the same events as full reads, ids fetched on demand, causation and correlation included', () => {
    const dir = temporaryDirectory();
    const store = new SqliteEventStore(join(dir.path, 'events.sqlite'));
    try {
      const first = newEvent('Started', { n: 1 });
      store.appendBatch([
        { stream: asStreamName('a'), events: [first, newEvent('Moved', { to: 'x' }, { causationId: first.id, correlationId: 'flow-1' })], expected: anyVersion },
        { stream: asStreamName('b'), events: [newEvent('Moved', { to: 'y' }), newEvent('Stopped', null)], expected: anyVersion },
      ]);
      const reader = new EventReader(store.db);
      const plain = (events: Iterable<RecordedEvent>) => [...events].map((event) => JSON.parse(JSON.stringify(event)) as unknown);
      expect(plain(reader.readRangeForFold(1, 4))).toEqual(plain(reader.readRange(1, 4)));
      expect(plain(reader.readRangeForFold(2, 3))).toEqual(plain(reader.readRange(2, 3)));
      expect([...reader.readRangeForFold(5, 9)]).toEqual([]);
      expect(plain(reader.readRangeForFoldAll(1, 4))).toEqual(plain(reader.readRange(1, 4)));
      expect(reader.readRangeForFoldAll(5, 9)).toEqual([]);
    } finally {
      store.close();
      dir.remove();
    }
  });
});

describe('stream index', () => {
  it('reads streams the same before and after flushes, reopening, and a crash before a flush (property)', async () => {
    const fc = (await import('fast-check')).default;
    const { MemoryEventStore } = await import('../../src/core/testing/memory-event-store.ts');
    const { seededBatch } = await import('../support/logs.ts');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 3, max: 40 }), fc.integer({ min: 2, max: 8 }), async (seed, flushEvents, batches) => {
        const dir = temporaryDirectory();
        try {
          const path = join(dir.path, 'events.sqlite');
          const reference = new MemoryEventStore();
          let store = new SqliteEventStore(path, { streamIndexFlushEvents: flushEvents });
          for (let batch = 0; batch < batches; batch++) {
            const appends = seededBatch(seed, batch, 7, 5);
            store.appendBatch(appends);
            reference.appendBatch(appends);
            if (batch === Math.floor(batches / 2)) {
              // A crash: the connection goes away without flushing the pending stream index.
              store.db.close();
              store = new SqliteEventStore(path, { streamIndexFlushEvents: flushEvents });
            }
          }
          const read = (source: { readStream: SqliteEventStore['readStream'] }, stream: string, from: number, count: number, direction: 'forward' | 'backward') =>
            source.readStream(asStreamName(stream), from, count, direction).map((event) => [event.position, event.version, event.id]);
          const check = (source: SqliteEventStore) => {
            for (let stream = 0; stream < 5; stream++) {
              const name = `order-${stream}`;
              const version = reference.streamVersion(asStreamName(name));
              expect(source.streamVersion(asStreamName(name))).toBe(version);
              for (const [from, count] of [[1, 1000], [2, 3], [Math.max(1, version - 2), 10]] as const) {
                expect(read(source, name, from, count, 'forward')).toEqual(read(reference, name, from, count, 'forward'));
              }
              for (const [from, count] of [[Number.MAX_SAFE_INTEGER, 1000], [version, 4], [3, 2]] as const) {
                expect(read(source, name, from, count, 'backward')).toEqual(read(reference, name, from, count, 'backward'));
              }
            }
          };
          check(store);
          store.close();
          const reopened = new SqliteEventStore(path, { streamIndexFlushEvents: flushEvents });
          check(reopened);
          reopened.close();
        } finally {
          dir.remove();
        }
      }),
      { numRuns: 25 },
    );
  });
});
