/**
 * Tombstones across repairs. A repair puts a lost event's tombstone in its own stream, at its
 * version, so the stream has no gap; a later repair must then lose nothing but its own damage.
 * Logs repaired by older builds (tombstones in $lost, leaving a gap in the lost event's stream,
 * $lost numbered out of position order) verify without false findings and are put in order by
 * the next repair, never by dropping an event whose chain link verifies.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion, type StreamAppend } from '../../src/core/ports/event-store.ts';
import { createBackup } from '../../src/node/backups.ts';
import { tombstoneId } from '../../src/node/hashing.ts';
import { fileStamp } from '../../src/node/run-files.ts';
import { repairEventLog, type RepairReport } from '../../src/node/repair.ts';
import { withRunEnds } from '../../src/node/run-ends.ts';
import { SqliteEventStore, type EncodedAppend } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { verifyEventLogParallel } from '../../src/node/verify-parallel.ts';
import { temporaryDirectory } from '../support/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { appendSeeded } from '../support/logs.ts';

const work = temporaryDirectory('aura-lab-tombstones-');
afterAll(() => work.remove());

type Row = { position: number; stream: string; version: number; type: string; payload: string; hash: string };

function dump(path: string): Map<number, Row> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT e.position, s.name AS stream, e.version, t.name AS type, e.payload, hex(e.hash) AS hash FROM events e JOIN streams s USING (stream_id) JOIN event_types t USING (type_id) ORDER BY position').all() as Row[];
    return new Map(rows.map((row) => [row.position, row]));
  } finally {
    db.close();
  }
}

/**
 * A finished log of 3,000 events in 40 streams, no backup. `stopped`: 3,150 events whose writer
 * stopped without closing it; its stream index, written every 700 events at the end of a batch
 * of 450, holds them to 2,700.
 */
function buildLog(name: string, seed: number, stopped = false): { path: string; pristine: Map<number, Row> } {
  const path = join(work.path, `${name}.sqlite`);
  const store = new SqliteEventStore(path, stopped ? { streamIndexFlushEvents: 700 } : {});
  if (stopped) {
    appendSeeded(store, seed, 7, 450);
    store.db.close();
  } else {
    appendSeeded(store, seed, 6, 500);
    store.closeFinished();
  }
  return { path, pristine: dump(path) };
}

/** Changes an event's payload: its chain link no longer verifies. */
function damage(path: string, position: number): void {
  const db = new Database(path);
  db.prepare("UPDATE events SET payload = payload || ' ' WHERE position = ?").run(position);
  db.close();
}

/** What a repair by an older build left: the event at `position` replaced by a tombstone in $lost at `lostVersion`, naming it (or not), with a tombstone's id. */
function oldStyleTombstone(path: string, position: number, lostVersion: number, named = true): void {
  const db = new Database(path);
  const row = db.prepare('SELECT s.name AS stream, e.version, lower(hex(e.hash)) AS hash FROM events e JOIN streams s USING (stream_id) WHERE position = ?').get(position) as { stream: string; version: number; hash: string };
  db.prepare("INSERT OR IGNORE INTO streams (name, category, version) VALUES ('$lost', '$lost', 0)").run();
  db.prepare("INSERT OR IGNORE INTO event_types (name) VALUES ('$EventLost')").run();
  db.prepare("UPDATE events SET stream_id = (SELECT stream_id FROM streams WHERE name = '$lost'), type_id = (SELECT type_id FROM event_types WHERE name = '$EventLost'), id = unhex(?), version = ?, payload = ? WHERE position = ?").run(
    tombstoneId(position, row.hash),
    lostVersion,
    JSON.stringify(named ? { position, stream: row.stream, version: row.version } : { position, stream: null, version: null }),
    position,
  );
  db.prepare("UPDATE streams SET version = max(version, ?) WHERE name = '$lost'").run(lostVersion);
  // Its stream index is rebuilt by the next writer, as an older repair left it.
  db.exec("DELETE FROM stream_chunks; UPDATE meta SET value = '0' WHERE key = 'stream_index_position'");
  db.close();
}

const repair = (path: string, nowMs: number): Promise<RepairReport> => repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs });
const findings = (path: string): string[] => verifyEventLog(path).problems.map((problem) => `${problem.kind}@${problem.position}`);

/** Every pristine event is back unchanged but those at `lost`. */
function expectSurvivors(pristine: Map<number, Row>, path: string, lost: readonly number[]): void {
  const repaired = dump(path);
  for (const [position, row] of pristine) if (!lost.includes(position)) expect(repaired.get(position), `position ${position}`).toEqual(row);
  for (const position of lost) expect(repaired.get(position)?.type).toBe('$EventLost');
}

