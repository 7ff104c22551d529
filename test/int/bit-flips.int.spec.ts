/**
 * Bit rot: an event one of whose bits flipped comes back exactly, found by its stored hash
 * (bit-flips.ts), on each repair path; two flipped bits are a loss, reported.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { hexFlips, integerFlips } from '../../src/node/bit-flips.ts';
import { repairEventLog } from '../../src/node/repair.ts';
import { runFiles } from '../../src/node/run-files.ts';
import { logReadable } from '../../src/node/schema-mending.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { runCli } from '../support/cli.ts';
import { temporaryDirectory } from '../support/fixtures.ts';
import { flipTrialRun, writeFlipBase } from '../support/flip-trials.ts';
import { appendSeeded } from '../support/logs.ts';

const work = temporaryDirectory('aura-lab-bit-flips-');
afterAll(() => work.remove());

/** Every column of every row, as stored (texts as bytes). */
function dump(path: string): Map<number, Record<string, unknown>> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare('SELECT e.position, s.name AS stream, e.version, hex(e.id) AS id, t.name AS type, e.schema_version, hex(CAST(e.payload AS BLOB)) AS payload, e.virtual_time_us, hex(e.causation_id) AS causation, hex(CAST(e.correlation_id AS BLOB)) AS correlation, hex(e.hash) AS hash FROM events e JOIN streams s USING (stream_id) JOIN event_types t USING (type_id) ORDER BY position')
      .all() as Record<string, unknown>[];
    return new Map(rows.map((row) => [row.position as number, row]));
  } finally {
    db.close();
  }
}

/** 2,000 seeded events, then `victim` (position 2,001) with causation and correlation ids and a payload with non-ASCII text, then 1,000 more. */
function buildLog(name: string): { path: string; victim: number } {
  const path = join(work.path, `${name}.sqlite`);
  const store = new SqliteEventStore(path);
  appendSeeded(store, 5, 4, 500);
  store.appendBatch([
    {
      stream: asStreamName('order-7'),
      expected: anyVersion,
      events: [{ id: asEventId('ab'.repeat(16)), type: 'OrderNoted', schemaVersion: 2, payload: { note: 'Grüße, 東京', amount: 1234 }, metadata: { virtualTimeUs: 2_000_500, causationId: asEventId('cd'.repeat(16)), correlationId: 'session-42' } }],
    },
  ]);
  appendSeeded(store, 5, 2, 500, 4);
  store.closeFinished();
  return { path, victim: 2_001 };
}

/** A log of buildLog's with one byte flipped by `mask` where `at` finds it: its path, its events before, and the damaged file's bytes. */
function flippedLog(name: string, at: (file: Buffer) => number, mask: number): { path: string; pristine: ReturnType<typeof dump>; file: Buffer } {
  const { path } = buildLog(name);
  const pristine = dump(path);
  const file = readFileSync(path);
  const offset = at(file);
  file[offset] = (file[offset] as number) ^ mask;
  writeFileSync(path, file);
  return { path, pristine, file };
}

/** The stored bytes of a text column, with bits flipped. */
function flippedText(db: Database.Database, column: string, position: number, flips: readonly [number, number][]): Buffer {
  const bytes = Buffer.from(db.prepare(`SELECT CAST(${column} AS BLOB) FROM events WHERE position = ?`).pluck().get(position) as Buffer);
  for (const [at, bit] of flips) bytes[at] = (bytes[at] as number) ^ (1 << bit);
  return bytes;
}

