/**
 * Corruption tests: damage a real log file (flip bytes in pages, truncate it, delete the WAL
 * mid-run and kill the writer), repair it, and compare what survives with the original log:
 * every original event must be back exactly, or its position must be named as lost.
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, readSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom } from '../../src/core/kernel/random.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { createBackup } from '../../src/node/backups.ts';
import { repairEventLog, type RepairReport } from '../../src/node/repair.ts';
import { runFiles } from '../../src/node/run-files.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { useNativeChain } from '../../src/node/native-chain.ts';
import { databaseCheck, type DatabaseCheck, verifyEventLog } from '../../src/node/verify.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';
import { appendSeeded } from '../support/logs.ts';

const work = temporaryDirectory('aura-lab-corruption-');
afterAll(() => work.remove());

type Row = { position: number; stream: string; version: number; id: string; type: string; payload: string; hash: string };

function dump(path: string): Map<number, Row> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare('SELECT e.position, s.name AS stream, e.version, hex(e.id) AS id, t.name AS type, e.payload, hex(e.hash) AS hash FROM events e JOIN streams s USING (stream_id) JOIN event_types t USING (type_id) ORDER BY e.position')
      .all() as Row[];
    return new Map(rows.map((row) => [row.position, row]));
  } finally {
    db.close();
  }
}

/** Every original event is in the repaired log, identical, unless its position is reported lost. */
function expectExactSurvival(original: Map<number, Row>, repairedPath: string, report: RepairReport): void {
  const repaired = dump(repairedPath);
  const lost = new Set(report.lostPositions);
  for (const [position, row] of original) {
    if (lost.has(position)) {
      const tombstone = repaired.get(position);
      if (tombstone !== undefined) expect(tombstone.type, `position ${position}`).toBe('$EventLost');
      continue;
    }
    expect(repaired.get(position), `position ${position} survived`).toEqual(row);
  }
  // Nothing invented: every repaired position is an original event or a declared tombstone.
  for (const [position, row] of repaired) {
    expect(original.has(position) || row.type === '$EventLost', `position ${position} is not invented`).toBe(true);
  }
  // Verified as the repair left it (a writer opening it would write the stream index and versions).
  const check = verifyEventLog(repairedPath);
  // Only declared losses: a stream's version gap is one only around a tombstone that could not say what it stood for.
  expect(check.problems.filter((problem) => problem.kind !== 'lost')).toEqual([]);
  expect([...check.declaredLost].sort((a, b) => a - b)).toEqual(report.lostPositions.filter((position) => repaired.has(position)));
  // The stream index agrees with the events (a repair may have moved its watermark back).
  const store = new SqliteEventStore(repairedPath, { tailCheckEvents: 0 });
  try {
    const byStream = new Map<string, number[]>();
    for (const row of [...repaired.values()].sort((a, b) => a.position - b.position)) byStream.set(row.stream, [...(byStream.get(row.stream) ?? []), row.position]);
    for (const [stream, positions] of byStream) {
      expect(store.readStream(stream as never, 1, 100_000).map((event) => event.position), `stream ${stream}`).toEqual(positions);
      // The writer's stream versions are the events' (streams.version may lag: stream-index.ts).
      expect(store.streamVersion(stream), `version of ${stream}`).toBe(Math.max(...positions.map((position) => repaired.get(position)!.version)));
    }
    // Tombstones in $lost take its versions in order, none twice.
    const lostVersions = (byStream.get('$lost') ?? []).map((position) => repaired.get(position)!.version);
    expect(lostVersions).toEqual(lostVersions.map((_, index) => index + 1));
  } finally {
    store.close();
  }
}

/**
 * A finished log of `batches` x 500 events, with a backup taken after `backupAfter` batches.
 * `stopped`: its writer's connection is closed without closing the store, as when the process
 * dies after its last commit: the stream index and streams.version are behind the log. Its
 * stream index is written every 700 events, and three streams begin after the backup.
 */
