/**
 * A run's durability as a user meets it: backups taken online while the run goes, a head
 * record beside the log, and the CLI's verify, backup, repair and restore on the result.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/node/backups.ts';
import { HeadRecorder, readHeadRecord, readHeadRecordState } from '../../src/node/head-record.ts';
import { repairEventLog } from '../../src/node/repair.ts';
import { readRunEnds, runEndProblems } from '../../src/node/run-ends.ts';
import { runFiles } from '../../src/node/run-files.ts';
import { appendSeeded } from '../../src/node/seeded-load.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { runCli } from '../support/cli.ts';
import { startEngine, type EngineHarness } from '../support/engine.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-durability-');
const scratch = temporaryDirectory('aura-lab-durability-scratch-');

let engine: EngineHarness;
let runDir: string;
let headPosition: number;

beforeAll(async () => {
  engine = await startEngine({ backupEveryEvents: 1_000 });
  const started = await engine.client.request('run.start', { scenario: 'hello.yaml', seed: 5, speed: 'max' });
  const summary = await engine.waitForRun(started.runId);
  expect(summary.status).toBe('completed');
  runDir = summary.outDir;
  headPosition = summary.headPosition;
});

afterAll(async () => {
  await engine.close();
  work.remove();
  scratch.remove();
});

function readHashAt(log: string, position: number): string {
  const db = new Database(log, { readonly: true });
  try {
    return db.prepare('SELECT lower(hex(hash)) FROM events WHERE position = ?').pluck().get(position) as string;
  } finally {
    db.close();
  }
}

describe('run durability', () => {
  it('backs a live run up online, keeps the newest backups, and records the head', () => {
    const backups = readdirSync(runFiles.backups(runDir)).filter((name) => name.endsWith('.sqlite'));
    expect(backups.length).toBeGreaterThanOrEqual(1);
    expect(backups.length).toBeLessThanOrEqual(2);
    for (const name of backups) expect(Number(/events-(\d+)\.sqlite/.exec(name)?.[1])).toBeGreaterThanOrEqual(1_000);
    expect(readHeadRecord(runFiles.headRecord(runDir))).toMatchObject({ headPosition });
  });

  it('calls a log put back from an older copy damaged (its head record says more), and a repair declares the tail it lacks once', async () => {
    // A run's log with a backup at 2,000 events and 1,000 events after it, then the backup put back in its place.
    const copy = join(scratch.path, 'older-copy');
    mkdirSync(copy);
    const writer = new SqliteEventStore(runFiles.eventLog(copy), { headRecordPath: runFiles.headRecord(copy) });
    appendSeeded(writer, 3, 4, 500);
    const older = await createBackup(writer, runFiles.backups(copy), 1, 3);
    appendSeeded(writer, 3, 2, 500, 4);
    writer.closeFinished();
    const acknowledged = readHeadRecord(runFiles.headRecord(copy));
    expect([older.headPosition, acknowledged?.headPosition]).toEqual([2_000, 3_000]);
    copyFileSync(older.file, runFiles.eventLog(copy));
    // Every event it holds links: only the head record says what it lacks.
    const verified = await runCli(['verify', copy, '--json']);
    expect(verified.code).toBe(1);
    const report = JSON.parse(verified.stdout) as { ok: boolean; firstBadPosition: number; problems: { position: number; kind: string; detail: string }[] };
    expect([report.ok, report.firstBadPosition]).toEqual([false, 2_001]);
    expect(report.problems).toEqual([{ position: 2_001, kind: 'head', detail: `the head record says the log reached 3000 (${acknowledged?.headHash.slice(0, 12)}…), the file ends at 2000: positions 2001-3000 were acknowledged and not in it` }]);
    const repaired = await runCli(['repair', copy, '--json']);
    expect(repaired.code).toBe(1);
    const lost = Array.from({ length: 1_000 }, (_, index) => 2_001 + index);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ repaired: true, lostPositions: lost, recoveredHead: 3_000, tombstones: 1_000 });
    // The loss is in the log now: not whole (exit 1), nothing left to repair, and its head is the one acknowledged.
    expect(readHashAt(runFiles.eventLog(copy), 3_000)).toBe(acknowledged?.headHash);
    const after = await runCli(['verify', copy]);
    expect([after.code, after.stdout.split('\n')[0]]).toEqual([1, 'lost: 1,000 position(s) earlier repairs declared lost (2001-3000); the other 2,000 events, the hash chain and the database verify']);
    const again = await repairEventLog(runFiles.eventLog(copy), { backupsDir: runFiles.backups(copy), headRecordPath: runFiles.headRecord(copy), nowMs: 2 });
    expect(again).toMatchObject({ method: 'none', repaired: false, lostPositions: [] });
    expect(readdirSync(copy).filter((name) => /\.damaged-\w+$/.test(name))).toHaveLength(1);
    // Another log where the record points: the event there is not the one acknowledged.
    writeFileSync(runFiles.headRecord(copy), JSON.stringify({ headPosition: 1_500, headHash: 'ab'.repeat(32) }));
    const other = await runCli(['verify', copy]);
    const named = `the head record names another event at 1500 (abababababab…; the file holds ${readHashAt(runFiles.eventLog(copy), 1_500).slice(0, 12)}…)`;
    expect([other.code, other.stdout.split('\n').slice(0, 2)]).toEqual([1, ['damaged: first bad position 1500', `  1500: head: ${named}`]]);
    // A repair has nothing to rebuild that from, and says so (it said "intact").
    const unmatched = await runCli(['repair', copy]);
    expect([unmatched.code, unmatched.stdout]).toEqual([1, `not repaired: ${named}; no backup or event of this log holds what it names (is this the run's own log?)\n`]);
    const unmatchedJson = await runCli(['repair', copy, '--json']);
    expect([unmatchedJson.code, JSON.parse(unmatchedJson.stdout)]).toEqual([1, expect.objectContaining({ repaired: false, unmatchedEnd: [named] })]);
  });

  it('keeps the acknowledged hash where the last event is lost, trusts no head record that fails its check, and takes a completed manifest as the end when there is no record', async () => {
    const dir = join(scratch.path, 'last-lost');
    mkdirSync(dir);
    const writer = new SqliteEventStore(runFiles.eventLog(dir), { headRecordPath: runFiles.headRecord(dir) });
    appendSeeded(writer, 4, 6, 500);
    writer.closeFinished();
    const acknowledged = readHeadRecord(runFiles.headRecord(dir));
    expect(acknowledged?.headPosition).toBe(3_000);
    // The last event's payload and hash both changed: no search brings it back.
    const db = new Database(runFiles.eventLog(dir));
    db.prepare("UPDATE events SET payload = payload || ' ', hash = zeroblob(32) WHERE position = 3000").run();
    db.close();
    const repaired = await repairEventLog(runFiles.eventLog(dir), { backupsDir: runFiles.backups(dir), headRecordPath: runFiles.headRecord(dir), nowMs: 3 });
    expect(repaired.lostPositions).toEqual([3_000]);
    expect(readHashAt(runFiles.eventLog(dir), 3_000)).toBe(acknowledged?.headHash);
    const after = await runCli(['verify', dir]);
    expect([after.code, after.stdout.split('\n')[0]]).toEqual([1, 'lost: 1 position(s) earlier repairs declared lost (3000); the other 2,999 events, the hash chain and the database verify']);

    // A record whose check fails (a flipped bit made 3000 into 7000) is not used, and verify says so.
    const record = readFileSync(runFiles.headRecord(dir), 'utf8');
    expect(record).toMatch(/"headPosition":3000,/);
    writeFileSync(runFiles.headRecord(dir), record.replace('"headPosition":3000,', '"headPosition":7000,'));
    const flipped = await runCli(['verify', dir]);
    expect([flipped.code, flipped.stderr]).toEqual([1, expect.stringContaining('head.json was not used: its check does not match its position and hash')]);
    expect(flipped.stdout).toMatch(/^lost: 1 position\(s\)/);

    // No record, a completed manifest at 3,000, and the log put back to 2,000 events: the manifest says where it ended.
    const older = join(scratch.path, 'manifest-only');
    mkdirSync(older);
    const shorter = new SqliteEventStore(runFiles.eventLog(older));
    appendSeeded(shorter, 4, 4, 500);
    shorter.closeFinished();
    writeFileSync(runFiles.manifest(older), JSON.stringify({ status: 'completed', headPosition: 3_000, headHash: acknowledged?.headHash }));
    const verified = await runCli(['verify', older]);
    expect([verified.code, verified.stdout.split('\n')[0]]).toEqual([1, 'damaged: first bad position 2001']);
    const rebuilt = await runCli(['repair', older, '--json']);
    expect([rebuilt.code, JSON.parse(rebuilt.stdout)]).toEqual([1, expect.objectContaining({ lostPositions: Array.from({ length: 1_000 }, (_, index) => 2_001 + index), recoveredHead: 3_000 })]);
    const check = verifyEventLog(runFiles.eventLog(older));
    expect([check.declaredLost.length, check.onlyDeclaredLosses, runEndProblems(readRunEnds(older), runFiles.eventLog(older), check)]).toEqual([1_000, true, []]);
  });

  it('verifies the finished run intact, with a machine-readable report', async () => {
    const result = await runCli(['verify', runDir, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; events: number; firstBadPosition: number | null; chainCheck: string };
    // The native chain check, built with the lab, is what the CLI's workers used.
    expect(report).toMatchObject({ ok: true, events: headPosition, firstBadPosition: null, chainCheck: 'native' });
  });

  it('names the first bad position of a damaged log, repairs it from a backup with nothing lost, and keeps the damaged file', async () => {
    const db = new Database(runFiles.eventLog(runDir));
    db.prepare("UPDATE events SET payload = payload || ' ' WHERE position IN (10, 11)").run();
    db.close();
    const damaged = await runCli(['verify', runDir]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/^damaged: first bad position 10\n/);
    const repaired = await runCli(['repair', runDir, '--json']);
    expect(repaired.code).toBe(0);
    const report = JSON.parse(repaired.stdout) as { repaired: boolean; lostPositions: number[]; backupUsed: { headPosition: number } | null; damagedCopy: string };
    expect(report.repaired).toBe(true);
    expect(report.lostPositions).toEqual([]);
    expect(report.backupUsed?.headPosition).toBeGreaterThanOrEqual(1_000);
    expect(existsSync(report.damagedCopy)).toBe(true);
    const intact = await runCli(['verify', runDir]);
    expect([intact.code, intact.stdout.split('\n')[0]]).toEqual([0, expect.stringMatching(/^intact: [\d,]+ events, hash chain and database verified in [\d.]+ s$/)]);
    expect(readdirSync(runDir).some((name) => name.startsWith('repair-') && name.endsWith('.json'))).toBe(true);
  });

  it('takes a backup on demand from the CLI and restores from it', async () => {
    const backup = await runCli(['backup', runDir, '--json']);
    expect(backup.code).toBe(0);
    const info = JSON.parse(backup.stdout) as { file: string; headPosition: number };
    expect(info.headPosition).toBe(headPosition);
    const restored = await runCli(['restore', runDir, '--from', info.file, '--json']);
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ repaired: true, lostPositions: [], backupUsed: { headPosition } });
  });

  it('refuses what is not a log of this run with exit 2, and changes nothing', async () => {
    // Another program's SQLite database: backup, verify and repair leave it as it was.
    const foreign = join(work.path, 'other.sqlite');
    const other = new Database(foreign);
    other.exec('CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES (1)');
    other.close();
    const before = readFileSync(foreign);
    for (const command of ['backup', 'verify', 'repair']) {
      const result = await runCli([command, foreign]);
      expect([command, result.code, result.stderr]).toEqual([command, 2, expect.stringContaining('is not an AURA Lab event log: it is an SQLite database with other tables (notes)')]);
    }
    expect(readFileSync(foreign).equals(before)).toBe(true);
    expect(readdirSync(work.path)).toEqual(['other.sqlite']);
    // A folder with nothing to repair from, and one with a manifest but no log to back up.
    const empty = join(work.path, 'empty');
    mkdirSync(empty);
    expect((await runCli(['repair', empty])).code).toBe(2);
    expect((await runCli(['restore', empty])).code).toBe(2);
    const manifestOnly = join(work.path, 'manifest-only');
    mkdirSync(manifestOnly);
    copyFileSync(runFiles.manifest(runDir), runFiles.manifest(manifestOnly));
    expect((await runCli(['backup', manifestOnly])).code).toBe(2);
    expect([readdirSync(empty), readdirSync(manifestOnly)]).toEqual([[], ['manifest.json']]);
    // restore --from: no such file, not a log, another run's log.
    const log = readFileSync(runFiles.eventLog(runDir));
    const scenario = join(work.path, 'hello.yaml');
    writeFileSync(scenario, 'not: a log\n');
    const started = await engine.client.request('run.start', { scenario: 'hello.yaml', seed: 6, speed: 'max' });
    const otherRun = (await engine.waitForRun(started.runId)).outDir;
    for (const [from, message] of [
      [join(work.path, 'nope.sqlite'), 'no event log there'],
      [scenario, 'is not a good backup'],
      [runFiles.eventLog(otherRun), 'is of another log: its first event is not this log'],
    ] as const) {
      const result = await runCli(['restore', runDir, '--from', from]);
      expect([result.code, result.stderr]).toEqual([2, expect.stringContaining(message)]);
    }
    expect(readFileSync(runFiles.eventLog(runDir)).equals(log)).toBe(true);
    // A drill never writes over another run.
    const drill = await runCli(['drill', 'network-partition', '--out', runDir]);
    expect([drill.code, drill.stderr]).toEqual([2, expect.stringContaining('output directory is not empty')]);
  });

  it('refuses a writer on a log its head record says more of (or another event of), and leaves the record as it was', () => {
    const dir = join(scratch.path, 'reopen');
    mkdirSync(dir);
    const open = (): SqliteEventStore => new SqliteEventStore(runFiles.eventLog(dir), { headRecordPath: runFiles.headRecord(dir) });
    const writer = open();
    appendSeeded(writer, 6, 2, 500);
    writer.closeFinished();
    // The record as the writer left it: a writer opens again.
    open().closeFinished();
    const hashAt500 = readHashAt(runFiles.eventLog(dir), 500);
    for (const [record, message] of [
      [{ headPosition: 1_200, headHash: 'ef'.repeat(32) }, 'its head record says the log reached 1200, the file ends at 1000: acknowledged events are missing'],
      [{ headPosition: 500, headHash: 'ef'.repeat(32) }, 'its head record names another event at 500 than the log holds'],
    ] as const) {
      const text = JSON.stringify(record);
      writeFileSync(runFiles.headRecord(dir), text);
      expect(() => open()).toThrow(message);
      expect(readFileSync(runFiles.headRecord(dir), 'utf8')).toBe(text);
    }
    // No log at all where the record says there were events: refused, and none is made.
    const bare = join(scratch.path, 'reopen-bare');
    mkdirSync(bare);
    writeFileSync(runFiles.headRecord(bare), JSON.stringify({ headPosition: 3, headHash: 'ef'.repeat(32) }));
    expect(() => new SqliteEventStore(runFiles.eventLog(bare), { headRecordPath: runFiles.headRecord(bare), backgroundCheckpoints: true })).toThrow('its head record says the log reached 3, and there is no log');
    expect(readdirSync(bare)).toEqual(['head.json']);
    writeFileSync(runFiles.headRecord(dir), JSON.stringify({ headPosition: 500, headHash: hashAt500 }));
    const reopened = open();
    expect(reopened.headPosition()).toBe(1_000);
    reopened.closeFinished();
    expect(readHeadRecord(runFiles.headRecord(dir))?.headPosition).toBe(1_000);
  });

  it('reads a head record caught half rewritten as damaged, an empty one as none, and one written before records had a check as it is', () => {
    const path = join(scratch.path, 'head.json');
    const recorder = new HeadRecorder(path);
    expect(readHeadRecordState(path)).toEqual({ state: 'none' });
    recorder.write({ headPosition: 41, headHash: 'a'.repeat(64) });
    const first = readFileSync(path);
    recorder.write({ headPosition: 42, headHash: 'b'.repeat(64) });
    recorder.close();
    expect(readHeadRecordState(path)).toEqual({ state: 'ok', record: { headPosition: 42, headHash: 'b'.repeat(64) } });
    // The first 60 bytes of one record, the rest of the next: valid JSON, a hash of neither.
    const torn = Buffer.concat([first.subarray(0, 60), readFileSync(path).subarray(60)]);
    writeFileSync(path, torn);
    expect(JSON.parse(torn.toString('utf8')) as unknown).toMatchObject({ headPosition: 41 });
    expect(readHeadRecordState(path)).toEqual({ state: 'damaged', detail: 'its check does not match its position and hash' });
    expect(readHeadRecord(path)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ headPosition: 7, headHash: 'c'.repeat(64) }));
    expect(readHeadRecord(path)).toEqual({ headPosition: 7, headHash: 'c'.repeat(64) });
  });

  it('refuses unusable input with exit 2', async () => {
    expect((await runCli(['verify', join(runDir, 'nope')])).code).toBe(2);
    expect((await runCli(['verify', join(runDir, 'manifest.json')])).code).toBe(2);
    expect((await runCli(['verify'])).code).toBe(2);
  });
});