const flips: [string, (db: Database.Database, position: number) => void][] = [
  ['a bit of an ASCII payload byte', (db, position) => db.prepare('UPDATE events SET payload = CAST(? AS TEXT) WHERE position = ?').run(flippedText(db, 'payload', position, [[3, 1]]), position)],
  // The top bit of an ASCII byte: the bytes are no longer UTF-8 (read as a string, U+FFFD).
  ['the top bit of a payload byte', (db, position) => db.prepare('UPDATE events SET payload = CAST(? AS TEXT) WHERE position = ?').run(flippedText(db, 'payload', position, [[5, 7]]), position)],
  ['a bit of a multi-byte character of the payload', (db, position) => db.prepare('UPDATE events SET payload = CAST(? AS TEXT) WHERE position = ?').run(flippedText(db, 'payload', position, [[12, 4]]), position)],
  ['a bit of the id', (db, position) => db.prepare('UPDATE events SET id = unhex(?) WHERE position = ?').run([...hexFlips('ab'.repeat(16))][77], position)],
  ['a bit of the causation id', (db, position) => db.prepare('UPDATE events SET causation_id = unhex(?) WHERE position = ?').run([...hexFlips('cd'.repeat(16))][3], position)],
  ['a bit of the correlation id', (db, position) => db.prepare('UPDATE events SET correlation_id = CAST(? AS TEXT) WHERE position = ?').run(flippedText(db, 'correlation_id', position, [[8, 2]]), position)],
  ['a bit of the virtual time', (db, position) => db.prepare('UPDATE events SET virtual_time_us = ? WHERE position = ?').run(2_000_500 ^ (1 << 19), position)],
  ['the sign bit of the virtual time as stored (4 bytes)', (db, position) => db.prepare('UPDATE events SET virtual_time_us = ? WHERE position = ?').run(2_000_500 - 2 ** 31, position)],
  ['a bit of the schema version', (db, position) => db.prepare('UPDATE events SET schema_version = 3 WHERE position = ?').run(position)],
];

describe('bit rot', () => {
  it.each(flips)('puts back an event when %s flipped: exactly, on each path', async (what, flip) => {
    for (const method of ['patch', 'copy', 'import'] as const) {
      const { path, victim } = buildLog(`${what.replace(/\W/g, '')}-${method}`);
      const pristine = dump(path);
      const db = new Database(path);
      flip(db, victim);
      // A hole elsewhere sends the repair down the slow path (that position and the next are lost).
      if (method === 'import') db.prepare('DELETE FROM events WHERE position = 300').run();
      db.close();
      // A WAL file beside it (SQLite ignores one of zeros) keeps the in-place patch off.
      if (method === 'copy') writeFileSync(`${path}-wal`, Buffer.alloc(100));
      expect(dump(path).get(victim), what).not.toEqual(pristine.get(victim));
      expect(verifyEventLog(path).problems.map((problem) => `${problem.kind}@${problem.position}`)).toContain(`chain@${victim}`);
      const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 1 });
      expect([report.method, report.lostPositions], `${what}, ${method}`).toEqual([method, method === 'import' ? [300, 301] : []]);
      expect(dump(path).get(victim), `${what}, ${method}`).toEqual(pristine.get(victim));
      expect(verifyEventLog(path).problems.filter((problem) => problem.kind !== 'lost')).toEqual([]);
    }
  });

  it('reports an event with two flipped bits lost: one bit is all a hash search tries', async () => {
    const { path, victim } = buildLog('two-bits');
    const db = new Database(path);
    db.prepare('UPDATE events SET payload = CAST(? AS TEXT) WHERE position = ?').run(flippedText(db, 'payload', victim, [[3, 1], [9, 0]]), victim);
    db.close();
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 2 });
    expect(report.lostPositions).toEqual([victim]);
    expect(dump(path).get(victim)?.type).toBe('$EventLost');
  });

  it('searches within a budget: past it, a damaged file costs no more work, and what the search did not reach is reported lost', async () => {
    // 400 events with the last bit they could have flipped flipped (8 hashes per payload byte
    // each, more than the repair's 400,000 searches in all): the first ones come back exactly,
    // every one after the budget ran out is a loss, reported; no other event changes.
    const path = join(work.path, 'budget.sqlite');
    const store = new SqliteEventStore(path);
    appendSeeded(store, 9, 4, 500);
    store.closeFinished();
    const pristine = dump(path);
    const victims = Array.from({ length: 400 }, (_, index) => 1 + index * 5);
    const db = new Database(path);
    for (const position of victims) {
      const length = (db.prepare('SELECT length(CAST(payload AS BLOB)) FROM events WHERE position = ?').pluck().get(position) as number) - 1;
      db.prepare('UPDATE events SET payload = CAST(? AS TEXT) WHERE position = ?').run(flippedText(db, 'payload', position, [[length, 7]]), position);
    }
    db.close();
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 3 });
    const reached = victims.length - report.lostPositions.length;
    expect(reached, 'victims put back before the budget ran out').toBeGreaterThan(0);
    expect(report.lostPositions.length, 'victims left to the budget').toBeGreaterThan(0);
    expect(report.lostPositions).toEqual(victims.slice(reached));
    const repaired = dump(path);
    for (const [position, row] of pristine) {
      if (report.lostPositions.includes(position)) expect(repaired.get(position)?.type, `position ${position}`).toBe('$EventLost');
      else expect(repaired.get(position), `position ${position}`).toEqual(row);
    }
    expect(verifyEventLog(path).problems.filter((problem) => problem.kind !== 'lost')).toEqual([]);
  });

  it('flips integers as SQLite stores them: each bit of each width the value fits, two\'s complement', () => {
    expect(integerFlips(0)).toEqual(expect.arrayContaining([1, 64, -128, -32_768, -(2 ** 23), -(2 ** 31), -(2 ** 47), 2 ** 52]));
    expect(integerFlips(0)).not.toContain(2 ** 53); // not a safe integer
    expect(integerFlips(1)).toContain(0);
    expect(integerFlips(1)).toContain(3);
    expect(integerFlips(5)).toContain(-123); // 1 byte: 0x05 ^ 0x80 = 0x85
    expect(integerFlips(5)).toContain(5 + 2 ** 15 - 2 ** 16); // 2 bytes: sign bit
    expect(integerFlips(200)).not.toContain(200 ^ 0x80 ^ 0x100); // two bits: never
    expect(integerFlips(-1)).toContain(-2);
    expect(integerFlips(2 ** 60)).toEqual([]);
  });
});