async function buildLog(name: string, seed: number, batches: number, backupAfter: number, stopped = false): Promise<{ runDir: string; path: string; pristine: Map<number, Row> }> {
  const runDir = join(work.path, name);
  const path = runFiles.eventLog(runDir);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(runDir, { recursive: true });
  const store = new SqliteEventStore(path, { headRecordPath: runFiles.headRecord(runDir), ...(stopped ? { streamIndexFlushEvents: 700 } : {}) });
  appendSeeded(store, seed, backupAfter, 500);
  await createBackup(store, runFiles.backups(runDir), 1);
  const late = (from: number): void => {
    store.appendBatch(
      Array.from({ length: 30 }, (_, index) => ({
        stream: asStreamName(`late-${index % 3}`),
        events: [{ id: asEventId(`eeee${String(from + index).padStart(28, '0')}`), type: 'LateArrived', schemaVersion: 1, payload: { index: from + index }, metadata: { virtualTimeUs: 0 } }],
        expected: anyVersion,
      })),
    );
  };
  if (stopped) late(0);
  appendSeeded(store, seed, batches - backupAfter, 500, backupAfter);
  if (stopped) late(30);
  if (stopped) store.db.close();
  else store.closeFinished();
  return { runDir, path, pristine: dump(path) };
}

function repairRun(runDir: string, nowMs: number): Promise<RepairReport> {
  return repairEventLog(runFiles.eventLog(runDir), { backupsDir: runFiles.backups(runDir), headRecordPath: runFiles.headRecord(runDir), nowMs });
}

