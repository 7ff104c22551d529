/**
 * The native chain check (src/native/aura-verify.c, loaded into SQLite) must report exactly
 * what the JavaScript check reports: over seeded logs with unicode payloads, with
 * and without causation and correlation ids, damaged in every way a row can be (content, hash,
 * holes, missing names, versions, tombstones), and over any range with any previous hash.
 */
import { closeSync, copyFileSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { genesisHashHex } from '../../src/core/events/encoding.ts';
import { lostEventType, type NewEvent } from '../../src/core/events/event.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom, type Random } from '../../src/core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../../src/core/ports/event-store.ts';
import { checkRange } from '../../src/node/chain-check.ts';
import { EventReader } from '../../src/node/event-reader.ts';
import { nativeChainError, nativeChainRows, useNativeChain } from '../../src/node/native-chain.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { verifyEventLogParallel } from '../../src/node/verify-parallel.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-native-chain-');
afterAll(() => work.remove());

const streamNames = ['order-1', 'order-2', 'debate-a/b', 'x:y@z', '$system', 'a+b=c'];
const texts = ['plain', 'é à ü', '😀 🚀', '\u0000 nul', 'line\nbreak', '"quoted"', '注文', ''];

function event(random: Random, sequence: number): NewEvent {
  const metadata: NewEvent['metadata'] = { virtualTimeUs: sequence * 997 };
  const withCausation = random.int(0, 2) === 0;
  const withCorrelation = random.int(0, 2) === 0;
  return {
    id: asEventId(sequence.toString(16).padStart(16, '0') + random.nextUint32().toString(16).padStart(8, '0') + random.nextUint32().toString(16).padStart(8, '0')),
    type: random.int(0, 3) === 0 ? 'NoteTaken' : 'OrderPlaced',
    schemaVersion: random.int(1, 3),
    payload: { sequence, text: texts[random.int(0, texts.length - 1)] as string, amount: random.int(-5, 100_000), nested: { ok: random.int(0, 1) === 1, list: [1, 'two', null] } },
    metadata: {
      ...metadata,
      ...(withCausation ? { causationId: asEventId(random.nextUint32().toString(16).padStart(8, '0').repeat(4)) } : {}),
      ...(withCorrelation ? { correlationId: `corr-${texts[random.int(0, texts.length - 1)]}` } : {}),
    },
  };
}

function buildLog(path: string, seed: number, count: number): void {
  const random = createRandom(seed);
  const store = new SqliteEventStore(path);
  const appends: StreamAppend[] = [];
  for (let sequence = 0; sequence < count; sequence++) {
    appends.push({ stream: asStreamName(streamNames[random.int(0, streamNames.length - 1)] as string), events: [event(random, sequence)], expected: anyVersion });
  }
  store.appendBatch(appends);
  store.close();
}

/** Damage of one kind at a random position, through SQL on the file itself. */
function damage(db: Database.Database, random: Random, head: number): string {
  const position = random.int(1, head);
  const kinds = [
    () => db.prepare(`UPDATE events SET payload = '{"changed":true}' WHERE position = ?`).run(position),
    () => db.prepare('UPDATE events SET hash = randomblob(32) WHERE position = ?').run(position),
    () => db.prepare('UPDATE events SET hash = randomblob(31) WHERE position = ?').run(position),
    () => db.prepare('DELETE FROM events WHERE position = ?').run(position),
    () => db.prepare('DELETE FROM events WHERE position BETWEEN ? AND ?').run(position, position + random.int(1, 700)),
    () => db.prepare('DELETE FROM streams WHERE stream_id = (SELECT stream_id FROM events WHERE position = ?)').run(position),
    () => db.prepare('UPDATE events SET type_id = 999 WHERE position = ?').run(position),
    () => db.prepare('UPDATE events SET version = version + 1 WHERE position = ?').run(position),
    () => db.prepare('UPDATE events SET id = randomblob(16) WHERE position = ?').run(position),
    () => db.prepare('UPDATE events SET causation_id = CASE WHEN causation_id IS NULL THEN randomblob(16) ELSE NULL END WHERE position = ?').run(position),
    () => db.prepare(`UPDATE events SET correlation_id = CASE WHEN correlation_id IS NULL THEN 'x' ELSE NULL END WHERE position = ?`).run(position),
    () => db.prepare('UPDATE events SET virtual_time_us = virtual_time_us + 1 WHERE position = ?').run(position),
    () => db.prepare(`UPDATE streams SET name = name || '-été😀' WHERE stream_id = (SELECT stream_id FROM events WHERE position = ?)`).run(position),
    () => {
      db.prepare('INSERT OR IGNORE INTO event_types (name) VALUES (?)').run(lostEventType);
      db.prepare('UPDATE events SET type_id = (SELECT type_id FROM event_types WHERE name = ?) WHERE position = ?').run(lostEventType, position);
    },
    () => db.prepare('UPDATE events SET payload = (SELECT payload FROM events WHERE position = ?) WHERE position = ?').run(Math.max(1, position - 1), position),
  ];
  const kind = random.int(0, kinds.length - 1);
  kinds[kind]?.();
  return `damage ${kind} at ${position}`;
}

function readers(path: string): { native: EventReader; script: EventReader; close: () => void } {
  const nativeDb = new Database(path, { readonly: true });
  const scriptDb = new Database(path, { readonly: true });
  expect(useNativeChain(nativeDb), `the native chain check did not load: ${nativeChainError()}`).toBe(true);
  return {
    native: new EventReader(nativeDb),
    script: new EventReader(scriptDb),
    close: () => {
      nativeDb.close();
      scriptDb.close();
    },
  };
}

describe('native chain check', () => {
  it('is built and loads (npm run build: scripts/build-native.mjs)', () => {
    const path = join(work.path, 'loads.sqlite');
    buildLog(path, 1, 10);
    const db = new Database(path, { readonly: true });
    try {
      expect(useNativeChain(db), nativeChainError()).toBe(true);
      const rows = nativeChainRows(db)?.(1, Buffer.from(genesisHashHex, 'hex'), 1, 10);
      // Every intact row is checked natively (flag 1), in position order.
      expect(rows?.count).toBe(10);
      expect(Array.from({ length: 10 }, (_, index) => [rows?.positions[index * 3], rows?.ints[index * 6 + 5]])).toEqual(Array.from({ length: 10 }, (_, index) => [index + 1, 1]));
    } finally {
      db.close();
    }
  });

  it('reports exactly what the JavaScript check reports, over seeded damaged logs and any range (property)', () => {
    let run = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 4 }), (seed, damages) => {
        run += 1;
        const random = createRandom(seed);
        const original = join(work.path, `log-${seed}.sqlite`);
        const head = random.int(50, 9_000);
        buildLog(original, seed, head);
        const path = join(work.path, `damaged-${seed}-${run}.sqlite`);
        copyFileSync(original, path);
        const writer = new Database(path);
        const done: string[] = [];
        for (let index = 0; index < damages; index++) done.push(damage(writer, random, head));
        writer.close();
        const { native, script, close } = readers(path);
        try {
          for (let trial = 0; trial < 4; trial++) {
            const from = random.int(1, head);
            const to = trial === 0 ? Number.MAX_SAFE_INTEGER : random.int(from, head + 10);
            const stored = script.db.prepare('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?').get(from - 1) as { hash: string } | undefined;
            const previous = [from === 1 ? genesisHashHex : (stored?.hash ?? ''), '', 'f'.repeat(64), 'not hex'][random.int(0, 3)] as string;
            const expected = checkRange(script, from, to, previous);
            const actual = checkRange(native, from, to, previous);
            expect(actual, `${done.join(', ')}; range ${from}..${to}, previous ${previous.slice(0, 8)}`).toEqual(expected);
          }
        } finally {
          close();
        }
      }),
      { numRuns: 30 },
    );
  });

  it('gives the same verification report with and without it, on one thread and on workers', async () => {
    const path = join(work.path, 'report.sqlite');
    buildLog(path, 7, 5_000);
    const writer = new Database(path);
    writer.prepare(`UPDATE events SET payload = '{}' WHERE position = 1234`).run();
    writer.prepare('DELETE FROM events WHERE position BETWEEN 3000 AND 3010').run();
    writer.close();
    const strip = (report: { wallMs: number }): unknown => ({ ...report, wallMs: 0 });
    const script = verifyEventLog(path, undefined, { native: false });
    expect(script.ok).toBe(false);
    expect(script.problems.map((problem) => `${problem.kind}@${problem.position}`)).toEqual(expect.arrayContaining(['chain@1234', 'missing_position@3000']));
    expect(strip(verifyEventLog(path))).toEqual(strip(script));
    expect(strip(await verifyEventLogParallel(path, { threads: 2, sliceEvents: 700 }))).toEqual(strip(script));
    expect(strip(await verifyEventLogParallel(path, { threads: 2, sliceEvents: 700, native: false }))).toEqual(strip(script));
  });

  it('gives the same report on files with flipped bytes and cut short (pages SQLite cannot read)', () => {
    const original = join(work.path, 'pages.sqlite');
    buildLog(original, 11, 6_000);
    const size = statSync(original).size;
    const random = createRandom(11);
    let unreadable = 0;
    for (let trial = 0; trial < 12; trial++) {
      const path = join(work.path, `pages-${trial}.sqlite`);
      copyFileSync(original, path);
      if (trial % 3 === 2) truncateSync(path, random.int(Math.floor(size / 4), size - 1));
      else {
        const fd = openSync(path, 'r+');
        for (let flip = 0; flip < 1 + trial; flip++) writeSync(fd, Buffer.from([random.int(0, 255), random.int(0, 255), random.int(0, 255)]), 0, 3, random.int(16_384, size - 3));
        closeSync(fd);
      }
      const strip = (report: { wallMs: number }): unknown => ({ ...report, wallMs: 0 });
      const script = verifyEventLog(path, undefined, { native: false });
      if (script.problems.some((problem) => problem.kind === 'unreadable')) unreadable += 1;
      expect(strip(verifyEventLog(path)), `trial ${trial}`).toEqual(strip(script));
    }
    // The trials reach pages SQLite cannot read, not only rows whose content changed.
    expect(unreadable).toBeGreaterThan(0);
  });
});