/** An event with a later event in its stream (its loss leaves a gap unless its tombstone takes its place). */
function middleOfStream(pristine: Map<number, Row>, after: number): Row {
  const rows = [...pristine.values()];
  return rows.find((row) => row.position > after && rows.some((later) => later.stream === row.stream && later.position > row.position)) as Row;
}

describe('tombstones across repairs', () => {
  it('a second repair loses only its own damage, and each tombstone takes its event\'s place in its stream', async () => {
    const { path, pristine } = buildLog('twice', 3);
    const first = middleOfStream(pristine, 2_000);
    damage(path, first.position);
    const one = await repair(path, 1);
    expect(one.method).toBe('patch');
    expect(one.lostPositions).toEqual([first.position]);
    expect(findings(path)).toEqual([`lost@${first.position}`]);
    // A writer opens and closes it (the stream index and versions are written).
    new SqliteEventStore(path).close();
    const second = middleOfStream(pristine, 500);
    expect(second.position).toBeLessThan(first.position);
    damage(path, second.position);
    const two = await repair(path, 2);
    expect(two.lostPositions).toEqual([second.position]);
    expect(findings(path)).toEqual([`lost@${second.position}`, `lost@${first.position}`]);
    expectSurvivors(pristine, path, [second.position, first.position]);
    const store = new SqliteEventStore(path);
    try {
      for (const lost of [first, second]) {
        const events = store.readStream(asStreamName(lost.stream), lost.version, 2);
        expect(events.map((event) => [event.position, event.type])).toEqual([
          [lost.position, '$EventLost'],
          [[...pristine.values()].find((row) => row.stream === lost.stream && row.version === lost.version + 1)!.position, pristine.get(events[1]!.position)!.type],
        ]);
      }
      expect(store.streamVersion('$lost')).toBe(0);
    } finally {
      store.close();
    }
    expect(findings(path)).toEqual([`lost@${second.position}`, `lost@${first.position}`]);
  });

  it('verifies a gap that a tombstone in $lost declares, on one thread and on workers, and a repair keeps the event after it', async () => {
    const { path, pristine } = buildLog('declared', 5);
    const lost = middleOfStream(pristine, 1_000);
    oldStyleTombstone(path, lost.position, 1);
    expect(findings(path)).toEqual([`lost@${lost.position}`]);
    // Slices that end at the tombstone: the gap is declared in one slice and closed in the next.
    const parallel = await verifyEventLogParallel(path, { threads: 2, sliceEvents: lost.position });
    expect(parallel.problems.map((problem) => `${problem.kind}@${problem.position}`)).toEqual([`lost@${lost.position}`]);
    const other = middleOfStream(pristine, 2_500);
    damage(path, other.position);
    const report = await repair(path, 3);
    expect(report.lostPositions).toEqual([other.position]);
    expectSurvivors(pristine, path, [lost.position, other.position]);
    expect(findings(path)).toEqual([`lost@${lost.position}`, `lost@${other.position}`]);
  });

  it('takes the gap a tombstone that names nothing leaves in a stream around it as its loss, and a repair keeps the event after it', async () => {
    const { path, pristine } = buildLog('unnamed', 9);
    const lost = middleOfStream(pristine, 1_200);
    oldStyleTombstone(path, lost.position, 1, false);
    expect(findings(path)).toEqual([`lost@${lost.position}`]);
    expect(verifyEventLog(path).onlyDeclaredLosses).toBe(true);
    expect(await repair(path, 4)).toMatchObject({ method: 'none', repaired: false });
    const other = middleOfStream(pristine, 2_400);
    damage(path, other.position);
    const report = await repair(path, 5);
    expect(report.lostPositions).toEqual([other.position]);
    expectSurvivors(pristine, path, [lost.position, other.position]);
    expect(findings(path)).toEqual([`lost@${lost.position}`, `lost@${other.position}`]);
  });

  it('still reports a gap no tombstone naming nothing stands in, on one thread and on workers', async () => {
    const { path, pristine } = buildLog('unnamed-elsewhere', 10);
    const lost = middleOfStream(pristine, 1_200);
    const next = [...pristine.values()].find((row) => row.stream === lost.stream && row.position > lost.position)!;
    // Its tombstone names another version of its stream: the stream's gap is not declared.
    oldStyleTombstone(path, lost.position, 1);
    const db = new Database(path);
    db.prepare('UPDATE events SET payload = ? WHERE position = ?').run(JSON.stringify({ position: lost.position, stream: lost.stream, version: 999_999 }), lost.position);
    db.close();
    // A tombstone naming nothing after the gap closes explains its own stream's gap, not this one.
    const elsewhere = [...pristine.values()].find((row) => row.position > next.position && row.stream !== lost.stream && [...pristine.values()].some((later) => later.stream === row.stream && later.position > row.position))!;
    oldStyleTombstone(path, elsewhere.position, 2, false);
    // The finding first, then the declared losses, each in position order.
    const expected = [`stream_version@${next.position}`, ...[lost.position, elsewhere.position].sort((a, b) => a - b).map((position) => `lost@${position}`)];
    expect(findings(path)).toEqual(expected);
    const parallel = await verifyEventLogParallel(path, { threads: 2, sliceEvents: lost.position });
    expect(parallel.problems.map((problem) => `${problem.kind}@${problem.position}`)).toEqual(expected);
    expect(parallel.onlyDeclaredLosses).toBe(false);
  });

  it('puts the damaged file back at its path when a repair fails part-way', async () => {
    const { path, pristine } = buildLog('repair-fails', 23);
    damage(path, 1_500);
    const before = findings(path);
    // A directory where the repair builds its file: building fails.
    mkdirSync(`${path}.repairing-${fileStamp(10)}`);
    await expect(repair(path, 10)).rejects.toThrow();
    expect(existsSync(path)).toBe(true);
    expect(findings(path)).toEqual(before);
    rmSync(`${path}.repairing-${fileStamp(10)}`, { recursive: true });
    const report = await repair(path, 11);
    expect(report.lostPositions).toEqual([1_500]);
    expectSurvivors(pristine, path, [1_500]);
  });

  it('drops the stream-index chunks that a corrected row\'s damaged values were indexed from', async () => {
    const path = join(work.path, 'stale-chunk.sqlite');
    const writer = new SqliteEventStore(path, { streamIndexFlushEvents: 1_000_000 });
    const solo = (index: number): StreamAppend => ({ stream: asStreamName('solo-1'), events: [{ id: asEventId(index.toString(16).padStart(32, 'f')), type: 'SoloHappened', schemaVersion: 1, payload: { index }, metadata: { virtualTimeUs: index } }], expected: anyVersion });
    writer.appendBatch([1, 2, 3].map(solo));
    appendSeeded(writer, 3, 6, 500);
    writer.db.close();
    // The version of the stream's last event changes; a writer then opens (the tail check does not reach it) and indexes the damaged value.
    const db = new Database(path);
    db.prepare('UPDATE events SET version = version + 7 WHERE position = 3').run();
    db.close();
    new SqliteEventStore(path).close();
    const report = await repair(path, 12);
    expect(report.method).toBe('patch');
    expect(report.lostPositions).toEqual([]);
    expect(findings(path)).toEqual([]);
    const store = new SqliteEventStore(path);
    try {
      expect(store.readStream(asStreamName('solo-1'), 1, 10).map((event) => [event.position, event.version])).toEqual([[1, 1], [2, 2], [3, 3]]);
      expect(store.streamVersion('solo-1')).toBe(3);
    } finally {
      store.close();
    }
    expect(findings(path)).toEqual([]);
  });

  it.each([false, true])('puts right an event whose type changed after a gap in its stream (slow path, after a hole: %s)', async (slow) => {
    const { path, pristine } = buildLog(`gap-then-type-${slow}`, 25);
    const rows = [...pristine.values()];
    // An event, and its stream's next one a few positions on (a hole's next position cannot be checked).
    const lost = rows.find((row) => row.position > 400 && rows.some((next) => next.stream === row.stream && next.version === row.version + 1 && next.position > row.position + 2))!;
    const next = rows.find((row) => row.stream === lost.stream && row.version === lost.version + 1)!;
    // On the in-place path an older build's tombstone in $lost left the gap; on the slow one a hole (its stream unknown).
    if (!slow) oldStyleTombstone(path, lost.position, 1);
    const db = new Database(path);
    if (slow) db.prepare('DELETE FROM events WHERE position = ?').run(lost.position);
    db.prepare("UPDATE events SET type_id = (SELECT type_id FROM event_types WHERE type_id <> events.type_id AND name <> '$EventLost' LIMIT 1) WHERE position = ?").run(next.position);
    db.close();
    const report = await repair(path, 13);
    expect(report.method).toBe(slow ? 'import' : 'patch');
    expect(dump(path).get(next.position)).toEqual(pristine.get(next.position));
    expect(report.lostPositions).toEqual(slow ? [lost.position, lost.position + 1] : []);
  });

  it('leaves the log where it was when its backups cannot be listed, and reads a backup record that says nothing', async () => {
    const { path } = buildLog('unlisted-backups', 27);
    damage(path, 10);
    const before = findings(path);
    const notADirectory = join(work.path, 'unlisted-backups-file');
    writeFileSync(notADirectory, 'not a directory');
    await expect(repairEventLog(path, { backupsDir: notADirectory, nowMs: 14 })).rejects.toThrow(/ENOTDIR/);
    expect(findings(path)).toEqual(before);
    const odd = join(work.path, 'odd-backups');
    mkdirSync(odd);
    writeFileSync(join(odd, 'events-500.sqlite'), '');
    writeFileSync(join(odd, 'events-500.sqlite.json'), 'null');
    const report = await repairEventLog(path, { backupsDir: odd, nowMs: 15 });
    expect(report.lostPositions).toEqual([10]);
    expect(report.backupsRejected.map((rejected) => rejected.file)).toEqual([join(odd, 'events-500.sqlite')]);
  });

  it('does not trust by its digest a backup taken before a repair rewrote rows of the log', async () => {
    const { path, pristine } = buildLog('backup-before-repair', 29);
    const backups = join(work.path, 'backup-before-repair-backups');
    const db = new Database(path);
    db.prepare('UPDATE events SET type_id = (SELECT type_id FROM event_types WHERE type_id <> events.type_id LIMIT 1) WHERE position = 1000').run();
    db.close();
    // A backup taken now holds the damaged row (the open's tail check does not reach it).
    const store = new SqliteEventStore(path);
    const backup = await createBackup(store, backups, 1);
    store.closeFinished();
    expect(backup.sha256).toBeDefined();
    // The repair rejects the backup and puts the row right in place.
    const first = await repairEventLog(path, { backupsDir: backups, nowMs: 16 });
    expect(first.lostPositions).toEqual([]);
    expect(first.backupsRejected).toHaveLength(1);
    // More events, then a stream's recorded version wrong (the slow path, which builds on a base,
    // with no bad position): the backup's digest still matches, but a repair rewrote the log since.
    const writer = new SqliteEventStore(path);
    appendSeeded(writer, 29, 1, 500, 6);
    writer.closeFinished();
    const off = new Database(path);
    off.prepare('UPDATE streams SET version = version + 5 WHERE stream_id = 1').run();
    off.close();
    const second = await repairEventLog(path, { backupsDir: backups, nowMs: 17 });
    expect(second.method).toBe('import');
    expect(second.backupUsed).toBeNull();
    expect(second.lostPositions).toEqual([]);
    expect(findings(path)).toEqual([]);
    expectSurvivors(pristine, path, []);
  });

  it.each([true, false])('builds on a backup that holds the same tombstones as the log (trusted by its digest: %s)', async (digest) => {
    const { path, pristine } = buildLog(`same-tombstones-${digest}`, 37);
    const backups = join(work.path, `same-tombstones-${digest}-backups`);
    damage(path, 2_000);
    expect((await repair(path, 20)).lostPositions).toEqual([2_000]);
    const store = new SqliteEventStore(path);
    const backup = await createBackup(store, backups, 21);
    store.closeFinished();
    if (!digest) {
      // A record without a digest: the backup is verified whole instead.
      const { sha256: _dropped, ...record } = JSON.parse(readFileSync(`${backup.file}.json`, 'utf8')) as Record<string, unknown>;
      writeFileSync(`${backup.file}.json`, JSON.stringify(record));
    }
    // An edit before the tombstone: the backup holds the event, and its tombstone is the log's own.
    damage(path, 1_500);
    if (digest) {
      // The log's tombstone damaged into another type: the log no longer declares that loss, and
      // only the backup's digest (with the repair mark) vouches for the backup's tombstone.
      const db = new Database(path);
      db.prepare("UPDATE events SET type_id = (SELECT type_id FROM event_types WHERE name <> '$EventLost' LIMIT 1) WHERE position = 2000").run();
      db.close();
      expect(verifyEventLog(path).declaredLost).toEqual([]);
    }
    const report = await repairEventLog(path, { backupsDir: backups, nowMs: 22 });
    // (Where the log's tombstone was damaged, the backup's comes back in its place: still a loss, named.)
    expect([report.backupsRejected, report.backupUsed === null, report.lostPositions]).toEqual([[], false, digest ? [2_000] : []]);
    expectSurvivors(pristine, path, [2_000]);
  });

  it('puts back a tombstone whose stream or version changed, where its payload says it stands', async () => {
    const { path, pristine } = buildLog('moved-tombstone', 31);
    const lost = middleOfStream(pristine, 1_500);
    damage(path, lost.position);
    await repair(path, 18);
    expect(dump(path).get(lost.position)).toMatchObject({ stream: lost.stream, version: lost.version, type: '$EventLost' });
    // No hash covers a tombstone's stream and version: its payload does.
    const db = new Database(path);
    db.prepare('UPDATE events SET version = version + 9 WHERE position = ?').run(lost.position);
    db.close();
    expect(findings(path)).toContain(`chain@${lost.position}`);
    const report = await repair(path, 19);
    expect(report.lostPositions).toEqual([lost.position]);
    expect(dump(path).get(lost.position)).toMatchObject({ stream: lost.stream, version: lost.version, type: '$EventLost' });
    expect(findings(path)).toEqual([`lost@${lost.position}`]);
  });

  it('keeps what a damaged tombstone names when it replaces it', async () => {
    const { path, pristine } = buildLog('damaged-tombstone', 21);
    const lost = middleOfStream(pristine, 1_200);
    oldStyleTombstone(path, lost.position, 1);
    const db = new Database(path);
    db.prepare("UPDATE events SET id = unhex('00000000000000000000000000000001') WHERE position = ?").run(lost.position);
    db.close();
    expect(findings(path)[0]).toBe(`chain@${lost.position}`);
    const report = await repair(path, 9);
    expect(report.lostPositions).toEqual([lost.position]);
    // Its replacement names the event the old tombstone stood for, and fits there now: no gap is left.
    const replaced = dump(path).get(lost.position)!;
    expect(JSON.parse(replaced.payload)).toEqual({ position: lost.position, stream: lost.stream, version: lost.version });
    expect([replaced.stream, replaced.version]).toEqual([lost.stream, lost.version]);
    expect(findings(path)).toEqual([`lost@${lost.position}`]);
  });

  it("takes a row whose type was changed to a tombstone's for damage, not a loss: refused at open, and back from the backup", async () => {
    const path = join(work.path, 'type-changed.sqlite');
    const backups = join(work.path, 'type-changed-backups');
    const store = new SqliteEventStore(path);
    appendSeeded(store, 11, 6, 500);
    await createBackup(store, backups, 1);
    store.closeFinished();
    const pristine = dump(path);
    const db = new Database(path);
    db.prepare("INSERT INTO event_types (name) VALUES ('$EventLost')").run();
    db.prepare("UPDATE events SET type_id = (SELECT type_id FROM event_types WHERE name = '$EventLost') WHERE position = 2990").run();
    db.close();
    expect(findings(path)).toEqual(['chain@2990']);
    expect(() => new SqliteEventStore(path)).toThrow(AuraError);
    expect(() => new SqliteEventStore(path)).toThrow(/the hash chain breaks at position 2990/);
    const report = await repairEventLog(path, { backupsDir: backups, nowMs: 6 });
    expect(report.lostPositions).toEqual([]);
    expectSurvivors(pristine, path, []);
    expect(findings(path)).toEqual([]);
    new SqliteEventStore(path).close();
  });

  it('keeps events an older build let a client append to $lost: refused now, never renumbered', async () => {
    const path = join(work.path, 'appended-to-lost.sqlite');
    const store = new SqliteEventStore(path);
    await expect(store.append(asStreamName('$lost'), [{ id: asEventId('f'.repeat(32)), type: 'Note', schemaVersion: 1, payload: {}, metadata: { virtualTimeUs: 0 } }], anyVersion)).rejects.toThrow(/takes no appends/);
    // As an older build wrote them: encoded appends skip the check.
    const note = (index: number): EncodedAppend => ({ stream: '$lost', expected: anyVersion, events: [{ id: index.toString(16).padStart(32, '0'), type: 'Note', schemaVersion: 1, payloadText: JSON.stringify({ index }), virtualTimeUs: index, causationId: null, correlationId: null }] });
    appendSeeded(store, 13, 2, 500);
    store.appendEncodedBatch(Array.from({ length: 5 }, (_, index) => note(0xa000 + index)));
    appendSeeded(store, 13, 2, 500, 2);
    store.closeFinished();
    const pristine = dump(path);
    const notes = [...pristine.values()].filter((row) => row.stream === '$lost').map((row) => row.position);
    expect(notes).toHaveLength(5);
    // Damage that sends a tombstone to $lost: a version no longer fitting its stream, and a payload changed too (nothing to put right).
    const victim = middleOfStream(pristine, 1_500);
    const db = new Database(path);
    db.prepare("UPDATE events SET version = version + 50, payload = payload || ' ' WHERE position = ?").run(victim.position);
    db.close();
    const report = await repair(path, 7);
    expect(report.lostPositions).toEqual([victim.position]);
    expectSurvivors(pristine, path, [victim.position]);
    const repaired = dump(path);
    expect(repaired.get(victim.position)).toMatchObject({ stream: '$lost', version: 6, type: '$EventLost' });
    expect(findings(path).filter((finding) => finding.startsWith('chain'))).toEqual([]);
  });

  it.each([
    ['its stream', 'stream_id = (SELECT stream_id FROM streams WHERE stream_id <> events.stream_id LIMIT 1)'],
    ['its version', 'version = version + 7'],
    ['its type', 'type_id = (SELECT type_id FROM event_types WHERE type_id <> events.type_id LIMIT 1)'],
    // The next event's link accepts only the hash the row's values give.
    ['its hash', 'hash = zeroblob(32)'],
    ['its hash (cut short)', "hash = x'07'"],
  ])('puts an event right when only %s changed: exactly, on each path, before and after the stream index\'s position', async (what, change) => {
    for (const [method, stopped] of [
      ['patch', false],
      ['copy', false],
      ['import', false],
      ['patch', true],
    ] as const) {
      const { path, pristine } = buildLog(`corrected-${what.replace(/\W/g, '')}-${method}-${stopped}`, 15, stopped);
      // A stopped writer's index ends at 2,700: the victim is after it.
      const victim = middleOfStream(pristine, stopped ? 2_750 : 1_700);
      const db = new Database(path);
      db.prepare(`UPDATE events SET ${change} WHERE position = ?`).run(victim.position);
      // A hole elsewhere sends the repair down the slow path (that position and the next are lost: the hole took the hash the next links to).
      if (method === 'import') db.prepare('DELETE FROM events WHERE position = 300').run();
      db.close();
      // A WAL file beside it (SQLite ignores one of zeros) keeps the in-place patch off: the copy path runs.
      if (method === 'copy') writeFileSync(`${path}-wal`, Buffer.alloc(100));
      expect(findings(path)).toContain(`chain@${victim.position}`);
      const report = await repair(path, 8);
      expect(report.method, `${what}, ${method}`).toBe(method);
      expect(report.lostPositions).toEqual(method === 'import' ? [300, 301] : []);
      expectSurvivors(pristine, path, report.lostPositions);
      expect(dump(path).get(victim.position)).toEqual(pristine.get(victim.position));
      expect(findings(path).filter((finding) => !finding.startsWith('lost@') && !finding.startsWith('stream_version@'))).toEqual([]);
    }
  });

  it.each([false, true])("puts a row that cannot be read in its stream where the stream index places it, not in $lost (past the index's position: %s)", async (stopped) => {
    const { path, pristine } = buildLog(`hole-${stopped}`, 27, stopped);
    // A stopped writer's index ends at 2,700.
    const victim = middleOfStream(pristine, stopped ? 2_750 : 1_200);
    const db = new Database(path);
    db.prepare('DELETE FROM events WHERE position = ?').run(victim.position);
    db.close();
    const report = await repair(path, 12);
    expect(report.method).toBe('import');
    // The next position is lost too: the hole took the hash its link needs.
    expect(report.lostPositions).toEqual([victim.position, victim.position + 1]);
    expectSurvivors(pristine, path, report.lostPositions);
    const tombstone = dump(path).get(victim.position)!;
    if (stopped) {
      // Nothing says what it was: $lost; its stream's gap around it is its loss.
      expect(JSON.parse(tombstone.payload)).toEqual({ position: victim.position, stream: null, version: null });
      expect(tombstone.stream).toBe('$lost');
      expect(findings(path)).toEqual([`lost@${victim.position}`, `lost@${victim.position + 1}`]);
      expect(await repair(path, 13)).toMatchObject({ method: 'none', repaired: false });
    } else {
      expect(JSON.parse(tombstone.payload)).toEqual({ position: victim.position, stream: victim.stream, version: victim.version });
      expect([tombstone.stream, tombstone.version]).toEqual([victim.stream, victim.version]);
      expect(findings(path)).toEqual([`lost@${victim.position}`, `lost@${victim.position + 1}`]);
    }
  });

  it("keeps no claim of a stream index that does not fit in a tombstone: a row that cannot be read goes to $lost naming nothing", async () => {
    const { path, pristine } = buildLog('hole-misindexed', 27);
    const victim = middleOfStream(pristine, 1_200);
    const db = new Database(path);
    db.prepare('DELETE FROM events WHERE position = ?').run(victim.position);
    // The chunk holding it says each of its positions is one version later: a later row of the stream has the version it gives the hole.
    const chunks = db.prepare('SELECT chunk_id, positions FROM stream_chunks').all() as { chunk_id: number; positions: Buffer }[];
    const holding = chunks.find((chunk) => Array.from({ length: chunk.positions.length / 8 }, (_, index) => chunk.positions.readDoubleLE(index * 8)).includes(victim.position))!;
    db.prepare('UPDATE stream_chunks SET first_version = first_version + 1 WHERE chunk_id = ?').run(holding.chunk_id);
    db.close();
    const report = await repair(path, 13);
    expect(report.lostPositions).toEqual([victim.position, victim.position + 1]);
    expectSurvivors(pristine, path, report.lostPositions);
    const tombstone = dump(path).get(victim.position)!;
    expect([tombstone.stream, JSON.parse(tombstone.payload)]).toEqual(['$lost', { position: victim.position, stream: null, version: null }]);
  });

  it('tells a log with more declared losses than verification lists from one with damage past them, and lists that damage first, on one thread and on workers', async () => {
    const { path } = buildLog('many-declared', 35);
    const many = Array.from({ length: 120 }, (_, index) => 1_000 + index * 10);
    for (const position of many) damage(path, position);
    expect((await repair(path, 1)).lostPositions).toEqual(many);
    for (const report of [verifyEventLog(path), await verifyEventLogParallel(path)]) {
      expect(report.problems).toHaveLength(100);
      expect([report.declaredLost.length, report.onlyDeclaredLosses]).toEqual([120, true]);
    }
    expect(await repair(path, 2)).toMatchObject({ method: 'none', repaired: false });
    // The CLI names them in one line, the first 20 ranges of them.
    const lost = await runCli(['verify', path]);
    expect([lost.code, lost.stdout]).toEqual([1, `lost: 120 position(s) earlier repairs declared lost (${many.slice(0, 20).join(', ')}, … (100 more ranges)); the other 2,880 events, the hash chain and the database verify\n`]);
    // Damage after more declared losses than a report lists: listed first, and the first bad position.
    damage(path, 2_900);
    for (const report of [verifyEventLog(path), await verifyEventLogParallel(path)]) {
      expect(report.problems[0]).toMatchObject({ position: 2_900, kind: 'chain' });
      expect(report.problems).toHaveLength(100);
      expect(report.problems.slice(1).every((problem) => problem.kind === 'lost')).toBe(true);
      expect([report.firstBadPosition, report.onlyDeclaredLosses]).toEqual([2_900, false]);
      expect(withRunEnds({ record: undefined, recordDamaged: undefined, completed: undefined }, path, report)).toMatchObject({ firstBadPosition: 2_900, problems: [{ position: 2_900, kind: 'chain' }, ...report.problems.slice(1)] });
    }
    // The CLI lists the finding, then the losses in one line.
    const verified = await runCli(['verify', path]);
    const lines = verified.stdout.trimEnd().split('\n');
    expect([verified.code, lines.length, lines[0], lines[1]?.slice(0, 14)]).toEqual([1, 3, 'damaged: first bad position 2900', '  2900: chain:']);
    expect(lines[2]).toBe(`  and 120 position(s) earlier repairs declared lost: ${many.slice(0, 20).join(', ')}, … (100 more ranges)`);
    // Findings are all listed (the losses fill the list, not them): the in-place patch repairs it.
    expect(await repair(path, 3)).toMatchObject({ method: 'patch', lostPositions: [2_900] });
  });

  it('leaves alone a log whose only findings are losses an earlier repair declared (API and CLI); --force still rebuilds it', async () => {
    const { path, pristine } = buildLog('declared-only', 33);
    damage(path, 1_000);
    expect((await repair(path, 1)).lostPositions).toEqual([1_000]);
    expect(findings(path)).toEqual(['lost@1000']);
    const again = await repair(path, 2);
    expect(again).toMatchObject({ method: 'none', repaired: false, damagedCopy: null, lostPositions: [] });
    expect(again.diagnosis.declaredLost).toEqual([1_000]);
    // No second copy of the log is kept aside.
    expect(existsSync(`${path}.damaged-${fileStamp(2)}`)).toBe(false);
    const cli = await runCli(['repair', path]);
    expect([cli.code, cli.stdout]).toEqual([0, 'nothing to repair: 3,000 events verify; 1 position(s) an earlier repair declared lost stay lost (1000)\n']);
    // Verification: not whole (exit 1), but nothing damaged.
    const verified = await runCli(['verify', path]);
    expect([verified.code, verified.stdout]).toEqual([1, 'lost: 1 position(s) earlier repairs declared lost (1000); the other 2,999 events, the hash chain and the database verify\n']);
    const forced = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 3, force: true });
    expect([forced.repaired, forced.lostPositions]).toEqual([true, []]);
    expectSurvivors(pristine, path, [1_000]);
    // Damage on top of a declared loss is repaired as before.
    damage(path, 2_000);
    const repaired = await runCli(['repair', path]);
    expect([repaired.code, ...repaired.stdout.split('\n').slice(0, 2)]).toEqual([1, 'repaired: 3,000 events in the log, its bad rows replaced in place', '  lost 1 position(s): 2000']);
    expect(findings(path)).toEqual(['lost@1000', 'lost@2000']);
  });

  it.each([
    ['a row the backup holds', 700, false, 'import'],
    ['a row after the backup, with a WAL file beside the log', 2_200, true, 'import'],
    ['a row after the backup', 2_200, false, 'patch'],
  ] as const)('joins a backup and a log that number their streams differently by name (%s: %s)', async (_, victim, wal, method) => {
    const path = join(work.path, `renumbered-${victim}-${wal}.sqlite`);
    const backups = join(work.path, `renumbered-${victim}-${wal}-backups`);
    const store = new SqliteEventStore(path);
    appendSeeded(store, 41, 3, 500);
    await createBackup(store, backups, 1);
    appendSeeded(store, 41, 3, 500, 3);
    store.closeFinished();
    const pristine = dump(path);
    // As a repair that imported events one by one can leave a log: its streams numbered anew
    // (here every id moved by 1,000, consistently: no hash covers an id, only its name).
    const db = new Database(path);
    db.exec('UPDATE streams SET stream_id = stream_id + 1000; UPDATE events SET stream_id = stream_id + 1000; UPDATE stream_chunks SET stream_id = stream_id + 1000');
    db.close();
    expect(findings(path)).toEqual([]);
    damage(path, victim);
    if (wal) writeFileSync(`${path}-wal`, Buffer.alloc(100));
    const report = await repairEventLog(path, { backupsDir: backups, nowMs: 5 });
    // The patch, whose damage is past the backup, does without it (and says so).
    expect(report.backupUsed?.headPosition ?? null).toBe(method === 'patch' ? null : 1_500);
    // The backup (1,500 events) brings back what it holds; the rows it would move must keep their streams.
    const lost = victim <= 1_500 ? [] : [victim];
    expect(findings(path)).toEqual(lost.map((position) => `lost@${position}`));
    expect(report.lostPositions).toEqual(lost);
    expectSurvivors(pristine, path, lost);
    // Rows move with their ids (patch from the backup, copy after it) only when the ids agree; else event by event, by name.
    expect(report.method).toBe(method);
  });

  it.each(['patch', 'copy', 'import'] as const)('puts back the last event whose hash column alone changed when the head record names its hash (%s)', async (method) => {
    const { path, pristine } = buildLog(`head-hash-${method}`, 19);
    const headRecord = join(work.path, `head-hash-${method}.head.json`);
    writeFileSync(headRecord, JSON.stringify({ headPosition: 3_000, headHash: pristine.get(3_000)!.hash.toLowerCase() }));
    const db = new Database(path);
    db.prepare('UPDATE events SET hash = zeroblob(32) WHERE position = 3000').run();
    if (method === 'import') db.prepare('DELETE FROM events WHERE position = 300').run();
    db.close();
    if (method === 'copy') writeFileSync(`${path}-wal`, Buffer.alloc(100));
    const withoutRecord = join(work.path, `head-hash-${method}-no-record.sqlite`);
    copyFileSync(path, withoutRecord);
    const report = await repairEventLog(path, { backupsDir: join(work.path, 'no-backups'), nowMs: 6, headRecordPath: headRecord });
    expect(report.method).toBe(method);
    const holeLost = method === 'import' ? [300, 301] : [];
    expect(report.lostPositions).toEqual(holeLost);
    expectSurvivors(pristine, path, holeLost);
    // No head record: the last event's hash has no witness, and the event is lost.
    expect((await repair(withoutRecord, 6)).lostPositions).toEqual([...holeLost, 3_000]);
  });

  it.each(['patch', 'import'] as const)('puts a log whose $lost an older build numbered out of order back in order (%s)', async (method) => {
    const { path, pristine } = buildLog(`out-of-order-${method}`, 7);
    const early = middleOfStream(pristine, 600);
    const late = middleOfStream(pristine, 1_800);
    oldStyleTombstone(path, late.position, 1);
    oldStyleTombstone(path, early.position, 2);
    // Findings first, then the declared losses.
    const outOfOrder = [`stream_version@${early.position}`, `stream_version@${late.position}`];
    const declared = [`lost@${early.position}`, `lost@${late.position}`];
    if (method === 'patch') {
      // $lost's column says its last event's version: only the order is wrong, and the in-place patch renumbers it.
      const db = new Database(path);
      db.prepare("UPDATE streams SET version = 1 WHERE name = '$lost'").run();
      db.close();
      expect(findings(path)).toEqual([...outOfOrder, ...declared]);
    } else {
      // Its column says 2 (the older repair's maximum): the slow repair rebuilds the log.
      expect(findings(path)).toEqual([...outOfOrder, 'head@null', ...declared]);
    }
    const other = middleOfStream(pristine, 2_600);
    damage(path, other.position);
    const report = await repair(path, 4);
    expect(report.method).toBe(method);
    expect(report.lostPositions).toEqual([other.position]);
    expectSurvivors(pristine, path, [early.position, late.position, other.position]);
    expect(findings(path)).toEqual([`lost@${early.position}`, `lost@${late.position}`, `lost@${other.position}`]);
    const store = new SqliteEventStore(path);
    try {
      const lost = store.readStream(asStreamName('$lost'), 1, 10).map((event) => [event.position, event.version]);
      if (method === 'patch') expect(lost).toEqual([[early.position, 1], [late.position, 2]]);
      else {
        // The slow repair carries each old tombstone over into its own stream, where it now fits.
        expect(lost).toEqual([]);
        for (const old of [early, late]) expect(store.readStream(asStreamName(old.stream), old.version, 1).map((event) => [event.position, event.type])).toEqual([[old.position, '$EventLost']]);
      }
    } finally {
      store.close();
    }
    expect(findings(path)).toEqual([`lost@${early.position}`, `lost@${late.position}`, `lost@${other.position}`]);
  });
});