describe('corruption and repair', () => {
  it('detects nothing and changes nothing on an intact log', async () => {
    const { runDir, path } = await buildLog('intact', 1, 6, 3);
    const before = statSync(path).mtimeMs;
    const report = await repairRun(runDir, 10);
    expect(report.repaired).toBe(false);
    expect(statSync(path).mtimeMs).toBe(before);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('repairs or names every event after random byte flips in pages (seed %i)', async (seed) => {
    const { runDir, path, pristine } = await buildLog(`flips-${seed}`, seed, 8, 4);
    const random = createRandom(seed);
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    const flips = random.int(1, 6);
    const byte = Buffer.alloc(1);
    for (let index = 0; index < flips; index++) {
      // Skip the 100-byte header on some seeds, hit it on others: both must end in an exact report.
      const offset = random.int(seed % 4 === 0 ? 0 : 100, size - 1);
      readSync(fd, byte, 0, 1, offset);
      byte[0] = (byte[0] as number) ^ (1 << random.int(0, 7));
      writeSync(fd, byte, 0, 1, offset);
    }
    closeSync(fd);
    const report = await repairRun(runDir, 100 + seed);
    if (report.repaired) {
      expect(report.damagedCopy).not.toBeNull();
      expect(existsSync(report.damagedCopy!)).toBe(true);
    }
    expectExactSurvival(pristine, path, report);
    // With a good backup at 2,000 events, nothing before it is ever lost.
    expect(report.lostPositions.every((position) => position > 2_000)).toBe(true);
  }, 60_000);

  // Seed 2 takes the bulk path (the newest backup plus the rows after it copied in SQL), the others the in-place patch.
  it.each([1, 2, 3, 4])('repairs or names every event after byte flips in a log whose writer stopped without closing it (seed %i)', async (seed) => {
    const { runDir, path, pristine } = await buildLog(`stopped-${seed}`, 60 + seed, 6, 2, true);
    // streams.version is behind the events (nothing flushed it), and that is no damage.
    const lagging = new Database(path, { readonly: true });
    const behind = lagging.prepare('SELECT COUNT(*) AS n FROM streams s WHERE s.version < (SELECT max(version) FROM events e WHERE e.stream_id = s.stream_id)').get() as { n: number };
    lagging.close();
    expect(behind.n).toBeGreaterThan(0);
    expect(verifyEventLog(path).problems).toEqual([]);
    const random = createRandom(seed);
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    const byte = Buffer.alloc(1);
    for (let index = 0; index < random.int(1, 4); index++) {
      const offset = random.int(100, size - 1);
      readSync(fd, byte, 0, 1, offset);
      byte[0] = (byte[0] as number) ^ (1 << random.int(0, 7));
      writeSync(fd, byte, 0, 1, offset);
    }
    closeSync(fd);
    const report = await repairRun(runDir, 150 + seed);
    expect(report.method).toBe(seed === 2 ? 'copy' : 'patch');
    expectExactSurvival(pristine, path, report);
  }, 60_000);

  it.each([false, true])("keeps a stream's version when its last event is lost: the tombstone takes its place (writer stopped without closing: %s)", async (stopped) => {
    const { runDir, path, pristine } = await buildLog(`shortened-${stopped}`, 71, 6, 2, stopped);
    const db = new Database(path);
    // The stream whose last event comes first; the backup (1,000 events) cannot restore it.
    const last = db.prepare('SELECT stream_id, max(position) AS position, max(version) AS version FROM events GROUP BY stream_id ORDER BY position LIMIT 1').get() as { stream_id: number; position: number; version: number };
    db.prepare("UPDATE events SET payload = payload || ' ' WHERE position = ?").run(last.position);
    db.close();
    expect(last.position).toBeGreaterThan(1_000);
    const report = await repairRun(runDir, 600);
    expect(report.lostPositions).toEqual([last.position]);
    expect(verifyEventLog(path).problems.map((problem) => `${problem.kind}@${problem.position}`)).toEqual([`lost@${last.position}`]);
    expectExactSurvival(pristine, path, report);
    const store = new SqliteEventStore(path);
    const name = (store.db.prepare('SELECT name FROM streams WHERE stream_id = ?').get(last.stream_id) as { name: string }).name;
    expect(store.streamVersion(name)).toBe(last.version);
    const tail = store.readStream(asStreamName(name), last.version, 1);
    expect(tail.map((event) => [event.position, event.type, event.version])).toEqual([[last.position, '$EventLost', last.version]]);
    expect(store.streamVersion('$lost')).toBe(0);
    store.close();
  });

  it.each([0.3, 0.6, 0.95])('names every lost position after truncating the file to %f of its size', async (fraction) => {
    const { runDir, path, pristine } = await buildLog(`truncate-${fraction}`, 11, 8, 2);
    truncateSync(path, Math.floor(statSync(path).size * fraction));
    const report = await repairRun(runDir, 200);
    expect(report.repaired).toBe(true);
    expectExactSurvival(pristine, path, report);
    // The head record says where the log had got: nothing past the readable end goes unnamed.
    expect(report.knownHead).toBe(4_000);
    expect(report.recoveredHead + report.lostPositions.filter((position) => position > report.recoveredHead).length).toBe(4_000);
    expect(report.lostPositions.every((position) => position > 1_000)).toBe(true);
  }, 60_000);

  it('names exactly the positions lost when the WAL is deleted mid-run and the writer is killed', async () => {
    const runDir = join(work.path, 'wal-deleted');
    const script = join(work.path, 'writer.mts');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(
      script,
      `import { rmSync } from 'node:fs';
import { SqliteEventStore } from ${JSON.stringify(join(repoRoot, 'src/node/sqlite-event-store.ts'))};
import { createBackup } from ${JSON.stringify(join(repoRoot, 'src/node/backups.ts'))};
import { runFiles } from ${JSON.stringify(join(repoRoot, 'src/node/run-files.ts'))};
import { appendSeeded } from ${JSON.stringify(join(repoRoot, 'test/support/logs.ts'))};
const runDir = process.argv[2];
const store = new SqliteEventStore(runFiles.eventLog(runDir), { headRecordPath: runFiles.headRecord(runDir) });
appendSeeded(store, 21, 3, 500);
await createBackup(store, runFiles.backups(runDir), 1);
appendSeeded(store, 21, 3, 500, 3);
rmSync(runFiles.eventLog(runDir) + '-wal');
appendSeeded(store, 21, 2, 500, 6);
process.stdout.write('acknowledged ' + store.headPosition() + '\\n');
process.kill(process.pid, 'SIGKILL');
`,
    );
    const output = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, runDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('exit', () => resolve(out));
    });
    expect(output).toBe('acknowledged 4000\n');
    // The original log, rebuilt the same way in a fresh file.
    const reference = join(work.path, 'wal-reference.sqlite');
    const store = new SqliteEventStore(reference);
    appendSeeded(store, 21, 8, 500);
    store.closeFinished();
    const pristine = dump(reference);
    const report = await repairRun(runDir, 300);
    expect(report.repaired).toBe(true);
    expect(report.knownHead).toBe(4_000);
    expect(report.backupUsed?.headPosition).toBe(1_500);
    expectExactSurvival(pristine, runFiles.eventLog(runDir), report);
    // Everything after the backup lived only in the deleted WAL: exactly those positions are named.
    expect(report.lostRanges).toEqual(['1501-4000']);
  }, 60_000);

  it('finds a stream-index chunk that names the wrong event, and repairs the index', async () => {
    const { runDir, path, pristine } = await buildLog('chunk', 51, 6, 2);
    const db = new Database(path);
    const chunk = db.prepare('SELECT chunk_id, positions FROM stream_chunks ORDER BY chunk_id LIMIT 1').get() as { chunk_id: number; positions: Buffer };
    const positions = Buffer.from(chunk.positions);
    positions.writeDoubleLE(positions.readDoubleLE(8) + 1, 8);
    db.prepare('UPDATE stream_chunks SET positions = ? WHERE chunk_id = ?').run(positions, chunk.chunk_id);
    db.close();
    const damaged = verifyEventLog(path);
    expect(damaged.ok).toBe(false);
    expect(damaged.problems.map((problem) => problem.kind)).toContain('stream_index');
    const report = await repairRun(runDir, 500);
    expect(report.repaired).toBe(true);
    expect(report.lostPositions).toEqual([]);
    expectExactSurvival(pristine, path, report);
    expect(verifyEventLog(path).ok).toBe(true);
  });

  it('restores from a chosen backup and replays every later event that verifies', async () => {
    const { runDir, path, pristine } = await buildLog('restore', 31, 6, 2);
    const copy = join(work.path, 'restore-backup.sqlite');
    copyFileSync(join(runFiles.backups(runDir), 'events-1000.sqlite'), copy);
    const report = await repairEventLog(path, { backupsDir: runFiles.backups(runDir), headRecordPath: runFiles.headRecord(runDir), nowMs: 400, force: true, backupFile: copy });
    expect(report.repaired).toBe(true);
    expect(report.backupUsed?.headPosition).toBe(1_000);
    // Built from the backup, the later rows copied in: the log itself is not patched.
    expect(report.method).toBe('copy');
    expect(report.lostPositions).toEqual([]);
    expectExactSurvival(pristine, path, report);
  });
});

