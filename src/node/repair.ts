/**
 * Repairs a damaged event log. The damaged file is never overwritten: it is renamed aside and
 * kept. The repaired log is the newest backup that verifies, plus every later event of the
 * damaged file whose chain link still verifies. An event that cannot be recovered is replaced
 * by a tombstone ($EventLost) at its position, keeping the original hash so the chain goes on;
 * events known to have existed (from the head record) past the readable end are named too.
 * The report lists exactly which positions were lost.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { genesisHashHex } from '../core/events/encoding.ts';
import { lostEventType, lostStream } from '../core/events/event.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { listBackups, type BackupInfo } from './backups.ts';
import { EventReader } from './event-reader.ts';
import { writeFileAtomic } from './files.ts';
import { readHeadRecord } from './head-record.ts';
import { fileStamp } from './run-files.ts';
import { chainHash, framingOfRow, SqliteEventStore, type ImportedEvent } from './sqlite-event-store.ts';
import type { RawEventRowWithHash } from './sqlite-schema.ts';
import { verifyEventLog, type VerifyReport } from './verify.ts';

export interface RepairOptions {
  readonly backupsDir: string;
  readonly headRecordPath?: string;
  readonly nowMs: number;
  /** Where to write the JSON report (optional). */
  readonly reportPath?: string;
  /** Repair even if verification finds nothing wrong (restore from a backup on purpose). */
  readonly force?: boolean;
  /** Use this backup rather than the newest good one. */
  readonly backupFile?: string;
  readonly onProgress?: (stage: string, fraction: number) => void;
}

export interface RepairReport {
  readonly file: string;
  /** False when the log was intact and nothing was done. */
  readonly repaired: boolean;
  readonly diagnosis: { readonly ok: boolean; readonly firstBadPosition: number | null; readonly problems: VerifyReport['problems']; readonly lostTail: boolean };
  readonly backupUsed: { readonly file: string; readonly headPosition: number } | null;
  readonly backupsRejected: readonly { readonly file: string; readonly reason: string }[];
  /** The damaged file, kept beside the repaired one. */
  readonly damagedCopy: string | null;
  /** Head position the head record says the log had reached, if there is a record. */
  readonly knownHead: number | null;
  readonly recoveredHead: number;
  /** Every position that could not be recovered, in order. */
  readonly lostPositions: readonly number[];
  /** The same, compacted: "12", "40-45". */
  readonly lostRanges: readonly string[];
  readonly tombstones: number;
  readonly wallMs: number;
}

function ranges(positions: readonly number[]): string[] {
  const out: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const position of positions) {
    if (start !== undefined && previous !== undefined && position === previous + 1) {
      previous = position;
      continue;
    }
    if (start !== undefined && previous !== undefined) out.push(start === previous ? String(start) : `${start}-${previous}`);
    start = position;
    previous = position;
  }
  if (start !== undefined && previous !== undefined) out.push(start === previous ? String(start) : `${start}-${previous}`);
  return out;
}

function moveAside(path: string, stamp: string): string {
  const aside = `${path}.damaged-${stamp}`;
  renameSync(path, aside);
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  return aside;
}

/** Reads the damaged log as far as it can: in ranges, falling back to single positions around unreadable pages. */
class Salvage {
  private readonly db: Database.Database | undefined;
  private readonly reader: EventReader | undefined;
  readonly readableHead: number;

