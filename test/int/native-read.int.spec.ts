/**
 * Packed reads (aura_event_rows, src/native/aura-chain.c; src/node/native-read.ts) must return
 * exactly the events that rows read through better-sqlite3 give: over seeded logs with unicode,
 * causation and correlation ids, several streams and types, filters, ranges past the head and
 * over holes, upcasters, and rows the store would not have written (read with SQL instead).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../src/core/events/event.ts';
import { UpcasterRegistry } from '../../src/core/events/upcasting.ts';
import { asEventId, asStreamName, type StreamName } from '../../src/core/kernel/ids.ts';
import { createRandom, type Random } from '../../src/core/kernel/random.ts';
import { anyVersion, type ReadFilter, type StreamAppend } from '../../src/core/ports/event-store.ts';
import { EventReader } from '../../src/node/event-reader.ts';
import { nativeChainError } from '../../src/node/native-chain.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { StoredEvent } from '../../src/node/stored-event.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-native-read-');
afterAll(() => work.remove());

const streams = ['order-1', 'order-2', 'debate-a/b', 'x:y@z', 'audit-1'].map(asStreamName);
const texts = ['plain', 'é à ü', '😀 🚀', '\u0000 nul', 'line\nbreak', '"quoted"', '注文', '', '\uFEFFbom', 'x'.repeat(3_000)];
const types = ['OrderPlaced', 'NoteTaken', 'Type.With-Dots_1'];

function newEvent(random: Random, sequence: number): NewEvent {
  return {
    id: asEventId(sequence.toString(16).padStart(16, '0') + random.nextUint32().toString(16).padStart(8, '0') + random.nextUint32().toString(16).padStart(8, '0')),
    type: types[random.int(0, types.length - 1)] as string,
    schemaVersion: random.int(1, 2),
    payload: { sequence, text: texts[random.int(0, texts.length - 1)] as string, half: '\uD83D', amount: random.int(-5, 100_000) / (random.int(0, 1) === 0 ? 1 : 8) },
    metadata: {
      virtualTimeUs: random.int(0, 2) === 0 ? 0 : sequence * 997 + random.int(0, 2 ** 31) * 4096,
      ...(random.int(0, 2) === 0 ? { causationId: asEventId(random.nextUint32().toString(16).padStart(8, '0').repeat(4)) } : {}),
      ...(random.int(0, 2) === 0 ? { correlationId: `corr-${texts[random.int(0, 8)]}` } : {}),
    },
  };
}

function buildLog(path: string, seed: number, count: number): void {
  const random = createRandom(seed);
  const store = new SqliteEventStore(path);
  let sequence = 0;
  while (sequence < count) {
    const appends: StreamAppend[] = [];
    for (let index = 0; index < 200 && sequence < count; index++) {
      const events = Array.from({ length: random.int(1, 3) }, () => newEvent(random, sequence++));
      appends.push({ stream: streams[random.int(0, streams.length - 1)] as StreamName, events, expected: anyVersion });
    }
    store.appendBatch(appends);
  }
  store.close();
}

/** Events as plain values, with their class (both readers make StoredEvents). */
const plain = (events: Iterable<RecordedEvent>): unknown[] => [...events].map((event) => [event.constructor.name, JSON.stringify(event), event.payload]);
/** Events as plain values (fold reads as rows make FoldEvents, whose ids are read when asked for). */
const values = (events: Iterable<RecordedEvent>): unknown[] => [...events].map((event) => [JSON.stringify(event), event.payload]);

const upcasters = (): UpcasterRegistry => new UpcasterRegistry().register({ type: 'NoteTaken', fromVersion: 1, upcast: (payload, event) => ({ upcast: payload, position: event.position }) });

function stores(path: string, withUpcasters: boolean): { packed: SqliteEventStore; rows: SqliteEventStore; close: () => void } {
  const options = { readonly: true, tailCheckEvents: 0, ...(withUpcasters ? { upcasters: upcasters() } : {}) };
  const packed = new SqliteEventStore(path, options);
  const rows = new SqliteEventStore(path, { ...options, nativeReads: false });
  expect(packed.nativeReads, `packed reads are not there: ${nativeChainError()}`).toBe(true);
  expect(rows.nativeReads).toBe(false);
  return { packed, rows, close: () => (packed.close(), rows.close()) };
}