describe('parallel verification', () => {
  it('reports exactly what single-threaded verification reports, intact or damaged', async () => {
    const { verifyEventLogParallel } = await import('../../src/node/verify-parallel.ts');
    const { path } = await buildLog('parallel', 41, 8, 2);
    const strip = (report: Awaited<ReturnType<typeof verifyEventLogParallel>>) => ({ ...report, wallMs: 0 });
    expect(strip(await verifyEventLogParallel(path, { threads: 2, sliceEvents: 700 }))).toEqual(strip(verifyEventLog(path)));
    // Progress reaches every event once, whichever thread checked the slice.
    const seen: number[] = [];
    expect(strip(await verifyEventLogParallel(path, { threads: 1, sliceEvents: 700, onCallerThread: true, onProgress: (checked) => seen.push(checked) }))).toEqual(strip(verifyEventLog(path)));
    expect(seen.length).toBe(Math.ceil(seen[seen.length - 1]! / 700));
    expect(seen[seen.length - 1]).toBe(verifyEventLog(path).events);
    const db = new Database(path);
    db.prepare("UPDATE events SET payload = payload || ' ' WHERE position IN (7, 3333)").run();
    db.prepare('UPDATE events SET version = version + 5 WHERE position = 3900').run();
    db.close();
    const single = verifyEventLog(path);
    expect(single.firstBadPosition).toBe(7);
    expect(single.problems.map((problem) => `${problem.position}:${problem.kind}`)).toEqual(expect.arrayContaining(['7:chain', '3333:chain', '3900:chain', '3900:stream_version']));
    expect(strip(await verifyEventLogParallel(path, { threads: 2, sliceEvents: 700 }))).toEqual(strip(single));
    expect(strip(await verifyEventLogParallel(path, { threads: 1, sliceEvents: 700, onCallerThread: true }))).toEqual(strip(single));
    expect(strip(await verifyEventLogParallel(path, { threads: 1, sliceEvents: 700 }))).toEqual(strip(single));
  });
});

