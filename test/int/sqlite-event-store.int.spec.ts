import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { asStreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
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