/**
 * Byte-flip trials of `npm run bench -- chaos` (the same log, the same seeded flips) whose
 * damage SQLite cannot read past: each once lost events that the file's pages still held.
 */
describe('rows read from the pages', () => {
  const base = join(work.path, 'flip-base');
  beforeAll(() => writeFlipBase(base));

  it.each([
    [17, 'a row SQLite calls malformed (a bit of its cell header)', 'unreadable', 'import'],
    [50, 'a cell pointer with a bit flipped: SQLite reads no further, 1,210 events', 'stream_index', 'import'],
    [163, 'a row whose rowid had a bit flipped (it moved to another position)', 'missing_position', 'import'],
    [43, "the top bit of a cell's length: its varint shortened, the cell read at rowid 6 (3,041 and 3,042 were lost)", 'unreadable', 'import'],
    [72, "a stream's name with a bit flipped in its row, not in its index (52 events failed their link)", 'chain', 'patch'],
    [164, "a bit of the schema's SQL text: the file could not be opened at all (2,000 events after the backup)", 'integrity', 'patch'],
    [566, "a bit of an index's schema cell length (an index SQLite makes, with no SQL): the file could not be opened at all", 'integrity', 'patch'],
    [576, "a bit of the events table's schema cell length: the file could not be opened at all", 'integrity', 'patch'],
    [1335, "a bit of the events table's SQL that renames a column: the file opens, and every read of an event fails", 'integrity', 'patch'],
    [493, "bits of a row's record header: SQLite reads other values (a payload of 5 bytes), the cell with the bit flipped back is the event", 'chain', 'patch'],
    [530, "a bit of a row's record header: its correlation id read as a BLOB, its hash as NULL", 'chain', 'patch'],
    [1762, "a payload's serial type: stored as a BLOB, which the table refuses to take back as it is", 'integrity', 'import'],
    [853, "a bit of an index's table name in its schema row (and five more): a malformed schema, the file could not be opened at all", 'integrity', 'patch'],
    [1145, "a cell pointer of the streams table (and three more bits): two streams' rows out of order, not found by id, their names read from the names' index (84 events)", 'integrity', 'import'],
    [4219, "a bit of the streams' name index (and four more): looking the tombstones' stream up by name failed, and verification threw instead of reporting", 'chain', 'import'],
    [4196, "a bit of a schema cell pointer on page 1 (and four more): the file could not be opened at all (2,000 events after the backup)", 'integrity', 'patch'],
    [1772, "a bit of the file header's magic string (and two rows): SQLite called the file not a database (2,000 events after the backup)", 'integrity', 'patch'],
  ])('brings back every event in byte-flip trial %s: %s', async (seed, _, finding, method) => {
    const run = join(work.path, `trial-${seed}`);
    flipTrialRun(base, run, seed);
    const diagnosis = verifyEventLog(runFiles.eventLog(run));
    expect(diagnosis.problems.map((problem) => problem.kind)).toContain(finding);
    const report = await repairEventLog(runFiles.eventLog(run), { backupsDir: runFiles.backups(run), headRecordPath: runFiles.headRecord(run), nowMs: seed, diagnosis });
    expect([report.method, report.lostPositions]).toEqual([method, []]);
    expect(dump(runFiles.eventLog(run))).toEqual(dump(runFiles.eventLog(base)));
    expect(verifyEventLog(runFiles.eventLog(run)).ok).toBe(true);
  });

  it('says in the CLI what it put right in the file header', async () => {
    const run = join(work.path, 'trial-1772-cli');
    flipTrialRun(base, run, 1772);
    const repaired = await runCli(['repair', run]);
    expect([repaired.code, repaired.stdout.split('\n').slice(1, 3)]).toEqual([0, ['  nothing was lost', '  file header put right: its magic string had a flipped bit']]);
    expect(dump(runFiles.eventLog(run))).toEqual(dump(runFiles.eventLog(base)));
  });
});