describe('the database check', () => {
  /** Flips the last byte of position `position`'s id where the id index holds it, leaving its row as it is. */
  function damageIdIndexEntry(path: string, position: number): void {
    const db = new Database(path, { readonly: true });
    const id = (db.prepare('SELECT id FROM events WHERE position = ?').get(position) as { id: Buffer }).id;
    db.close();
    const file = readFileSync(path);
    const pageSize = file.readUInt16BE(16) === 1 ? 65_536 : file.readUInt16BE(16);
    const pageType = (offset: number): number => {
      const page = Math.floor(offset / pageSize);
      return file[page * pageSize + (page === 0 ? 100 : 0)] as number;
    };
    const found: number[] = [];
    for (let at = file.indexOf(id); at >= 0; at = file.indexOf(id, at + 1)) found.push(at);
    // 0x0a: a leaf page of an index, 0x02: an interior one (the table's are 0x0d and 0x05).
    const inIndex = found.filter((at) => pageType(at) === 0x0a || pageType(at) === 0x02);
    expect(inIndex.length, `the id of position ${position} in the file's index pages`).toBe(1);
    const at = (inIndex[0] as number) + id.length - 1;
    const descriptor = openSync(path, 'r+');
    writeSync(descriptor, Buffer.from([(file[at] as number) ^ 0x01]), 0, 1, at);
    closeSync(descriptor);
  }

  it("finds an id index entry that no longer names its row, with the native chain check's sums as with integrity_check", async () => {
    const { verifyEventLogParallel } = await import('../../src/node/verify-parallel.ts');
    const { path } = await buildLog('id-index', 43, 4, 1);
    expect(verifyEventLog(path).integrityCheck).toEqual(['ok']);
    damageIdIndexEntry(path, 777);
    const withoutNative = verifyEventLog(path, undefined, { native: false });
    expect(withoutNative.chainCheck).toBe('javascript');
    expect(withoutNative.integrityCheck).toContain('row 777 missing from index events_by_id');
    const single = verifyEventLog(path);
    expect(single.chainCheck).toBe('native');
    expect(single.ok).toBe(false);
    // The sums cannot name the row integrity_check's lookups find: they say what differs.
    expect(single.integrityCheck).toEqual(['index events_by_id does not hold the rows of events (an id or a position differs)']);
    const strip = (report: typeof single) => ({ ...report, wallMs: 0 });
    // The chain itself is intact: the index is derived data, the only finding.
    expect(single.problems).toEqual([{ position: null, kind: 'integrity', detail: single.integrityCheck[0] }]);
    expect(strip(await verifyEventLogParallel(path, { threads: 1, sliceEvents: 700, onCallerThread: true }))).toEqual(strip(single));
    expect(strip(await verifyEventLogParallel(path, { threads: 2, sliceEvents: 700 }))).toEqual(strip(single));
    // A repair rebuilds the index from the rows: nothing is lost.
    const report = await repairRun(dirname(path), 0);
    expect(report.lostPositions).toEqual([]);
    expect(verifyEventLog(path).ok).toBe(true);
  });

  it('finds an id held twice by the unique id index, as integrity_check does', async () => {
    const { path } = await buildLog('id-twice', 44, 2, 1);
    const db = new Database(path);
    const indexSql = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events_by_id'").pluck().get() as string;
    expect(indexSql).toMatch(/^CREATE UNIQUE INDEX /);
    // The same index, not unique, under SQL of the same length: made unique again in the file's bytes below.
    const notUnique = `${indexSql.replace('CREATE UNIQUE INDEX ', 'CREATE INDEX ')}/*   */`;
    expect(notUnique.length).toBe(indexSql.length);
    db.exec('DROP INDEX events_by_id');
    db.exec(notUnique);
    db.prepare('UPDATE events SET id = (SELECT id FROM events WHERE position = 10) WHERE position = 20').run();
    db.close();
    const file = readFileSync(path);
    const at = file.indexOf(Buffer.from(notUnique));
    expect(at).toBeGreaterThan(0);
    file.write(indexSql, at, 'latin1');
    writeFileSync(path, file);
    const withoutNative = verifyEventLog(path, undefined, { native: false });
    expect(withoutNative.integrityCheck.join('\n')).toMatch(/non-unique entry in index events_by_id/);
    const report = verifyEventLog(path);
    expect(report.chainCheck).toBe('native');
    expect(report.integrityCheck).toEqual(['non-unique entry in index events_by_id']);
    expect(report.problems.filter((problem) => problem.kind !== 'integrity')).toEqual(withoutNative.problems.filter((problem) => problem.kind !== 'integrity'));
  });

  /** Rewrites an index's SQL in the file's bytes (same length): the index's pages stay as they were built. */
  function rewriteSchemaSql(path: string, from: string, to: string): void {
    expect(to.length).toBe(from.length);
    const file = readFileSync(path);
    const at = file.indexOf(Buffer.from(from));
    expect(at).toBeGreaterThan(0);
    file.write(to, at, 'latin1');
    writeFileSync(path, file);
  }

  it('finds an id index whose entries are out of order, as integrity_check does (the sums alone cannot see order)', async () => {
    const { path } = await buildLog('id-order', 45, 2, 1);
    const db = new Database(path);
    const indexSql = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events_by_id'").pluck().get() as string;
    // Built descending, then said to be ascending: every entry sorts before the one before it.
    const descending = indexSql.replace('(id)', '(id DESC)');
    db.exec('DROP INDEX events_by_id');
    db.exec(descending);
    db.close();
    rewriteSchemaSql(path, descending, indexSql.replace('(id)', '(id)/* */'));
    const withoutNative = verifyEventLog(path, undefined, { native: false });
    expect(withoutNative.ok).toBe(false);
    expect(withoutNative.integrityCheck.join('\n')).toMatch(/missing from index events_by_id/);
    const report = verifyEventLog(path);
    expect(report.chainCheck).toBe('native');
    expect(report.integrityCheck).toEqual(['index events_by_id is out of order (999 entries sort before the one before)']);
    expect(report.problems.filter((problem) => problem.kind !== 'integrity')).toEqual([]);
  });

  it('takes the quick form only for the events table as the lab makes it: another index on it gets integrity_check', async () => {
    const { path } = await buildLog('extra-index', 46, 2, 1);
    const check = (): DatabaseCheck => {
      const db = new Database(path, { readonly: true });
      try {
        expect(useNativeChain(db)).toBe(true);
        return databaseCheck(db, 1000, true);
      } finally {
        db.close();
      }
    };
    expect(check().idIndex).toMatchObject({ entries: 1000, duplicates: 0, disorder: 0 });
    const db = new Database(path);
    db.exec('CREATE INDEX events_by_stream ON events (stream_id)');
    db.close();
    expect(check()).toEqual({ lines: ['ok'] });
    expect(verifyEventLog(path).ok).toBe(true);
  });
});