  constructor(path: string | null) {
    let db: Database.Database | undefined;
    let reader: EventReader | undefined;
    let head = 0;
    if (path !== null) {
      try {
        db = new Database(path, { readonly: true, fileMustExist: true });
        reader = new EventReader(db);
        try {
          head = (db.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
        } catch {
          head = 0;
        }
      } catch {
        db?.close();
        db = undefined;
        reader = undefined;
      }
    }
    this.db = db;
    this.reader = reader;
    this.readableHead = head;
  }

  /** Rows from `from` to `to`; undefined where a row cannot be read. */
  rows(from: number, to: number): (RawEventRowWithHash | undefined)[] {
    const out: (RawEventRowWithHash | undefined)[] = new Array(to - from + 1).fill(undefined);
    if (this.reader === undefined) return out;
    try {
      for (const row of this.reader.rawRange(from, to)) out[row[0] - from] = row;
      return out;
    } catch {
      // An unreadable page: read what can be read one position at a time.
      const single = this.db?.prepare(`SELECT position, stream_id, version, lower(hex(id)), type_id, schema_version, payload, virtual_time_us, lower(hex(causation_id)), correlation_id, lower(hex(hash)) FROM events WHERE position = ?`).raw(true);
      for (let position = from; position <= to; position++) {
        try {
          out[position - from] = single?.get(position) as RawEventRowWithHash | undefined;
        } catch {
          out[position - from] = undefined;
        }
      }
      return out;
    }
  }

  name(kind: 'stream' | 'type', id: number): string | undefined {
    try {
      return kind === 'stream' ? this.reader?.streamName(id) : this.reader?.typeName(id);
    } catch {
      return undefined;
    }
  }

  framing(row: RawEventRowWithHash): string | undefined {
    try {
      return this.reader === undefined ? undefined : framingOfRow(this.reader, row);
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.db?.close();
  }
}

export async function repairEventLog(path: string, options: RepairOptions): Promise<RepairReport> {
  const started = performance.now();
  const stamp = fileStamp(options.nowMs);
  const knownHead = options.headRecordPath === undefined ? null : (readHeadRecord(options.headRecordPath)?.headPosition ?? null);
  options.onProgress?.('verifying', 0);
  let diagnosis: VerifyReport | undefined;
  try {
    diagnosis = existsSync(path) ? verifyEventLog(path, (checked, total) => options.onProgress?.('verifying', total > 0 ? checked / total : 1)) : undefined;
  } catch (error) {
    if (!(error instanceof AuraError) || error.code !== 'not_found') throw error;
  }
  const lostTail = knownHead !== null && (diagnosis?.headPosition ?? 0) < knownHead;
  const summary = { ok: diagnosis?.ok ?? false, firstBadPosition: diagnosis?.firstBadPosition ?? (diagnosis === undefined ? 1 : lostTail ? (diagnosis.headPosition + 1) : null), problems: diagnosis?.problems ?? [], lostTail };
  if (diagnosis?.ok === true && !lostTail && options.force !== true) {
    return { file: path, repaired: false, diagnosis: summary, backupUsed: null, backupsRejected: [], damagedCopy: null, knownHead, recoveredHead: diagnosis.headPosition, lostPositions: [], lostRanges: [], tombstones: 0, wallMs: Math.round(performance.now() - started) };
  }

  const damagedCopy = existsSync(path) ? moveAside(path, stamp) : null;
  // The newest backup that verifies completely is the base.
  const rejected: { file: string; reason: string }[] = [];
  let base: BackupInfo | undefined;
  const candidates = options.backupFile === undefined ? listBackups(options.backupsDir) : [{ file: options.backupFile, headPosition: 0, headHash: '', createdAtMs: 0, bytes: 0 }];
  for (const candidate of candidates) {
    options.onProgress?.('checking backups', 0);
    try {
      const check = verifyEventLog(candidate.file);
      if (check.ok) {
        base = { ...candidate, headPosition: check.headPosition, headHash: check.headHash };
        break;
      }
      rejected.push({ file: candidate.file, reason: check.problems[0]?.detail ?? 'failed verification' });
    } catch (error) {
      rejected.push({ file: candidate.file, reason: (error as Error).message });
    }
  }

  const building = `${path}.repairing-${stamp}`;
  rmSync(building, { force: true });
  if (base !== undefined) copyFileSync(base.file, building);
  const store = new SqliteEventStore(building, { tailCheckEvents: 0 });
  const lost: number[] = [];
  let tombstones = 0;
  const salvage = new Salvage(damagedCopy);
  try {
    let previous: string | undefined = store.headHash();
    const startAt = store.headPosition() + 1;
    const end = salvage.readableHead;
    const chunk = 2_000;
    for (let from = startAt; from <= end; from += chunk) {
      const to = Math.min(end, from + chunk - 1);
      const rows = salvage.rows(from, to);
      const batch: ImportedEvent[] = [];
      for (let offset = 0; offset < rows.length; offset++) {
        const position = from + offset;
        const row = rows[offset];
        const framing = row === undefined ? undefined : salvage.framing(row);
        const verified = row !== undefined && framing !== undefined && previous !== undefined && chainHash(previous, framing) === row[10];
        if (verified && row !== undefined) {
          batch.push({
            position,
            stream: salvage.name('stream', row[1]) as string,
            version: row[2],
            idHex: row[3],
            type: salvage.name('type', row[4]) as string,
            schemaVersion: row[5],
            payloadText: row[6],
            virtualTimeUs: row[7],
            causationHex: row[8] === '' ? undefined : row[8],
            correlationId: row[9] ?? undefined,
            hashHex: row[10],
          });
          previous = row[10];
          continue;
        }
        // Lost: a tombstone in its place. Its stored hash (when readable) lets the next event verify.
        lost.push(position);
        tombstones += 1;
        const hashHex: string = row !== undefined && /^[0-9a-f]{64}$/.test(row[10]) ? row[10] : chainHash(previous ?? genesisHashHex, `lost\n${position}`);
        const knownStream = row === undefined ? undefined : salvage.name('stream', row[1]);
        batch.push(tombstone(position, knownStream, row?.[2], hashHex, batch, store));
        previous = row === undefined ? undefined : hashHex;
      }
      // A stream whose event was lost without a readable stream name keeps a version gap there.
      store.importEvents(batch, { allowVersionGaps: true });
      options.onProgress?.('salvaging', end > startAt ? (to - startAt + 1) / (end - startAt + 1) : 1);
    }
    // Positions known to have existed beyond what could be read.
    for (let position = Math.max(store.headPosition(), salvage.readableHead) + 1; knownHead !== null && position <= knownHead; position++) lost.push(position);
  } finally {
    salvage.close();
    // A self-contained file, like a finished run's; a writer reopening it switches back to WAL.
    store.closeFinished();
  }
  for (const suffix of ['-wal', '-shm']) rmSync(building + suffix, { force: true });
  renameSync(building, path);
  const recovered = new Database(path, { readonly: true });
  const recoveredHead = (recovered.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
  recovered.close();
  const report: RepairReport = {
    file: path,
    repaired: true,
    diagnosis: summary,
    backupUsed: base === undefined ? null : { file: base.file, headPosition: base.headPosition },
    backupsRejected: rejected,
    damagedCopy,
    knownHead,
    recoveredHead,
    lostPositions: lost,
    lostRanges: ranges(lost),
    tombstones,
    wallMs: Math.round(performance.now() - started),
  };
  if (options.reportPath !== undefined) writeFileAtomic(options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** A tombstone for a lost position: in its own stream at its version when known, else in $lost. */
function tombstone(position: number, stream: string | undefined, version: number | undefined, hashHex: string, batch: readonly ImportedEvent[], store: SqliteEventStore): ImportedEvent {
  const inBatch = (name: string): number => batch.filter((event) => event.stream === name).length;
  const nextVersionOf = (name: string): number => store.streamVersion(name) + inBatch(name) + 1;
  const placeInStream = stream !== undefined && version !== undefined && version === nextVersionOf(stream);
  const target = placeInStream ? stream : lostStream;
  return {
    position,
    stream: target,
    version: placeInStream ? version : nextVersionOf(lostStream),
    idHex: createHash('sha256').update(`lost:${position}:${hashHex}`).digest('hex').slice(0, 32),
    type: lostEventType,
    schemaVersion: 1,
    payloadText: JSON.stringify({ position, stream: stream ?? null, version: version ?? null }),
    virtualTimeUs: 0,
    causationHex: undefined,
    correlationId: undefined,
    hashHex,
  };
}