/** Flips `bit` of the first byte of the rowid of the event at `position` in the file (a table-leaf cell found by scanning the pages). */
function flipRowidBit(path: string, position: number, bit: number): void {
  const file = readFileSync(path);
  const pageSize = file.readUInt16BE(16);
  const varint = (at: number): [number, number] => {
    let value = 0;
    for (let index = 0; index < 9; index++) {
      const byte = file[at + index] as number;
      value = value * 128 + (byte & 0x7f);
      if ((byte & 0x80) === 0) return [value, index + 1];
    }
    throw new Error('varint too long');
  };
  for (let page = 0; page * pageSize < file.length; page++) {
    const start = page * pageSize + (page === 0 ? 100 : 0);
    if (file[start] !== 0x0d) continue;
    for (let cell = 0; cell < file.readUInt16BE(start + 3); cell++) {
      const at = page * pageSize + file.readUInt16BE(start + 8 + 2 * cell);
      const rowidAt = at + varint(at)[1];
      if (varint(rowidAt)[0] !== position) continue;
      file[rowidAt] = (file[rowidAt] as number) ^ (1 << bit);
      writeFileSync(path, file);
      return;
    }
  }
  throw new Error(`no cell for position ${position}`);
}

describe('rows whose rowid a flipped bit changed', () => {
  it.each([
    [1_000, 6, true, 'far past the head'],
    [1_000, 6, false, 'far past the head, with no head record'],
    [2_000, 3, true, 'the last event, onto an earlier position'],
  ])('puts back event %s (bit %s of its rowid; head record: %s): %s, and invents no position', async (position, bit, withHead) => {
    const dir = join(work.path, `rowid-${position}-${bit}-${withHead}`);
    const path = join(dir, 'events.sqlite');
    const head = join(dir, 'head.json');
    mkdirSync(dir, { recursive: true });
    const store = new SqliteEventStore(path, { headRecordPath: head });
    appendSeeded(store, 7, 4, 500);
    store.closeFinished();
    const pristine = dump(path);
    flipRowidBit(path, position, bit);
    const report = await repairEventLog(path, { backupsDir: join(dir, 'backups'), nowMs: 3, ...(withHead ? { headRecordPath: head } : {}) });
    expect([report.lostPositions, report.recoveredHead]).toEqual([[], 2_000]);
    expect(dump(path)).toEqual(pristine);
  });
});