function randomFilter(random: Random): ReadFilter | undefined {
  switch (random.int(0, 4)) {
    case 0:
      return { types: [types[random.int(0, types.length - 1)] as string] };
    case 1:
      return { streams: [streams[random.int(0, streams.length - 1)] as StreamName, asStreamName('no-such-stream')] };
    case 2:
      return { category: ['order', 'debate', 'none'][random.int(0, 2)] as string };
    case 3:
      return { types: ['NoSuchType'] };
    default:
      return undefined;
  }
}

describe('packed reads', () => {
  it('return the events rows through better-sqlite3 give, over seeded logs, filters and ranges (property)', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), (seed, withUpcasters) => {
        run += 1;
        const random = createRandom(seed);
        const path = join(work.path, `log-${seed}-${run}.sqlite`);
        const head = random.int(1, 3_000);
        buildLog(path, seed, head);
        const { packed, rows, close } = stores(path, withUpcasters);
        const packedFold = new EventReader(packed.db, withUpcasters ? upcasters() : undefined);
        const rowsFold = new EventReader(rows.db, withUpcasters ? upcasters() : undefined, undefined, { nativeReads: false });
        try {
          for (let trial = 0; trial < 6; trial++) {
            const from = random.int(0, head + 5);
            const count = [1, 7, 500, 5_000][random.int(0, 3)] as number;
            const filter = randomFilter(random);
            expect(plain(packed.readAll(from, count, filter)), `seed ${seed}: readAll(${from}, ${count}, ${JSON.stringify(filter)})`).toEqual(plain(rows.readAll(from, count, filter)));
            const to = trial === 0 ? Number.MAX_SAFE_INTEGER : random.int(from, head + 10_000);
            expect(plain(packed.readRange(from, to)), `seed ${seed}: readRange(${from}, ${to})`).toEqual(plain(rows.readRange(from, to)));
            // A projection worker's reads: packed, events with their ids; as rows, ids fetched when asked for.
            const foldTo = random.int(from, head + 50);
            const foldPacked = packedFold.readRangeForFoldAll(from, foldTo);
            // (An upcaster may give an event of its own making.)
            expect(foldPacked.every((event) => withUpcasters || event instanceof StoredEvent), `seed ${seed}: fold reads packed`).toBe(true);
            expect(values(foldPacked), `seed ${seed}: readRangeForFoldAll(${from}, ${foldTo})`).toEqual(values(rowsFold.readRangeForFoldAll(from, foldTo)));
            expect(packedFold.readRangeForFoldAll(from, from - 1), `seed ${seed}: an empty range`).toEqual([]);
          }
        } finally {
          close();
        }
      }),
      { numRuns: 12, seed: 20261127 },
    );
  });

  it('read a page with a row the store would not write with SQL instead, and ranges over holes', () => {
    const path = join(work.path, 'unusual.sqlite');
    buildLog(path, 5, 9_000);
    const db = new Database(path);
    // Beyond 2^53: JavaScript cannot hold it exactly; better-sqlite3 rounds it, and so must the packed read.
    db.prepare('UPDATE events SET virtual_time_us = 9007199254740993 WHERE position = 4500').run();
    // An empty causation id and an id of 15 bytes (the store writes 16 for both).
    db.prepare("UPDATE events SET causation_id = x'' WHERE position = 4450").run();
    db.prepare('UPDATE events SET id = substr(id, 1, 15) WHERE position = 4460').run();
    // A hole longer than a page of a range read (4,096).
    db.prepare('DELETE FROM events WHERE position BETWEEN 4600 AND 8900').run();
    // Rowids near and past 2^53 (a flipped bit can make one): only LIMIT reaches those past it.
    const copyRow = db.prepare('INSERT INTO events SELECT ?, stream_id, version, randomblob(16), type_id, schema_version, payload, virtual_time_us, causation_id, correlation_id, hash FROM events WHERE position = ?');
    copyRow.run(BigInt(Number.MAX_SAFE_INTEGER) - 2n, 5);
    copyRow.run(2n ** 53n + 100n, 6);
    db.close();
    const { packed, rows, close } = stores(path, false);
    try {
      const page = packed.readAll(4_400, 200);
      expect(page.find((event) => event.position === 4_500)?.metadata.virtualTimeUs).toBe(9007199254740992);
      expect(plain(page)).toEqual(plain(rows.readAll(4_400, 200)));
      for (const position of [4_450, 4_460]) expect(plain(packed.readAll(position, 1)), `position ${position} alone`).toEqual(plain(rows.readAll(position, 1)));
      const across = [...packed.readRange(4_000, 8_950)];
      expect(across.map((event) => event.position).filter((position) => position >= 4_599 && position <= 8_901)).toEqual([4_599, 8_901]);
      expect(plain(across)).toEqual(plain(rows.readRange(4_000, 8_950)));
      // From inside the hole: the first page is empty, the range goes on after it.
      expect([...packed.readRange(4_700, 8_950)].map((event) => event.position)).toEqual(Array.from({ length: 50 }, (_, index) => 8_901 + index));
      expect(plain(packed.readRange(4_600, 8_900))).toEqual([]);
      // readAll reads a range of positions where the log has no hole: across one, from inside it, up to it and at the end.
      const near = Number.MAX_SAFE_INTEGER;
      for (const [from, count] of [[4_500, 200], [4_700, 100], [4_590, 10], [4_590, 11], [1, 9_000], [8_990, 50], [near - 5, 10], [near - 2, 1], [near, 5]] as const) {
        expect(plain(packed.readAll(from, count)), `readAll(${from}, ${count})`).toEqual(plain(rows.readAll(from, count)));
      }
      expect(packed.readAll(4_500, 200).map((event) => event.position).slice(98, 102)).toEqual([4_598, 4_599, 8_901, 8_902]);
      expect(packed.readAll(near - 5, 10)).toHaveLength(2);
    } finally {
      close();
    }
  });

  it('read a log whose database keeps its texts in UTF-16 as rows read it', () => {
    for (const encoding of ['UTF-16le', 'UTF-16be']) {
      const path = join(work.path, `${encoding}.sqlite`);
      // A database's encoding is fixed when its first table is made.
      const made = new Database(path);
      made.pragma(`encoding = '${encoding}'`);
      made.exec('CREATE TABLE fixing_the_encoding (a); DROP TABLE fixing_the_encoding');
      made.close();
      buildLog(path, 13, 600);
      const { packed, rows, close } = stores(path, false);
      try {
        expect(packed.db.pragma('encoding', { simple: true })).toBe(encoding);
        expect(plain(packed.readAll(1, 700)), encoding).toEqual(plain(rows.readAll(1, 700)));
        expect(plain(packed.readRange(17, 450)), encoding).toEqual(plain(rows.readRange(17, 450)));
      } finally {
        close();
      }
      expect(verifyEventLog(path)).toMatchObject({ ok: true, chainCheck: 'native' });
    }
  });

  it('read a page SQLite scans out of position order with SQL instead', () => {
    const path = join(work.path, 'reversed.sqlite');
    buildLog(path, 9, 2_000);
    const { packed, rows, close } = stores(path, false);
    try {
      // The packing statements read the table without ORDER BY; this pragma makes SQLite scan it backwards.
      packed.db.pragma('reverse_unordered_selects = ON');
      const page = packed.readAll(10, 300);
      expect(page.map((event) => event.position).slice(0, 3)).toEqual([10, 11, 12]);
      expect(plain(page)).toEqual(plain(rows.readAll(10, 300)));
      expect(plain(packed.readRange(1_500, 2_100))).toEqual(plain(rows.readRange(1_500, 2_100)));
    } finally {
      close();
    }
  });
});