describe('names with a flipped bit', () => {
  it("puts a type's name right even when another event's stream id points one bit away from its name", async () => {
    const { path } = buildLog('name-and-id');
    const pristine = dump(path);
    const db = new Database(path);
    const streamId = (name: string): number => db.prepare('SELECT stream_id FROM streams WHERE name = ?').pluck().get(name) as number;
    // order-1's first event now says order-3 (whose name is one bit from order-1's): its hash names order-1, which another row has.
    const moved = db.prepare('SELECT position FROM events WHERE stream_id = ? ORDER BY position LIMIT 1').pluck().get(streamId('order-1')) as number;
    db.prepare('UPDATE events SET stream_id = ? WHERE position = ?').run(streamId('order-3'), moved);
    db.prepare("UPDATE event_types SET name = 'OrderShippad' WHERE name = 'OrderShipped'").run();
    db.close();
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 8 });
    expect(report.namesMended).toEqual([expect.objectContaining({ table: 'event_types', damaged: 'OrderShippad', name: 'OrderShipped' })]);
    expect(report.lostPositions).toEqual([]);
    expect(dump(path)).toEqual(pristine);
  });

  it.each([
    ['event_types', 'OrderPlaced', 'OrderPlacad'],
    ['streams', 'order-3', 'order-;'],
  ] as const)("puts a name in %s right by its events' hashes: %s, every event of it back, the damaged file unchanged", async (table, name, damagedName) => {
    const { path } = buildLog(`name-${table}`);
    const pristine = dump(path);
    const db = new Database(path);
    const key = table === 'streams' ? 'stream_id' : 'type_id';
    const id = (db.prepare(`SELECT ${key} AS id FROM ${table} WHERE name = ?`).get(name) as { id: number }).id;
    db.prepare(`UPDATE ${table} SET name = ? WHERE ${key} = ?`).run(damagedName, id);
    db.close();
    const damaged = verifyEventLog(path);
    expect(damaged.problems.filter((problem) => problem.kind === 'chain').length).toBeGreaterThan(table === 'streams' ? 20 : 99);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 4 });
    expect([report.lostPositions, report.namesMended]).toEqual([[], [{ table, id, damaged: damagedName, name }]]);
    expect(dump(path)).toEqual(pristine);
    expect(verifyEventLog(path).ok).toBe(true);
    expect(verifyEventLog(report.damagedCopy as string).problems).toEqual(damaged.problems);
  });
});

describe("the schema's SQL with a flipped bit", () => {
  it("keeps a crashed writer's WAL: the events committed there come back with the mended schema", async () => {
    const live = join(work.path, 'schema-live.sqlite');
    const store = new SqliteEventStore(live);
    appendSeeded(store, 5, 2, 200);
    const checkpoint = new Database(live);
    checkpoint.pragma('wal_checkpoint(TRUNCATE)');
    checkpoint.close();
    appendSeeded(store, 5, 1, 3, 7);
    // The files as a writer killed now leaves them: the last 3 events only in the WAL.
    const path = join(work.path, 'schema-crashed.sqlite');
    copyFileSync(live, path);
    copyFileSync(`${live}-wal`, `${path}-wal`);
    store.close();
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    const file = readFileSync(path);
    const at = file.indexOf('payload TEXT NOT NULL') + 'payload TEX'.length;
    file[at] = (file[at] as number) ^ 0x10;
    writeFileSync(path, file);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 6 });
    expect([report.recoveredHead, report.lostPositions, report.schemaMended]).toEqual([403, [], ['events']]);
    expect(readdirSync(work.path).filter((name) => name.includes('.mending-'))).toEqual([]);
  });

  it('goes on when page 1 cannot be read as schema rows (a flipped bit in its cell count): the repair names what it lost', async () => {
    const { path } = buildLog('schema-cells');
    const file = readFileSync(path);
    file[103] = (file[103] as number) ^ 0x20;
    writeFileSync(path, file);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 7 });
    expect(report).toMatchObject({ repaired: true, schemaMended: [] });
    expect(report.lostPositions.length).toBeGreaterThan(0);
  });

  it("puts an index's table name right in its schema row: every event comes back", async () => {
    // The index row's tbl_name "stream_chunks" (after its name) becomes "stream_chunis".
    const { path, pristine } = flippedLog('schema-table-name', (file) => file.indexOf('stream_chunks_by_streamstream_chunks') + 'stream_chunks_by_streamstream_chun'.length, 0x02);
    expect(logReadable(path)).toBe(false);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 6 });
    expect([report.lostPositions, report.schemaMended]).toEqual([[], ['stream_chunks_by_stream']]);
    expect(dump(path)).toEqual(pristine);
  });

  it('puts the SQL right in a copy when the file cannot be read at all, and every event comes back', async () => {
    // "payload TEXT NOT NULL" in the events table's SQL: "TEXT" becomes "TEXD" (bit 4 of its last byte), no type a STRICT table knows.
    const { path, pristine, file } = flippedLog('schema-flip', (bytes) => bytes.indexOf('payload TEXT NOT NULL') + 'payload TEX'.length, 0x10);
    expect(() => new Database(path, { readonly: true }).prepare('SELECT 1 FROM events').get()).toThrow(/malformed database schema/);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 5 });
    expect([report.lostPositions, report.schemaMended]).toEqual([[], ['events']]);
    expect(dump(path)).toEqual(pristine);
    expect(verifyEventLog(path).ok).toBe(true);
    // The damaged file is kept as it was: still unreadable.
    expect(readFileSync(report.damagedCopy as string).equals(file)).toBe(true);
  });
});

describe("a names' index SQLite cannot read", () => {
  it.each(['sqlite_autoindex_event_types_1', 'sqlite_autoindex_streams_1'])('leaves a tombstone a declared loss when %s is damaged (its name is looked up in the table)', async (index) => {
    const base = join(work.path, `tombstone-base-${index}`);
    await writeFlipBase(base);
    const log = runFiles.eventLog(base);
    // Two bits of one payload after the backup: a repair declares that event lost (a tombstone).
    const reader = new Database(log, { readonly: true });
    const payload = reader.prepare('SELECT payload FROM events WHERE position = 3000').pluck().get() as string;
    reader.close();
    const file = readFileSync(log);
    const at = file.indexOf(Buffer.from(payload));
    file[at + 2] = (file[at + 2] as number) ^ 1;
    file[at + 5] = (file[at + 5] as number) ^ 1;
    writeFileSync(log, file);
    const repaired = await repairEventLog(log, { backupsDir: runFiles.backups(base), headRecordPath: runFiles.headRecord(base), nowMs: 1 });
    expect(repaired.lostPositions).toEqual([3000]);
    // The index's root page: its page type flipped (SQLite cannot read it).
    const db = new Database(log, { readonly: true });
    const root = db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').pluck().get(index) as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const damaged = readFileSync(log);
    damaged[(root - 1) * pageSize] = (damaged[(root - 1) * pageSize] as number) ^ 1;
    writeFileSync(log, damaged);
    const report = verifyEventLog(log);
    expect(report.declaredLost).toEqual([3000]);
    expect(report.problems.filter((problem) => problem.position !== null)).toEqual([{ position: 3000, kind: 'lost', detail: 'a repair could not recover this event (tombstone)' }]);
  });
});

describe('the file header with a flipped bit', () => {
  it('reports a write version SQLite takes as read-only, and the repair gives back a log that takes appends', async () => {
    const { path, pristine, file } = flippedLog('header-write-version', () => 18, 0x02);
    const diagnosis = verifyEventLog(path);
    expect([diagnosis.ok, diagnosis.problems.map((problem) => problem.detail)]).toEqual([false, [`the file header's write version is ${file[18]} (1 or 2 expected): SQLite opens the file read-only`]]);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 18, diagnosis });
    expect(report.lostPositions).toEqual([]);
    expect(dump(path)).toEqual(pristine);
    const store = new SqliteEventStore(path);
    try {
      appendSeeded(store, 6, 1, 10, 4);
      expect(store.headPosition()).toBe(pristine.size + 10);
    } finally {
      store.close();
    }
  });

  it.each([
    [7, 2, 'magic string'],
    [16, 2, 'page size'],
    [19, 3, 'read version'],
    [21, 0, 'maximum payload fraction'],
    [22, 5, 'minimum payload fraction'],
    [23, 3, 'leaf payload fraction'],
    [29, 0, 'database size'],
    [59, 1, 'text encoding'],
  ])('puts byte %i (bit %i) right in a copy, its %s: every event comes back', async (offset, bit, field) => {
    const { path, pristine, file } = flippedLog(`header-${offset}`, () => offset, 1 << bit);
    expect(logReadable(path), 'the damaged file reads').toBe(false);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: offset });
    expect([report.lostPositions, report.headerMended]).toEqual([[], [field]]);
    expect(dump(path)).toEqual(pristine);
    expect(verifyEventLog(path).ok).toBe(true);
    // The damaged file is kept as it was.
    expect(readFileSync(report.damagedCopy as string).equals(file)).toBe(true);
  });
});
