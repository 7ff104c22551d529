/**
 * Repairs a damaged event log. The damaged file is never overwritten: it is renamed aside and
 * kept. The repaired log is the newest backup that verifies, plus every later event of the
 * damaged file whose chain link still verifies. An event that cannot be recovered is replaced
 * by a tombstone ($EventLost) at its position, keeping the original hash so the chain goes on;
 * events known to have existed (from the head record) past the readable end are named too.
 * The report lists exactly which positions were lost.
 */
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { genesisHashHex } from '../core/events/encoding.ts';
import { lostClaim, lostEventType, lostStream } from '../core/events/event.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { fileDigest, listBackups, type BackupInfo } from './backups.ts';
import { unflipped } from './bit-flips.ts';
import { mendNames, type MendedName } from './name-mending.ts';
import { PageScan } from './page-scan.ts';
import { mendSchema } from './schema-mending.ts';
import { checkRange, isFinding, problemsMax } from './chain-check.ts';
import { EventReader } from './event-reader.ts';
import { useNativeChain } from './native-chain.ts';
import { removeDatabaseFile, writeFileAtomic } from './files.ts';
import { tombstoneId } from './hashing.ts';
import { readHeadRecord, type HeadRecord } from './head-record.ts';
import { storedHashAt } from './run-ends.ts';
import { fileStamp } from './run-files.ts';
import { chainHash, framingOfRow, SqliteEventStore, type ImportedEvent } from './sqlite-event-store.ts';
import { eventColumnsWithHash, type RawEventRowWithHash } from './sqlite-schema.ts';
import { verifyEventLog, type VerifyReport } from './verify.ts';
import { verifyEventLogParallel } from './verify-parallel.ts';

export interface RepairOptions {
  readonly backupsDir: string;
  readonly headRecordPath?: string;
  readonly nowMs: number;
  /** Where to write the JSON report (optional). */
  readonly reportPath?: string;
  /**
   * Repair even if verification finds nothing wrong: restore from a backup on purpose (the log is
   * built from the backup and the later events that verify, never patched in place).
   */
  readonly force?: boolean;
  /** Use this backup rather than the newest good one. */
  readonly backupFile?: string;
  readonly onProgress?: (stage: string, fraction: number) => void;
  /** A verification of the damaged log already made (the repair does not verify it again). */
  readonly diagnosis?: VerifyReport;
  /** Verify on worker threads (verify-parallel.ts) rather than on this thread. */
  readonly parallel?: boolean;
  /** Where the log ended by another word of the run's (a completed run's manifest): used when there is no head record. */
  readonly knownEnd?: HeadRecord;
}

export interface RepairReport {
  readonly file: string;
  /** How: bad rows patched in a copy of the log, a backup plus the rows after it copied in SQL, or event by event. */
  readonly method: 'none' | 'patch' | 'copy' | 'import';
  /** False when nothing was done: the log was intact, or its only findings were losses an earlier repair declared. */
  readonly repaired: boolean;
  /** Verification of the damaged log; `declaredLost`: the positions earlier repairs declared lost (tombstones), which no repair brings back. */
  readonly diagnosis: { readonly ok: boolean; readonly firstBadPosition: number | null; readonly problems: VerifyReport['problems']; readonly lostTail: boolean; readonly declaredLost: readonly number[] };
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
  /** Stream and event type names that had a bit flipped, put right (every event of theirs failed its chain link). */
  readonly namesMended: readonly MendedName[];
  /** Schema objects whose row had a bit flipped (its SQL, name, table name or cell header), put right (the file could not be read at all). */
  readonly schemaMended: readonly string[];
  /** Fields of the file's header that had a bit flipped, put right (SQLite could not open the file). */
  readonly headerMended: readonly string[];
  readonly wallMs: number;
}

/** Sorted positions as text: their ranges, the first `max` of them, then how many more (a long list of losses stays one readable line). */
export function positionRangesText(positions: readonly number[], max = 20): string {
  const ranges = positionRanges(positions);
  return `${ranges.slice(0, max).join(', ')}${ranges.length > max ? `, … (${(ranges.length - max).toLocaleString('en')} more ranges)` : ''}`;
}

/** Ascending positions compacted: "12", "40-45". */
export function positionRanges(positions: readonly number[]): string[] {
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

/** Undoes moveAside: the damaged file (and its WAL) back at `path`. */
function moveBack(aside: string, path: string): void {
  renameSync(aside, path);
  for (const suffix of ['-wal', '-shm']) if (existsSync(aside + suffix)) renameSync(aside + suffix, path + suffix);
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

  /** `head`: the head record, if the log has one (it names the last event's hash). */
  constructor(
    private readonly path: string | null,
    private readonly head?: HeadRecord,
  ) {
    let db: Database.Database | undefined;
    let reader: EventReader | undefined;
    let readable = 0;
    if (path !== null) {
      try {
        db = new Database(path, { readonly: true, fileMustExist: true });
        reader = new EventReader(db);
        try {
          readable = (db.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
        } catch {
          readable = 0;
        }
      } catch {
        db?.close();
        db = undefined;
        reader = undefined;
      }
    }
    this.db = db;
    this.reader = reader;
    this.readableHead = readable;
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

  /** Per stream name: the positions and versions of its readable rows, in position order (read once, when first asked). */
  private streamRows: Map<string, { positions: number[]; versions: number[] }> | undefined;

  /**
   * The version of the first readable row of `stream` after `position` in the damaged file
   * (damaged or not), or undefined: a tombstone may take a version only if no later row claims it.
   */
  versionAfter(stream: string, position: number): number | undefined {
    if (this.streamRows === undefined) {
      this.streamRows = new Map();
      const rows = this.db?.prepare('SELECT position, stream_id, version FROM events WHERE position BETWEEN ? AND ? ORDER BY position').raw(true);
      const page = 50_000;
      for (let from = 1; rows !== undefined && from <= this.readableHead; from += page) {
        try {
          for (const [at, streamId, version] of rows.iterate(from, from + page - 1) as Iterable<[number, unknown, unknown]>) {
            const name = typeof streamId === 'number' ? this.name('stream', streamId) : undefined;
            if (name === undefined || typeof version !== 'number') continue;
            let entry = this.streamRows.get(name);
            if (entry === undefined) this.streamRows.set(name, (entry = { positions: [], versions: [] }));
            entry.positions.push(at);
            entry.versions.push(version);
          }
        } catch {
          // An unreadable page: its rows become tombstones whose stream is unknown ($lost), so they claim no version.
        }
      }
    }
    const entry = this.streamRows.get(stream);
    if (entry === undefined) return undefined;
    const index = firstAfter(entry.positions, position);
    return entry.versions[index];
  }

  /** Guesses of other streams left for correct() in this repair. */
  private readonly budget = { left: guessBudget };
  private ids: { streams: number[]; types: number[] } | undefined;
  /** By position, up to the stream index's: the stream id and version its one chunk gives (NaN: none, or more than one). */
  private index: { streamIds: Float64Array; versions: Float64Array } | undefined;

  /**
   * The stream and version the damaged file's stream index gives a position whose row cannot be
   * read (exactly one chunk holds it, up to the index's position), or undefined. Derived data,
   * read once: it places that position's tombstone in its stream, where a later row of that
   * stream leaves room (tombstone()), so the stream has no gap.
   */
  indexedAt(position: number): { stream: string; version: number } | undefined {
    if (this.index === undefined) {
      let covered = 0;
      try {
        covered = Math.min(this.db === undefined ? 0 : (indexedPosition(this.db) ?? 0), this.readableHead);
      } catch {
        covered = 0;
      }
      let streamIds = new Float64Array(0);
      let versions = new Float64Array(0);
      let seen = new Uint8Array(0);
      try {
        streamIds = new Float64Array(covered + 1).fill(Number.NaN);
        versions = new Float64Array(covered + 1).fill(Number.NaN);
        seen = new Uint8Array(covered + 1);
        for (const [at, streamId, version] of this.db === undefined ? [] : indexEntries(this.db, 'main')) {
          if (!Number.isSafeInteger(at) || at < 1 || at > covered) continue;
          seen[at] = Math.min(2, (seen[at] as number) + 1);
          streamIds[at] = streamId;
          versions[at] = version;
        }
      } catch {
        // An unreadable index (or one too large to hold here) gives nothing: the tombstone goes to $lost.
        streamIds = new Float64Array(0);
        versions = new Float64Array(0);
        seen = new Uint8Array(0);
      }
      for (let at = 1; at < seen.length; at++) if (seen[at] !== 1) streamIds[at] = Number.NaN;
      this.index = { streamIds, versions };
    }
    const streamId = this.index.streamIds[position];
    const version = this.index.versions[position];
    if (streamId === undefined || version === undefined || Number.isNaN(streamId)) return undefined;
    const stream = this.name('stream', streamId);
    return stream === undefined || stream === lostStream ? undefined : { stream, version };
  }

  /**
   * The row as it was written, found by its hashes (restoreByHash): its hash column alone
   * changed, or its stream, version or type. Guesses: its own stream with every type, at the
   * version it needs next (`nextVersion`) or the one it says if that is later (a loss before it
   * may have left a gap); then every other stream, at either, with its type (budgeted).
   */
  correct(row: RawEventRowWithHash, previousHash: string, nextVersion: (stream: string) => number): RawEventRowWithHash | undefined {
    if (this.db === undefined) return undefined;
    let ids: { streams: number[]; types: number[] };
    try {
      ids = this.ids ??= { streams: this.db.prepare('SELECT stream_id FROM streams').pluck().all() as number[], types: this.db.prepare('SELECT type_id FROM event_types').pluck().all() as number[] };
    } catch {
      // No guesses without the ids; the hash check needs none.
      ids = { streams: [], types: [] };
    }
    return restoreByHash(row, previousHash, this.rows(row[0] + 1, row[0] + 1)[0], (candidate) => this.framing(candidate), this.guesses(row, nextVersion, ids), this.budget, this.head, () => storedPayload(this.db, 'main', row[0]));
  }

  private *guesses(row: RawEventRowWithHash, nextVersion: (stream: string) => number, ids: { streams: number[]; types: number[] }): Generator<Guess> {
    const versionsFor = (stream: string): number[] => {
      const next = nextVersion(stream);
      return typeof row[2] === 'number' && Number.isSafeInteger(row[2]) && row[2] > next ? [next, row[2]] : [next];
    };
    const own = this.name('stream', row[1]);
    if (own !== undefined && own !== lostStream) {
      const typeIds = [row[4], ...ids.types.filter((id) => id !== row[4])];
      for (const version of versionsFor(own)) yield { streamId: row[1], version, typeIds };
    }
    for (const streamId of ids.streams) {
      const stream = streamId === row[1] ? undefined : this.name('stream', streamId);
      if (stream === undefined || stream === lostStream) continue;
      for (const version of versionsFor(stream)) yield { streamId, version, typeIds: [row[4]], budgeted: true };
    }
  }

  name(kind: 'stream' | 'type', id: number): string | undefined {
    try {
      return kind === 'stream' ? this.reader?.streamName(id) : this.reader?.typeName(id);
    } catch {
      return this.indexedName(kind, id);
    }
  }

  /** Per kind, every id and name the names' UNIQUE index holds (read once, when first asked). */
  private indexedNames: { readonly stream: Map<number, string>; readonly type: Map<number, string> } | undefined;

  /**
   * A name the table cannot give: a flipped cell pointer puts a row out of order, and SQLite's
   * search by id passes it by (the row is there, the lookup finds nothing). The names' UNIQUE
   * index holds every name with its id, and a scan of the index alone (covering) reads it
   * without the table. Whether a name is an event's, its hash decides, as for every name here.
   */
  private indexedName(kind: 'stream' | 'type', id: number): string | undefined {
    this.indexedNames ??= { stream: this.namesByIndex('streams', 'stream_id'), type: this.namesByIndex('event_types', 'type_id') };
    return this.indexedNames[kind].get(id);
  }

  private namesByIndex(table: 'streams' | 'event_types', idColumn: 'stream_id' | 'type_id'): Map<number, string> {
    const names = new Map<number, string>();
    try {
      const rows = this.db?.prepare(`SELECT ${idColumn}, name FROM ${table} INDEXED BY sqlite_autoindex_${table}_1`).raw(true).all() as [unknown, unknown][] | undefined;
      for (const [id, name] of rows ?? []) if (typeof id === 'number' && typeof name === 'string' && !names.has(id)) names.set(id, name);
    } catch {
      // An unreadable index gives no names.
    }
    return names;
  }

  framing(row: RawEventRowWithHash): string | undefined {
    try {
      return this.reader === undefined ? undefined : framingOfRow(this.names, row);
    } catch {
      return undefined;
    }
  }

  /** Names for framing a row: the table's, else the index's (`name`); an id neither names throws. */
  private readonly names = {
    streamName: (id: number): string => this.known('stream', id),
    typeName: (id: number): string => this.known('type', id),
  };

  private known(kind: 'stream' | 'type', id: number): string {
    const name = this.name(kind, id);
    if (name === undefined) throw new AuraError('damaged', `the damaged log names no ${kind} ${id}`);
    return name;
  }

  /** The damaged file's pages read directly (page-scan.ts): built at the first use, null when the file cannot be scanned. */
  private pageScan: PageScan | null | undefined;

  private scan(): PageScan | undefined {
    if (this.pageScan === undefined) this.pageScan = (this.path === null ? undefined : PageScan.open(this.path)) ?? null;
    return this.pageScan ?? undefined;
  }

  /** Whether any row of positions from..to is there, in SQLite or in the pages. */
  rowsWithin(from: number, to: number): boolean {
    return this.rows(from, to).some((row) => row !== undefined) || (this.scan()?.hasRowBetween(from, to) ?? false);
  }

  /**
   * The last position worth reading: the readable head, a later event-shaped row the B-tree no
   * longer reaches but not past `knownHead` (the head record's, when there is one: a flipped
   * rowid can put a row anywhere), or `knownHead` (its last rows may have moved).
   */
  lastPosition(knownHead: number | null): number {
    return Math.max(this.readableHead, Math.min(this.scan()?.maxPosition ?? 0, knownHead ?? Number.MAX_SAFE_INTEGER), knownHead ?? 0);
  }

  /** True past every row in the file (SQLite's and the pages'). */
  pastRows(position: number): boolean {
    return position > Math.max(this.readableHead, this.scan()?.maxPosition ?? 0);
  }

  /**
   * The event at `position` from the damaged file's pages, when SQLite cannot give it (a
   * subtree cut off, a cell it cannot decode) or gives it damaged: a cell whose chain hash
   * verifies after `previousHash`, as stored, with a bit of its header flipped, with one bit of a
   * value flipped (unflipped), or at a rowid one bit away (the cell moved). Undefined when none
   * verifies.
   */
  fromPages(position: number, previousHash: string, read: RawEventRowWithHash | undefined): RawEventRowWithHash | undefined {
    const scan = this.scan();
    if (scan === undefined) return undefined;
    try {
      return rowFromPages(scan, position, previousHash, read, (row) => this.framing(row), this.budget);
    } catch {
      // The file cannot be read there (an I/O error): no more page reading in this repair.
      this.pageScan?.close();
      this.pageScan = null;
      return undefined;
    }
  }

  close(): void {
    this.db?.close();
    this.pageScan?.close();
  }
}

export async function repairEventLog(path: string, options: RepairOptions): Promise<RepairReport> {
  const started = performance.now();
  const stamp = fileStamp(options.nowMs);
  const headRecord = (options.headRecordPath === undefined ? undefined : readHeadRecord(options.headRecordPath)) ?? options.knownEnd;
  const knownHead = headRecord?.headPosition ?? null;
  options.onProgress?.('verifying', 0);
  let diagnosis: VerifyReport | undefined = options.diagnosis;
  const verifyProgress = (checked: number, total: number): void => options.onProgress?.('verifying', total > 0 ? checked / total : 1);
  try {
    if (diagnosis === undefined && existsSync(path)) diagnosis = options.parallel === true ? await verifyEventLogParallel(path, { onProgress: verifyProgress }) : verifyEventLog(path, verifyProgress);
  } catch (error) {
    if (!(error instanceof AuraError) || error.code !== 'not_found') throw error;
  }
  const lostTail = knownHead !== null && (diagnosis?.headPosition ?? 0) < knownHead;
  const summary = { ok: diagnosis?.ok ?? false, firstBadPosition: diagnosis?.firstBadPosition ?? (diagnosis === undefined ? 1 : lostTail ? (diagnosis.headPosition + 1) : null), problems: diagnosis?.problems ?? [], lostTail, declaredLost: diagnosis?.declaredLost ?? [] };
  // Losses an earlier repair declared (tombstones) are all that is wrong: a repair has nothing to
  // put right (it would only copy the log and keep another full copy of it aside).
  if (diagnosis !== undefined && (diagnosis.ok || diagnosis.onlyDeclaredLosses) && !lostTail && options.force !== true) {
    return { file: path, method: 'none', repaired: false, diagnosis: summary, backupUsed: null, backupsRejected: [], damagedCopy: null, knownHead, recoveredHead: diagnosis.headPosition, lostPositions: [], lostRanges: [], tombstones: 0, namesMended: [], schemaMended: [], headerMended: [], wallMs: Math.round(performance.now() - started) };
  }

  // A backup named by the caller must be a good backup of this log: anything else is refused before anything moves; it is the base.
  const chosen = options.backupFile === undefined ? undefined : chosenBackup(options.backupFile, path, headRecord, summary.firstBadPosition !== 1);
  // The backups are listed before the damaged file moves: a list that fails leaves the log where it was.
  const candidates = chosen === undefined ? listBackups(options.backupsDir) : [];
  const damagedCopy = existsSync(path) ? moveAside(path, stamp) : null;
  // The newest backup that verifies completely (but for losses the log declares too) is the base.
  const declaredByLog = new Set(diagnosis?.declaredLost ?? []);
  const rejected: { file: string; reason: string }[] = [];
  let base: BackupInfo | undefined = chosen;
  for (const candidate of candidates) {
    options.onProgress?.('checking backups', 0);
    try {
      const trusted = await trustedByDigest(candidate, summary.firstBadPosition, damagedCopy);
      if (trusted === 'changed') {
        rejected.push({ file: candidate.file, reason: 'the file changed since it was written (SHA-256 differs)' });
        continue;
      }
      if (trusted !== undefined) {
        base = trusted;
        break;
      }
      const check = verifyEventLog(candidate.file);
      // A backup whose only findings are losses the log itself declares holds nothing the log does not.
      if (check.ok || (check.onlyDeclaredLosses && check.declaredLost.every((position) => declaredByLog.has(position)))) {
        base = { ...candidate, headPosition: check.headPosition, headHash: check.headHash };
        break;
      }
      rejected.push({ file: candidate.file, reason: check.problems[0]?.detail ?? 'failed verification' });
    } catch (error) {
      rejected.push({ file: candidate.file, reason: (error as Error).message });
    }
  }

  const building = `${path}.repairing-${stamp}`;
  const mending = `${path}.mending-${stamp}`;
  let namesMended: MendedName[] = [];
  let schemaMended: string[] = [];
  let headerMended: string[] = [];
  let method: RepairReport['method'] = 'import';
  const lost: number[] = [];
  let tombstones = 0;
  try {
    const { source, sourceDiagnosis, ...mended } = await mendedSource(damagedCopy, diagnosis, mending, options.parallel === true);
    namesMended = mended.namesMended;
    schemaMended = mended.schemaMended;
    headerMended = mended.headerMended;
    rmSync(building, { force: true });
    // Fastest first: patch a copy of the damaged file where only rows are bad; else the newest
    // good backup plus the rows after it copied in SQL; else event by event (below).
    // A restore (forced, or from a chosen backup) builds from the backup: never the log patched in place.
    const restoring = options.force === true || options.backupFile !== undefined;
    const patched = source !== null && sourceDiagnosis !== undefined && !restoring ? patchInPlace(building, source, sourceDiagnosis, base, headRecord) : undefined;
    let bulkLost = patched?.lost;
    if (patched !== undefined) {
      method = 'patch';
      // The patch starts from the damaged file: a backup is used only where a row came back from it.
      if (!patched.backupRows) base = undefined;
    }
    if (bulkLost === undefined) {
      rmSync(building, { force: true });
      if (base !== undefined) copyFileSync(base.file, building);
      bulkLost = source !== null && sourceDiagnosis !== undefined ? bulkSalvage(building, source, sourceDiagnosis, headRecord, (fraction) => options.onProgress?.('salvaging', fraction)) : undefined;
      if (bulkLost !== undefined) method = 'copy';
    }
    for (const position of bulkLost ?? []) lost.push(position);
    tombstones = lost.length;
    // A patched or copied log's stream index is rebuilt by the next writer that opens it:
    // meta.stream_index_position still says where the chunks it kept end.
    if (bulkLost === undefined) {
      const store = new SqliteEventStore(building, { tailCheckEvents: 0 });
      const salvage = new Salvage(source, headRecord);
      try {
        let previous: string | undefined = store.headHash();
        const startAt = store.headPosition() + 1;
        const end = salvage.lastPosition(knownHead);
        const chunk = 2_000;
        let ended = false;
        for (let from = startAt; from <= end && !ended; from += chunk) {
          const to = Math.min(end, from + chunk - 1);
          const rows = salvage.rows(from, to);
          const batch: ImportedEvent[] = [];
          for (let offset = 0; offset < rows.length; offset++) {
            const position = from + offset;
            const row = rows[offset];
            const framing = row === undefined ? undefined : salvage.framing(row);
            const verified: boolean = row !== undefined && framing !== undefined && previous !== undefined && chainHash(previous, framing) === row[10];
            // Damage to its stream, version or type columns alone: the stored hash tells the true values.
            const corrected: RawEventRowWithHash | undefined = verified || row === undefined || previous === undefined ? row : salvage.correct(row, previous, (name) => nextVersionIn(store, batch, name));
            // What SQLite cannot read (or reads damaged) may still be whole in the file's pages.
            const candidate = verified || (corrected !== undefined && corrected !== row) || previous === undefined ? undefined : salvage.fromPages(position, previous, row);
            // Its version must still be free in its stream (a tombstone placed by a damaged index could have taken it).
            const fromPages = candidate !== undefined && candidate[2] >= nextVersionIn(store, batch, salvage.name('stream', candidate[1]) ?? '') ? candidate : undefined;
            if (fromPages !== undefined || (corrected !== undefined && (verified || corrected !== row))) {
              const kept: RawEventRowWithHash = fromPages ?? (corrected as RawEventRowWithHash);
              batch.push({
                position,
                stream: salvage.name('stream', kept[1]) as string,
                version: kept[2],
                idHex: kept[3],
                type: salvage.name('type', kept[4]) as string,
                schemaVersion: kept[5],
                payloadText: kept[6],
                virtualTimeUs: kept[7],
                causationHex: kept[8] === '' ? undefined : kept[8],
                correlationId: kept[9] ?? undefined,
                hashHex: kept[10],
              });
              previous = kept[10];
              continue;
            }
            // A tombstone an earlier repair wrote comes across as the loss it declares (in its
            // stream when it fits now: an older build put it in $lost), not as a new loss.
            const declared = row === undefined ? undefined : declaredLoss(salvage, row);
            if (declared !== undefined && row !== undefined) {
              batch.push(tombstone(position, declared.stream, declared.version, row[10], batch, store, salvage));
              previous = row[10];
              continue;
            }
            // Where the file holds no row any more, the rest is lost (up to the head record's position: tombstoneTail).
            // Past the head record's position (without one, past the last row SQLite reads), a
            // position with no row and none in the next 64 is the end of the log, not a hole: a
            // rowid a flipped bit made large is no event, and nothing past it is lost.
            if (row === undefined && (salvage.pastRows(position) || (position > (knownHead ?? salvage.readableHead) && !salvage.rowsWithin(position + 1, position + 64)))) {
              ended = true;
              break;
            }
            // Lost: a tombstone in its place. Its stored hash (when readable) lets the next event verify.
            lost.push(position);
            tombstones += 1;
            const hashHex = tombstoneHash(row?.[10], previous, position, headRecord);
            // An unreadable row's stream and version: what the stream index says of its position.
            const indexed = row === undefined ? salvage.indexedAt(position) : undefined;
            const knownStream = row === undefined ? indexed?.stream : salvage.name('stream', row[1]);
            // The index's word is kept only where it fits: a claim that does not is no better than none.
            batch.push(tombstone(position, knownStream, row === undefined ? indexed?.version : row[2], hashHex, batch, store, salvage, indexed === undefined));
            previous = row === undefined ? undefined : hashHex;
          }
          // A stream whose event was lost without a readable stream name keeps a version gap there.
          store.importEvents(batch, { allowVersionGaps: true });
          options.onProgress?.('salvaging', end > startAt ? (to - startAt + 1) / (end - startAt + 1) : 1);
        }
      } finally {
        salvage.close();
        // A self-contained file, like a finished run's; a writer reopening it switches back to WAL.
        store.closeFinished();
      }
    }
    const tail = tombstoneTail(building, headRecord);
    for (const position of tail) lost.push(position);
    tombstones += tail.length;
    markRepaired(building, stamp);
    for (const suffix of ['-wal', '-shm']) rmSync(building + suffix, { force: true });
    renameSync(building, path);
  } catch (error) {
    // Nothing half-built takes the log's place: the damaged file goes back where it was first,
    // then what was being built goes (as far as it can).
    if (damagedCopy !== null && !existsSync(path)) moveBack(damagedCopy, path);
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        rmSync(building + suffix, { force: true });
      } catch {
        // Not a file of the repair's making: left alone.
      }
    }
    throw error;
  } finally {
    for (const file of [mending, `${mending}-schema`]) removeDatabaseFile(file);
  }
  const recovered = new Database(path, { readonly: true });
  const recoveredHead = (recovered.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
  recovered.close();
  const report: RepairReport = {
    file: path,
    method,
    repaired: true,
    diagnosis: summary,
    backupUsed: base === undefined ? null : { file: base.file, headPosition: base.headPosition },
    backupsRejected: rejected,
    damagedCopy,
    knownHead,
    recoveredHead,
    lostPositions: lost,
    lostRanges: positionRanges(lost),
    tombstones,
    namesMended,
    schemaMended,
    headerMended,
    wallMs: Math.round(performance.now() - started),
  };
  if (options.reportPath !== undefined) writeFileAtomic(options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/**
 * What the repair reads as the damaged file: the damaged file itself, or a copy of it (at
 * `mending`, `${mending}-schema`) with its header's fields and its schema's rows
 * (schema-mending.ts: when SQLite could not open it) and then stream and type names
 * (name-mending.ts) put right where one bit of them flipped, with the copy's verification. A
 * copy whose verification fails is not used.
 */
async function mendedSource(
  damaged: string | null,
  diagnosis: VerifyReport | undefined,
  mending: string,
  parallel: boolean,
): Promise<{ source: string | null; sourceDiagnosis: VerifyReport | undefined; namesMended: MendedName[]; schemaMended: string[]; headerMended: string[] }> {
  const out = { source: damaged, sourceDiagnosis: diagnosis, namesMended: [] as MendedName[], schemaMended: [] as string[], headerMended: [] as string[] };
  const verified = async (file: string): Promise<VerifyReport | undefined> => {
    try {
      return parallel ? await verifyEventLogParallel(file) : verifyEventLog(file);
    } catch {
      return undefined;
    }
  };
  const unopenable = diagnosis === undefined || diagnosis.problems.some((problem) => problem.kind === 'unreadable' || (problem.kind === 'integrity' && /^cannot (open|read):/.test(problem.detail)));
  const schema = damaged === null || !unopenable ? undefined : mendSchema(damaged, `${mending}-schema`);
  const schemaCheck = schema === undefined ? undefined : await verified(schema.file);
  if (schema !== undefined && schemaCheck !== undefined) Object.assign(out, { source: schema.file, sourceDiagnosis: schemaCheck, schemaMended: schema.objects, headerMended: schema.header });
  const names = out.source !== null && out.sourceDiagnosis !== undefined ? mendNames(out.source, out.sourceDiagnosis, mending) : undefined;
  const namesCheck = names === undefined ? undefined : await verified(names.file);
  if (names !== undefined && namesCheck !== undefined) Object.assign(out, { source: names.file, sourceDiagnosis: namesCheck, namesMended: names.names });
  return out;
}

/**
 * The bad event positions after `above`, when the fast paths may run: verification read every
 * position and listed every problem (fewer than its cap, none of them an unreadable page, a hole
 * or a head mismatch). Undefined otherwise. Bad means its chain link fails: an event whose link
 * verifies is what was written (its stream and version are in what it hashes), so a stream
 * version out of sequence there (a gap left by an event lost before it) is no reason to drop it.
 */
function fastPathBadPositions(diagnosis: VerifyReport, above = 0): number[] | undefined {
  // Findings are listed first and capped apart from declared losses: fewer than the cap listed is every one.
  if (diagnosis.problems.filter(isFinding).length >= problemsMax) return undefined;
  if (diagnosis.problems.some((problem) => problem.kind === 'unreadable' || problem.kind === 'missing_position' || problem.kind === 'head')) return undefined;
  const positions = diagnosis.problems.filter((problem) => problem.kind === 'chain' && problem.position !== null && problem.position > above).map((problem) => problem.position as number);
  return [...new Set(positions)].sort((a, b) => a - b);
}

/**
 * A row whose hash column alone was damaged: its values give a hash after `previousHash`, and
 * when the next event's stored hash links to exactly that one (a SHA-256 match), the row is the
 * event the next one was written after; for the last event, when the head record names that
 * hash. Returns the row with that hash, or undefined (no witness, or one that does not accept
 * it; a row that cannot be framed).
 */
function rehashed(row: RawEventRowWithHash, previousHash: string, next: RawEventRowWithHash | undefined, framing: (row: RawEventRowWithHash) => string | undefined, head: HeadRecord | undefined): RawEventRowWithHash | undefined {
  if (!/^[0-9a-f]{64}$/.test(previousHash)) return undefined;
  const own = framing(row);
  if (own === undefined) return undefined;
  const hash = chainHash(previousHash, own);
  if (hash === row[10]) return undefined;
  // The last event has no next one: the head record, written after its commit, names its hash.
  if (next === undefined) return head !== undefined && head.headPosition === row[0] && head.headHash === hash ? withHash(row, hash) : undefined;
  const after = framing(next);
  return after !== undefined && chainHash(hash, after) === next[10] ? withHash(row, hash) : undefined;
}

function withHash(row: RawEventRowWithHash, hash: string): RawEventRowWithHash {
  const restored: RawEventRowWithHash = [...row];
  restored[10] = hash;
  return restored;
}

/** One guess at a damaged row's true values: a stream id and version, tried with each type id in turn. */
interface Guess {
  readonly streamId: number;
  readonly version: number;
  readonly typeIds: readonly number[];
  /** Counted against the budget (guesses of other streams: as many as the log has streams). */
  readonly budgeted?: boolean;
}

/** Budgeted guesses per repair (at most 100,000 per row): a bound on the work a badly damaged file can ask for. */
const guessBudget = 400_000;

/**
 * The row as it was written, found by its hashes; a SHA-256 match leaves no doubt that it is
 * the original event. Its hash column alone changed: rehashed() (the next event's link names the
 * true hash). Its stream, version or type changed (columns the chain hash covers by value): the
 * first of `guesses` whose values its stored hash and the hash before it accept. One bit of
 * another value flipped (bit rot): unflipped() (bit-flips.ts), given the payload's bytes as
 * stored. Undefined when none is accepted or the budget runs out.
 */
function restoreByHash(
  row: RawEventRowWithHash,
  previousHash: string,
  next: RawEventRowWithHash | undefined,
  framing: (row: RawEventRowWithHash) => string | undefined,
  guesses: Iterable<Guess>,
  budget: { left: number },
  head: HeadRecord | undefined,
  payloadBytes: () => Buffer | undefined,
): RawEventRowWithHash | undefined {
  const restored = rehashed(row, previousHash, next, framing, head);
  if (restored !== undefined) return restored;
  if (!/^[0-9a-f]{64}$/.test(row[10]) || !/^[0-9a-f]{64}$/.test(previousHash)) return undefined;
  let rowBudget = Math.min(budget.left, 100_000);
  for (const guess of guesses) {
    if (!Number.isSafeInteger(guess.version) || guess.version < 1) continue;
    if (guess.budgeted === true) {
      if (rowBudget <= 0) break;
      rowBudget -= 1;
      budget.left -= 1;
    }
    for (const typeId of guess.typeIds) {
      const candidate: RawEventRowWithHash = [...row];
      candidate[1] = guess.streamId;
      candidate[2] = guess.version;
      candidate[4] = typeId;
      const text = framing(candidate);
      if (text !== undefined && chainHash(previousHash, text) === row[10]) return candidate;
    }
  }
  return unflipped(row, previousHash, framing, payloadBytes(), budget);
}

/**
 * The event at `position` from a file's pages (page-scan.ts): a cell whose chain hash verifies
 * after `previousHash`, as stored, with a bit of its header flipped, with one bit of a value
 * flipped (unflipped; not for the row SQLite gave, `read`: correct() searched it), or at a rowid
 * one bit away (the cell moved). Undefined when none verifies or the budget runs out; throws
 * when the file cannot be read.
 */
function rowFromPages(
  scan: PageScan,
  position: number,
  previousHash: string,
  read: RawEventRowWithHash | undefined,
  framing: (row: RawEventRowWithHash) => string | undefined,
  budget: { left: number },
): RawEventRowWithHash | undefined {
  const accepts = (row: RawEventRowWithHash): boolean => {
    budget.left -= 1;
    const text = framing(row);
    return text !== undefined && chainHash(previousHash, text) === row[10];
  };
  for (const { row, payloadBytes, asStored } of scan.candidates(position)) {
    if (budget.left <= 0) return undefined;
    if (accepts(row)) return row;
    const searched = read !== undefined && row.every((value, index) => value === read[index]);
    const restored = asStored && !searched && /^[0-9a-f]{64}$/.test(row[10]) ? unflipped(row, previousHash, framing, payloadBytes, budget) : undefined;
    if (restored !== undefined) return restored;
  }
  // Its cell may have moved: a bit of its rowid flipped.
  for (const { row } of scan.movedTo(position)) {
    if (budget.left <= 0) return undefined;
    if (accepts(row)) return row;
  }
  return undefined;
}

/** A payload's bytes as stored (a flipped bit may have left bytes that are not UTF-8), or undefined. */
function storedPayload(db: Database.Database | undefined, source: 'main' | 'd', position: number): Buffer | undefined {
  try {
    const bytes = db?.prepare(`SELECT CAST(payload AS BLOB) FROM ${source}.events WHERE position = ?`).pluck().get(position);
    return Buffer.isBuffer(bytes) ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A tombstone keeps the lost event's stored hash when it looks like one (the next link then
 * verifies); at the head record's position, the hash the record names (a damaged last row's
 * stored hash may be the damage): the log's head stays the one acknowledged.
 */
function tombstoneHash(storedHex: string | null | undefined, previousHex: string | undefined, position: number, head: HeadRecord | undefined): string {
  if (head !== undefined && head.headPosition === position && /^[0-9a-f]{64}$/.test(head.headHash)) return head.headHash;
  return storedHex !== undefined && storedHex !== null && /^[0-9a-f]{64}$/.test(storedHex) ? storedHex : chainHash(previousHex ?? genesisHashHex, `lost\n${position}`);
}

/** Integrity findings a patch can cure: index entries that disagree with the table (the index is rebuilt; verify.ts: integrityFindings words some of them). */
const curableIntegrity = [/^ok$/, /^(non-\w+|NULL) value in events\.\w+$/, /^row \d+ missing from index /, /^wrong # of entries in index /, /^non-unique entry in index /, /^index events_by_id (is out of order|does not hold the rows of events) /];

/**
 * The fastest repair: when SQLite's structure is sound (integrity_check found at most index
 * entries that disagree with rows) and verification read every row, the damaged file itself is
 * copied and only its bad rows are replaced: each from the backup when the backup's row links
 * into the chain there (the original event, back exactly), else by a $lost tombstone keeping the
 * stored hash. The id index is built again. Stream-index chunks that cover a tombstoned position
 * are dropped and the index watermark moved before them, so the next writer rebuilds them from
 * the events. Returns the lost positions and whether any row came from the backup, or undefined
 * (the file being built is then discarded).
 */
function patchInPlace(building: string, damaged: string, diagnosis: VerifyReport, base: BackupInfo | undefined, head: HeadRecord | undefined): { lost: number[]; backupRows: boolean } | undefined {
  const bad = fastPathBadPositions(diagnosis);
  if (bad === undefined) return undefined;
  if (!diagnosis.integrityCheck.every((line) => curableIntegrity.some((pattern) => pattern.test(line)))) return undefined;
  if (existsSync(`${damaged}-wal`) && statSync(`${damaged}-wal`).size > 0) return undefined;
  copyFileSync(damaged, building);
  const db = new Database(building);
  let backup: Database.Database | undefined;
  const opened: { placer?: TombstonePlacer } = {};
  try {
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    // As the store's own connections: rebuilding the id index sorts a million keys (0.7 s with the default 2 MiB, 0.45 s with this).
    db.pragma('cache_size = -65536');
    const idIndex = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'events_by_id'").get() as { sql: string } | undefined)?.sql;
    if (idIndex === undefined) return undefined;
    backup = base === undefined ? undefined : new Database(base.file, { readonly: true, fileMustExist: true });
    // The backup's rows go in as they are: only when its ids name what the damaged file's do.
    // Damage all past its head needs none of them: the patch goes on without it.
    if (backup !== undefined && base !== undefined && !sameIds(db, 'main', backup, 'main')) {
      if (bad.some((position) => position <= base.headPosition)) return undefined;
      backup.close();
      backup = undefined;
    }
    const backupReader = backup === undefined ? undefined : new EventReader(backup);
    const backupRow = backup?.prepare('SELECT position, stream_id, version, lower(hex(id)), type_id, schema_version, payload, virtual_time_us, lower(hex(causation_id)), correlation_id, lower(hex(hash)) FROM events WHERE position = ?').raw(true);
    const hashAt = db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?');
    const damagedRow = db.prepare<[number], DamagedRow>(damagedRowSql('main'));
    const rawAt = db.prepare(`SELECT ${eventColumnsWithHash} FROM main.events WHERE position = ?`).raw(true);
    const remove = db.prepare('DELETE FROM events WHERE position = ?');
    const insertRaw = db.prepare('INSERT INTO events VALUES (?, ?, ?, unhex(?), ?, ?, ?, ?, unhex(?), ?, unhex(?))');
    const lost: number[] = [];
    let backupRows = false;
    db.transaction(() => {
      // The index may hold entries for the damaged values: it goes, and is built again at the end.
      db.exec('DROP INDEX events_by_id');
      const placer = (opened.placer = new TombstonePlacer(db, 'SELECT position, stream_id, version FROM main.events WHERE stream_id IN (SELECT value FROM json_each(@streams)) AND position NOT IN (SELECT value FROM json_each(@bad)) ORDER BY position', 'main', bad, head));
      // First the rows that come back exactly (from the backup, or put right by their stored
      // hash), then tombstones for the rest: a tombstone never takes the place of an event that came back.
      const returned: number[] = [];
      const rest: number[] = [];
      for (const position of bad) {
        const previous = position === 1 ? genesisHashHex : hashAt.get(position - 1)?.hash;
        const original = position <= (base?.headPosition ?? 0) ? (backupRow?.get(position) as RawEventRowWithHash | undefined) : undefined;
        const restorable = original !== undefined && backupReader !== undefined && previous !== undefined && chainHash(previous, framingOfRow(backupReader, original)) === original[10];
        const raw = rawAt.get(position) as RawEventRowWithHash | undefined;
        const back = restorable ? original : (raw !== undefined && previous !== undefined ? placer.correct(position, raw, previous) : undefined) ?? (previous === undefined ? undefined : placer.fromPages(damaged, position, raw, previous));
        if (back === undefined) {
          rest.push(position);
          continue;
        }
        remove.run(position);
        insertRow(insertRaw, back);
        placer.survives(position, back[1], back[2]);
        returned.push(position);
        backupRows ||= restorable;
      }
      for (const position of rest) {
        const previous = position === 1 ? genesisHashHex : hashAt.get(position - 1)?.hash;
        const row = damagedRow.get(position);
        remove.run(position);
        insertTombstone(db, position, row, tombstoneHash(row?.hash, previous, position, head), placer.place(position, row));
        lost.push(position);
      }
      const renumbered = renumberLost(db);
      // The stream index is derived data copied with the damaged file: a chunk naming a position
      // that is not its stream's event at that version is dropped with everything after it.
      // A damaged chunk's own positions cannot say where its events are (a flipped bit makes 5
      // into 10, or 2.5): any finding in the index rebuilds all of it, from position 1.
      const indexDamaged = diagnosis.problems.some((problem) => problem.kind === 'stream_index');
      // A row that came back may stand where a chunk built from its damaged values says otherwise.
      const dropFrom = Math.min(lost[0] ?? Number.POSITIVE_INFINITY, returned[0] ?? Number.POSITIVE_INFINITY, renumbered, indexDamaged ? 1 : Number.POSITIVE_INFINITY);
      if (Number.isFinite(dropFrom)) dropChunksFrom(db, dropFrom);
      // $lost may have grown, or a stream's last event become a tombstone in $lost.
      settleStreamVersions(db);
      db.exec(idIndex);
    })();
    // Row-level findings (a value of the wrong type) are cured only if the bad row was one of
    // those replaced: the patched file must pass SQLite's quick check, or the next path runs.
    const quick = (db.pragma('quick_check') as { quick_check: string }[]).map((row) => row.quick_check);
    if (!(quick.length === 1 && quick[0] === 'ok')) return undefined;
    return { lost, backupRows };
  } catch {
    return undefined;
  } finally {
    opened.placer?.close();
    backup?.close();
    db.close();
  }
}

/** What a damaged file says of a bad position: its stream (id and name, if the id names one), version, stored hash, type and payload. */
interface DamagedRow {
  readonly streamId: number | null;
  readonly stream: string | null;
  readonly version: number | null;
  readonly hash: string | null;
  readonly type: string | null;
  readonly payload: unknown;
}

function damagedRowSql(source: 'main' | 'd'): string {
  return `SELECT e.stream_id AS streamId, s.name AS stream, e.version AS version, lower(hex(e.hash)) AS hash, t.name AS type, e.payload AS payload
          FROM ${source}.events e LEFT JOIN ${source}.streams s USING (stream_id) LEFT JOIN ${source}.event_types t USING (type_id) WHERE e.position = ?`;
}

/** A row read back as it was written (causation '' is none). */
function insertRow(insert: Database.Statement, row: RawEventRowWithHash): void {
  insert.run(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] === '' ? null : row[8], row[9], row[10]);
}

/**
 * The loss a damaged row stands for: what it says, or, when it is an earlier repair's tombstone
 * (its payload names the position it stands at), the stream and version that tombstone names.
 */
function lossOf(row: DamagedRow | undefined, position: number): { stream: string | null; version: number | null } {
  const claim = row?.type === lostEventType ? lostClaim(row.payload) : undefined;
  if (claim !== undefined && claim.position === position) return { stream: claim.stream, version: claim.version };
  return { stream: row?.stream ?? null, version: row?.version ?? null };
}

/**
 * Where the tombstones of a fast repair go, and which bad rows the stored hash can put right. A
 * tombstone takes its lost event's place in its own stream, at its version, when the damaged
 * row's stream and version fit between that stream's surviving events (the version right after
 * the one before, and before the one after): the stream then has no gap, keeps its version, and
 * readers of it see the loss where it happened. Otherwise (the row unreadable, or its values not
 * fitting: they may be the damaged bytes) the tombstone goes to $lost, naming what the row said.
 * Bad positions are placed in order.
 */
class TombstonePlacer {
  /** Per stream id: its surviving events' positions and versions, in position order. */
  private readonly survivors = new Map<number, { positions: number[]; versions: number[] }>();
  /** Per stream id: the last position placed in it, with the version (earlier bad positions are placed first). */
  private readonly placed = new Map<number, [position: number, version: number]>();
  private readonly reader: EventReader;
  /** The log's event type ids (read once: a repair adds none before it corrects rows). */
  private typeIds: number[] | undefined;

  /**
   * `survivorsSql` selects position, stream_id, version of the events that stay, in position
   * order, for the stream ids in JSON @streams, but the positions in JSON @bad (the bad ones); `source`
   * is the schema whose events hold the damaged rows.
   */
  constructor(
    private readonly db: Database.Database,
    survivorsSql: string,
    private readonly source: 'main' | 'd',
    private readonly bad: readonly number[],
    private readonly head: HeadRecord | undefined,
  ) {
    this.reader = new EventReader(db, undefined, undefined, { nativeReads: false });
    // The streams the bad rows say, and those that the earlier repairs' tombstones among them name.
    const streamIds = new Set<number>();
    const damagedRow = db.prepare<[number], DamagedRow>(damagedRowSql(source));
    const idOf = db.prepare<[string], { stream_id: number }>('SELECT stream_id FROM main.streams WHERE name = ?');
    for (const position of bad) {
      const row = damagedRow.get(position);
      if (typeof row?.streamId === 'number') streamIds.add(row.streamId);
      const named = lossOf(row, position).stream;
      const id = named === null ? undefined : idOf.get(named)?.stream_id;
      if (id !== undefined) streamIds.add(id);
    }
    const rows = db.prepare(survivorsSql).raw(true).iterate({ streams: JSON.stringify([...streamIds]), bad: JSON.stringify(this.bad) }) as Iterable<[number, number, number]>;
    for (const [position, streamId, version] of rows) {
      let events = this.survivors.get(streamId);
      if (events === undefined) this.survivors.set(streamId, (events = { positions: [], versions: [] }));
      events.positions.push(position);
      events.versions.push(version);
    }
  }

  /** A bad position whose original event came back (from the backup, or put right): it stays, like the survivors. */
  survives(position: number, streamId: number, version: number): void {
    let events = this.survivors.get(streamId);
    if (events === undefined) this.survivors.set(streamId, (events = { positions: [], versions: [] }));
    const at = firstAfter(events.positions, position);
    events.positions.splice(at, 0, position);
    events.versions.splice(at, 0, version);
  }

  /** The version a stream's event at `position` must have (the one after its event before), and whether its next event leaves room for it. */
  private slot(streamId: number, position: number): { version: number; free: boolean } {
    const events = this.survivors.get(streamId) ?? { positions: [], versions: [] };
    const low = firstAfter(events.positions, position);
    const before = low > 0 ? ([events.positions[low - 1], events.versions[low - 1]] as [number, number]) : undefined;
    const placed = this.placed.get(streamId);
    const previous = placed !== undefined && (before === undefined || placed[0] > before[0]) ? placed[1] : (before?.[1] ?? 0);
    const next = events.versions[low];
    return { version: previous + 1, free: next === undefined || next > previous + 1 };
  }

  /** The stream id and version for the tombstone at `position`, or undefined for $lost. */
  place(position: number, row: DamagedRow | undefined): { streamId: number; version: number } | undefined {
    const loss = lossOf(row, position);
    if (loss.stream === null || loss.stream === lostStream || loss.version === null || loss.version < 1) return undefined;
    const streamId = loss.stream === row?.stream ? row.streamId : (this.db.prepare('SELECT stream_id FROM main.streams WHERE name = ?').get(loss.stream) as { stream_id: number } | undefined)?.stream_id;
    if (typeof streamId !== 'number') return undefined;
    const slot = this.slot(streamId, position);
    if (slot.version !== loss.version || !slot.free) return undefined;
    this.placed.set(streamId, [position, loss.version]);
    return { streamId, version: loss.version };
  }

  /**
   * The row as it was written, found by its hashes (restoreByHash): its hash column alone
   * changed, or its stream, version or type. Guesses, from the stream's place in the log: its
   * own stream at the version it needs here or the one it says (a loss before it may have left a
   * gap), with every type; the stream and version the stream index gives its position (every
   * type); for a position after the index's, each stream at its next version or the one the row
   * says (its type; budgeted).
   */
  correct(position: number, row: RawEventRowWithHash, previousHash: string): RawEventRowWithHash | undefined {
    if (row[0] !== position) return undefined;
    this.rowAt ??= this.db.prepare(`SELECT ${eventColumnsWithHash} FROM ${this.source}.events WHERE position = ?`).raw(true);
    return restoreByHash(row, previousHash, this.rowAt.get(position + 1) as RawEventRowWithHash | undefined, (candidate) => this.framing(candidate), this.guesses(position, row), this.budget, this.head, () => storedPayload(this.db, this.source, position));
  }

  /**
   * The event at `position` read from the damaged file's pages (rowFromPages), within this
   * repair's budget, for a row correct() could not put right: SQLite reads a cell whose record
   * header had a bit flipped as other values (a payload cut to 5 bytes, a hash read as NULL),
   * and only its cell tried with that bit flipped back gives the event. The scan is made at the
   * first call (a pass over the file's pages); undefined when it cannot be read.
   */
  fromPages(file: string, position: number, row: RawEventRowWithHash | undefined, previousHash: string): RawEventRowWithHash | undefined {
    if (this.pages === undefined) this.pages = PageScan.open(file) ?? null;
    if (this.pages === null) return undefined;
    try {
      return rowFromPages(this.pages, position, previousHash, row, (candidate) => this.framing(candidate), this.budget);
    } catch {
      this.close();
      this.pages = null;
      return undefined;
    }
  }

  /** Closes the page scan, if fromPages made one. */
  close(): void {
    this.pages?.close();
  }

  private pages: PageScan | null | undefined;

  private framing(candidate: RawEventRowWithHash): string | undefined {
    try {
      return framingOfRow(this.reader, candidate);
    } catch {
      return undefined;
    }
  }

  private *guesses(position: number, row: RawEventRowWithHash): Generator<Guess> {
    this.typeIds ??= this.db.prepare('SELECT type_id FROM main.event_types').pluck().all() as number[];
    const typeIds = [row[4], ...this.typeIds.filter((id) => id !== row[4])];
    if (typeof row[1] === 'number' && this.knownStream(row[1])) {
      for (const version of new Set([this.slot(row[1], position).version, row[2]])) yield { streamId: row[1], version, typeIds };
    }
    const { chunked, tail } = this.indexed(position);
    for (const [streamId, version] of chunked) yield { streamId, version, typeIds };
    for (const [streamId, version] of tail) {
      if (streamId === row[1]) continue;
      for (const tried of new Set([version, row[2]])) yield { streamId, version: tried, typeIds: [row[4]], budgeted: true };
    }
  }

  /** Guesses of streams past the index left for correct() in this repair. */
  private readonly budget = { left: guessBudget };
  /** Reads a row of the damaged rows' schema (prepared at the first correction). */
  private rowAt: Database.Statement | undefined;

  /** Per bad position: [stream id, version] of the chunks that hold it (read once). */
  private chunked: Map<number, [number, number][]> | undefined;
  /** Events after the stream index's position that stay, per stream id: positions and versions. */
  private tail: { from: number; streams: Map<number, { positions: number[]; versions: number[] }>; versions: Map<number, number> } | undefined;

  /** Candidate [stream id, version] pairs for the event at `position`, from the damaged file's stream index or, past it, its streams' versions. */
  private indexed(position: number): { chunked: [number, number][]; tail: [number, number][] } {
    const source = this.source;
    if (this.chunked === undefined) {
      this.chunked = new Map();
      const wanted = new Set(this.bad);
      try {
        for (const [at, streamId, version] of indexEntries(this.db, source)) {
          if (!wanted.has(at)) continue;
          const entries = this.chunked.get(at) ?? [];
          entries.push([streamId, version]);
          this.chunked.set(at, entries);
        }
      } catch {
        // An unreadable index gives no candidates.
      }
    }
    const fromIndex = this.chunked.get(position) ?? [];
    if (this.tail === undefined) {
      const from = indexedPosition(this.db, source);
      const streams = new Map<number, { positions: number[]; versions: number[] }>();
      const versions = new Map<number, number>();
      if (from !== undefined) {
        for (const [at, streamId, version] of this.db.prepare(`SELECT position, stream_id, version FROM ${source}.events WHERE position > ? AND position NOT IN (SELECT value FROM json_each(?)) ORDER BY position`).raw(true).iterate(from, JSON.stringify(this.bad)) as Iterable<[number, number, number]>) {
          let events = streams.get(streamId);
          if (events === undefined) streams.set(streamId, (events = { positions: [], versions: [] }));
          events.positions.push(at);
          events.versions.push(version);
        }
        for (const [streamId, version] of this.db.prepare(`SELECT stream_id, version FROM ${source}.streams`).raw(true).iterate() as Iterable<[number, number]>) versions.set(streamId, version);
      }
      this.tail = { from: from ?? Number.POSITIVE_INFINITY, streams, versions };
    }
    if (position <= this.tail.from) return { chunked: fromIndex, tail: [] };
    // Past the index: a stream's version there follows its last event before it (or its version as of the index's position).
    const fromTail: [number, number][] = [];
    for (const [streamId, asOf] of this.tail.versions) {
      const events = this.tail.streams.get(streamId);
      const low = events === undefined ? 0 : firstAfter(events.positions, position);
      const placed = this.placed.get(streamId);
      const before = low > 0 ? (events?.versions[low - 1] as number) : asOf;
      const previous = placed !== undefined && placed[0] > (low > 0 ? (events?.positions[low - 1] as number) : this.tail.from) ? placed[1] : before;
      fromTail.push([streamId, previous + 1]);
    }
    return { chunked: fromIndex, tail: fromTail };
  }

  private knownStream(streamId: number): boolean {
    return this.db.prepare('SELECT 1 FROM main.streams WHERE stream_id = ?').get(streamId) !== undefined;
  }
}

/**
 * Every entry of a log's stream index, chunk by chunk: [position, stream id, version] (as
 * stored: a damaged chunk's values pass through; chunks whose columns are not of their types
 * are skipped). Throws when the index cannot be read.
 */
function* indexEntries(db: Database.Database, source: 'main' | 'd'): Generator<[number, number, number]> {
  for (const chunk of db.prepare(`SELECT stream_id, first_version, positions FROM ${source}.stream_chunks`).iterate() as Iterable<{ stream_id: unknown; first_version: unknown; positions: unknown }>) {
    if (typeof chunk.stream_id !== 'number' || typeof chunk.first_version !== 'number' || !Buffer.isBuffer(chunk.positions)) continue;
    for (let offset = 0; offset + 8 <= chunk.positions.length; offset += 8) yield [chunk.positions.readDoubleLE(offset), chunk.stream_id, chunk.first_version + offset / 8];
  }
}

/** The index of the first of ascending `positions` above `position` (their length if none). */
function firstAfter(positions: readonly number[], position: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((positions[middle] as number) <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Numbers $lost's events 1, 2, ... in position order (a repair adds tombstones at any position,
 * and a log repaired by an older build may have them out of order). Returns the first position
 * whose version changed (infinity if none), so the stream index can be rebuilt from there.
 */
function renumberLost(db: Database.Database): number {
  const lostId = (db.prepare('SELECT stream_id FROM main.streams WHERE name = ?').get(lostStream) as { stream_id: number } | undefined)?.stream_id;
  if (lostId === undefined) return Number.POSITIVE_INFINITY;
  const rows = db.prepare('SELECT position, version FROM main.events WHERE stream_id = ? ORDER BY position').raw(true).all(lostId) as [number, number][];
  const update = db.prepare('UPDATE main.events SET version = ? WHERE position = ?');
  // An event appended there (before appends to $lost were refused) is covered by its hash: nothing
  // there is renumbered, and this repair's tombstones (version 0 until now) follow the highest version.
  const appended = db.prepare('SELECT count(*) AS n FROM main.events WHERE stream_id = ? AND type_id IS NOT (SELECT type_id FROM main.event_types WHERE name = ?)').get(lostId, lostEventType) as { n: number };
  if (appended.n > 0) {
    let next = rows.reduce((highest, [, version]) => Math.max(highest, version), 0) + 1;
    for (const [position, version] of rows) if (version === 0) update.run(next++, position);
    return Number.POSITIVE_INFINITY;
  }
  let first = Number.POSITIVE_INFINITY;
  rows.forEach(([position, version], index) => {
    if (version === index + 1) return;
    update.run(index + 1, position);
    first = Math.min(first, position);
  });
  return first;
}

/**
 * The stream index's position as a log stores it (meta.stream_index_position, written as
 * String(position)); undefined when it is missing or written otherwise (damage: the store refuses to open it).
 */
function indexedPosition(db: Database.Database, source: 'main' | 'd' = 'main'): number | undefined {
  const value = (db.prepare(`SELECT value FROM ${source}.meta WHERE key = 'stream_index_position'`).get() as { value: unknown } | undefined)?.value;
  const position = Number(value);
  return typeof value === 'string' && Number.isSafeInteger(position) && position >= 0 && String(position) === value ? position : undefined;
}

/**
 * Every stream's version as of the stream index's position (what streams.version holds:
 * stream-index.ts), from the chunks left by dropChunksFrom, none of which holds a later
 * position: a repaired file's streams.version is exact, whatever the damaged one said, without
 * reading the events (a scan of a million events was a fifth of a repair's time). Where a chunk
 * still holds a later position, or the position cannot be read, each stream's version is set to
 * its last event's (0 when it has none left), in one scan of the events.
 */
export function settleStreamVersions(db: Database.Database): void {
  const watermark = indexedPosition(db);
  const asOf = new Map<number, number>();
  let fromChunks = watermark !== undefined;
  for (const chunk of fromChunks ? (db.prepare('SELECT stream_id, first_version, positions FROM main.stream_chunks').iterate() as Iterable<{ stream_id: unknown; first_version: unknown; positions: unknown }>) : []) {
    const { stream_id: streamId, first_version: firstVersion, positions } = chunk;
    if (typeof streamId !== 'number' || typeof firstVersion !== 'number' || !Buffer.isBuffer(positions) || positions.length < 8 || positions.length % 8 !== 0 || positions.readDoubleLE(positions.length - 8) > (watermark as number)) {
      fromChunks = false;
      break;
    }
    asOf.set(streamId, Math.max(asOf.get(streamId) ?? 0, firstVersion + positions.length / 8 - 1));
  }
  if (fromChunks) {
    // What schema 5 means (sqlite-schema.ts): a schema-4 build would take these versions as current.
    db.prepare("UPDATE main.meta SET value = '5' WHERE key = 'schema_version' AND value = '4'").run();
    const update = db.prepare('UPDATE main.streams SET version = ? WHERE stream_id = ? AND version IS NOT ?');
    for (const streamId of db.prepare('SELECT stream_id FROM main.streams').pluck().all() as number[]) {
      const version = asOf.get(streamId) ?? 0;
      update.run(version, streamId, version);
    }
    return;
  }
  db.exec(`
    CREATE TEMP TABLE last_versions (stream_id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
    INSERT INTO temp.last_versions SELECT stream_id, max(version) FROM main.events GROUP BY stream_id;
    UPDATE main.streams SET version = coalesce((SELECT version FROM temp.last_versions AS last WHERE last.stream_id = main.streams.stream_id), 0);
    DROP TABLE temp.last_versions;
  `);
}

/**
 * A tombstone row at `position`: at `placement` (its lost event's stream and version) or in
 * $lost (numbered later: renumberLost), its payload naming what the damaged row said. The
 * stream and type rows are made when missing.
 */
function insertTombstone(db: Database.Database, position: number, row: DamagedRow | undefined, hashHex: string, placement: { streamId: number; version: number } | undefined): void {
  const idOf = (table: 'streams' | 'event_types', name: string): number => {
    const key = table === 'streams' ? 'stream_id' : 'type_id';
    const found = db.prepare(`SELECT ${key} AS id FROM main.${table} WHERE name = ?`).get(name) as { id: number } | undefined;
    if (found !== undefined) return found.id;
    return Number((table === 'streams' ? db.prepare('INSERT INTO main.streams (name, category, version) VALUES (?, ?, 0)').run(name, name) : db.prepare('INSERT INTO main.event_types (name) VALUES (?)').run(name)).lastInsertRowid);
  };
  const streamId = placement?.streamId ?? idOf('streams', lostStream);
  const loss = lossOf(row, position);
  const payload = JSON.stringify({ position, stream: loss.stream, version: loss.version });
  const idHex = tombstoneId(position, hashHex);
  db.prepare('INSERT INTO main.events VALUES (?, ?, ?, unhex(?), ?, 1, ?, 0, NULL, NULL, unhex(?))').run(position, streamId, placement?.version ?? 0, idHex, idOf('event_types', lostEventType), payload, hashHex);
}

/**
 * Drops every stream-index chunk holding a position from `from` on, and moves the watermark
 * before the earliest position any dropped chunk held, so the next open re-reads exactly those
 * events (chunks of one flush interleave, hence the fixpoint).
 */
function dropChunksFrom(db: Database.Database, from: number): void {
  const chunks = (db.prepare('SELECT chunk_id, positions FROM stream_chunks').all() as { chunk_id: number; positions: Buffer }[]).map((chunk) => ({
    id: chunk.chunk_id,
    first: chunk.positions.length >= 8 ? chunk.positions.readDoubleLE(0) : Number.POSITIVE_INFINITY,
    last: chunk.positions.length >= 8 ? chunk.positions.readDoubleLE(chunk.positions.length - 8) : 0,
  }));
  let watermark = from - 1;
  const dropped = new Set<number>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const chunk of chunks) {
      if (dropped.has(chunk.id) || chunk.last <= watermark) continue;
      dropped.add(chunk.id);
      if (chunk.first - 1 < watermark) {
        watermark = chunk.first - 1;
        changed = true;
      }
    }
  }
  const remove = db.prepare('DELETE FROM stream_chunks WHERE chunk_id = ?');
  for (const id of dropped) remove.run(id);
  // A stored position that is not one (damaged) counts as none: the watermark found here stands.
  const current = indexedPosition(db) ?? Number.POSITIVE_INFINITY;
  db.prepare("UPDATE meta SET value = ? WHERE key = 'stream_index_position'").run(String(Math.max(0, Math.min(current, watermark))));
}

/**
 * The fast salvage: when verification read every position of the damaged log and listed every
 * problem (fewer than its cap, none of them an unreadable page or a hole), every other event
 * after the base verified in place, so whole ranges of rows are copied across in SQL (ATTACH,
 * INSERT ... SELECT) instead of being re-read, re-hashed and imported one by one: a repair of a
 * 1,000,000-event log takes seconds, not tens of seconds. Each bad position gets a tombstone in
 * $lost that keeps its stored hash, so the next event's link still verifies. Returns the lost
 * positions, or undefined (and changes nothing) when the slow path must do the work.
 */
function bulkSalvage(building: string, damaged: string, diagnosis: VerifyReport, head: HeadRecord | undefined, onProgress: (fraction: number) => void): number[] | undefined {
  if (fastPathBadPositions(diagnosis) === undefined) return undefined;
  if (!existsSync(building)) new SqliteEventStore(building).close();
  const db = new Database(building);
  const opened: { placer?: TombstonePlacer } = {};
  try {
    // A file being built aside: a crash mid-repair discards it, so it needs no WAL and no syncs
    // (the rows would otherwise be written twice, to the WAL and again at the checkpoint).
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    const baseHead = (db.prepare('SELECT coalesce(max(position), 0) AS head FROM events').get() as { head: number }).head;
    const to = diagnosis.headPosition;
    if (to <= baseHead) return undefined;
    const bad = fastPathBadPositions(diagnosis, baseHead) ?? [];
    db.prepare('ATTACH DATABASE ? AS d').run(damaged);
    // Rows are copied with their stream and type ids: the base and the damaged file must agree on them.
    if (!sameIds(db, 'main', db, 'd')) return undefined;
    const lost: number[] = [];
    db.transaction(() => {
      db.exec('INSERT OR IGNORE INTO main.event_types SELECT * FROM d.event_types; INSERT OR IGNORE INTO main.streams SELECT * FROM d.streams');
      const copy = db.prepare('INSERT INTO main.events SELECT * FROM d.events WHERE position BETWEEN ? AND ?');
      const hashAt = db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM main.events WHERE position = ?');
      const damagedRow = db.prepare<[number], DamagedRow>(damagedRowSql('d'));
      const rawAt = db.prepare(`SELECT ${eventColumnsWithHash} FROM d.events WHERE position = ?`).raw(true);
      const insertRaw = db.prepare('INSERT INTO main.events VALUES (?, ?, ?, unhex(?), ?, ?, ?, ?, unhex(?), ?, unhex(?))');
      // The events that stay: the base's, then the damaged file's after it but the bad ones.
      const placer = new TombstonePlacer(
        db,
        `SELECT position, stream_id, version FROM main.events WHERE stream_id IN (SELECT value FROM json_each(@streams))
         UNION ALL SELECT position, stream_id, version FROM d.events WHERE position > ${baseHead} AND stream_id IN (SELECT value FROM json_each(@streams)) AND position NOT IN (SELECT value FROM json_each(@bad))
         ORDER BY position`,
        'd',
        bad,
        head,
      );
      opened.placer = placer;
      // First which bad rows their stored hash puts right (the hash before each is the damaged
      // file's: what the copy will hold), then the copy, those rows, and tombstones for the rest.
      const storedHashAt = db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM d.events WHERE position = ?');
      const corrections = new Map<number, RawEventRowWithHash>();
      for (const position of bad) {
        const raw = rawAt.get(position) as RawEventRowWithHash | undefined;
        // A row before it put right by its recomputed hash links it to that hash.
        const previous = position === 1 ? genesisHashHex : (corrections.get(position - 1)?.[10] ?? storedHashAt.get(position - 1)?.hash ?? genesisHashHex);
        const corrected = (raw === undefined ? undefined : placer.correct(position, raw, previous)) ?? placer.fromPages(damaged, position, raw, previous);
        if (corrected === undefined) continue;
        corrections.set(position, corrected);
        placer.survives(position, corrected[1], corrected[2]);
      }
      let from = baseHead + 1;
      for (const position of [...bad, to + 1]) {
        if (position > from) copy.run(from, position - 1);
        if (position <= to) {
          const corrected = corrections.get(position);
          if (corrected !== undefined) insertRow(insertRaw, corrected);
          else {
            const row = damagedRow.get(position);
            const previous = position === 1 ? genesisHashHex : (hashAt.get(position - 1)?.hash ?? genesisHashHex);
            insertTombstone(db, position, row, tombstoneHash(row?.hash, previous, position, head), placer.place(position, row));
            lost.push(position);
          }
        }
        from = position + 1;
        onProgress(to > baseHead ? (Math.min(from, to) - baseHead) / (to - baseHead) : 1);
      }
      // The base's chunks cover $lost events whose versions may change here (a log repaired by an older build).
      const renumbered = renumberLost(db);
      if (Number.isFinite(renumbered)) dropChunksFrom(db, renumbered);
      settleStreamVersions(db);
    })();
    db.exec('DETACH DATABASE d');
    return lost;
  } catch {
    return undefined;
  } finally {
    opened.placer?.close();
    db.close();
  }
}

/**
 * Whether two logs give the stream and type ids they share the same names, and the names they
 * share the same ids, so rows can move from one to the other as they are. A base and a damaged
 * file of the same log agree, unless a repair in between (one that imported events event by
 * event) numbered streams anew: then only the slow path, which imports by name, may join them.
 */
function sameIds(a: Database.Database, aSchema: 'main' | 'd', b: Database.Database, bSchema: 'main' | 'd'): boolean {
  for (const [table, key] of [['streams', 'stream_id'], ['event_types', 'type_id']] as const) {
    const names = new Map<number, string>();
    const ids = new Map<string, number>();
    for (const [id, name] of a.prepare(`SELECT ${key}, name FROM ${aSchema}.${table}`).raw(true).iterate() as Iterable<[number, string]>) {
      names.set(id, name);
      ids.set(name, id);
    }
    for (const [id, name] of b.prepare(`SELECT ${key}, name FROM ${bSchema}.${table}`).raw(true).iterate() as Iterable<[number, string]>) {
      const named = names.get(id);
      const numbered = ids.get(name);
      if ((named !== undefined && named !== name) || (numbered !== undefined && numbered !== id)) return false;
    }
  }
  return true;
}

/**
 * A backup the repair may use without verifying all of it. Its file still has the digest it
 * was written with, so it holds exactly the pages the live log had then. Events are never
 * rewritten after their commit, and the damaged log verified every position before its first
 * bad one, so the backup's events before that position were intact when copied; the events
 * from there to the backup's head are checked link by link here. The backup must also hold the
 * damaged log's hash at the last good position (the same log). Without a digest: undefined
 * (verify it all).
 */
async function trustedByDigest(candidate: BackupInfo, firstBad: number | null, damagedCopy: string | null): Promise<BackupInfo | 'changed' | undefined> {
  if (candidate.sha256 === undefined || !existsSync(candidate.file)) return undefined;
  if ((await fileDigest(candidate.file)) !== candidate.sha256) return 'changed';
  const db = new Database(candidate.file, { readonly: true, fileMustExist: true });
  try {
    // Taken before a repair that rewrote rows of the log: its rows are not the log's any more.
    const mark = repairMark(db);
    if (mark === undefined || damagedCopy === null || mark !== markOfDamaged(damagedCopy)) return undefined;
    const hashAt = db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?');
    const head = candidate.headPosition;
    const lastGood = Math.min(head, (firstBad ?? head + 1) - 1);
    if (lastGood >= 1 && damagedCopy !== null) {
      const mine = hashAt.get(lastGood)?.hash;
      const theirs = storedHashAt(damagedCopy, lastGood);
      if (theirs !== undefined && mine !== theirs) return undefined;
    }
    if (firstBad !== null && firstBad <= head) {
      const previous = firstBad === 1 ? genesisHashHex : hashAt.get(firstBad - 1)?.hash;
      if (previous === undefined) return undefined;
      // The native chain check where it is built (7x the JavaScript one: a second of a million-event repair).
      useNativeChain(db);
      const range = checkRange(new EventReader(db), firstBad, head, previous);
      // Its tombstones are the log's own (the same repair mark): losses declared, not damage.
      if (range.problems.some(isFinding) || range.streamGaps.length > 0 || range.lastPosition !== head) return undefined;
    }
    const headHash = hashAt.get(head)?.hash ?? candidate.headHash;
    return { ...candidate, headHash };
  } finally {
    db.close();
  }
}

/**
 * A backup the caller chose, verified; refused (a validation error, nothing changed) when it is
 * not a good backup of the log at `path`: no such file, not an event log, one that fails
 * verification, or one of another log (its first event is not the log's, or its event at the
 * head record's position is not the one recorded there). Where neither can be read, it cannot
 * tell, and takes it.
 */
function chosenBackup(file: string, path: string, head: HeadRecord | undefined, firstVerifies: boolean): BackupInfo {
  let check: VerifyReport;
  try {
    check = verifyEventLog(file);
  } catch (error) {
    throw new AuraError('validation', `backup ${file}: ${(error as Error).message}`);
  }
  if (!check.ok && !check.onlyDeclaredLosses) throw new AuraError('validation', `backup ${file} is not a good backup: ${check.problems[0]?.detail ?? 'it fails verification'}`);
  // The log's first event, where it verified (a damaged one says nothing of the backup).
  const first = check.headPosition >= 1 && firstVerifies ? storedHashAt(path, 1) : undefined;
  if (first !== undefined && first !== storedHashAt(file, 1)) throw new AuraError('validation', `backup ${file} is of another log: its first event is not this log's`);
  if (head !== undefined && head.headPosition >= 1 && head.headPosition <= check.headPosition && storedHashAt(file, head.headPosition) !== head.headHash) {
    throw new AuraError('validation', `backup ${file} is of another log: its event at ${head.headPosition} is not the one the head record names`);
  }
  return { file, headPosition: check.headPosition, headHash: check.headHash, createdAtMs: 0, bytes: 0 };
}

/**
 * A repair rewrites rows, which breaks what trusting a backup by its digest rests on (events are
 * never rewritten after their commit): it marks the log it built, and a backup is trusted by its
 * digest only when it carries the damaged log's mark (both none, or the same repair's).
 */
function markRepaired(file: string, stamp: string): void {
  const db = new Database(file);
  try {
    db.prepare("INSERT INTO meta (key, value) VALUES ('repaired_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(stamp);
  } finally {
    db.close();
  }
}

/** A log's repair mark: null when it has none, undefined when it cannot be read. */
function repairMark(db: Database.Database): string | null | undefined {
  try {
    return (db.prepare("SELECT value FROM meta WHERE key = 'repaired_at'").get() as { value: string } | undefined)?.value ?? null;
  } catch {
    return undefined;
  }
}

function markOfDamaged(file: string): string | null | undefined {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return repairMark(db);
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * What a tombstone row declares lost: the stream and version its payload names (either may be
 * unknown), or undefined when the row is not a well-formed tombstone at its own position.
 */
function declaredLoss(salvage: Salvage, row: RawEventRowWithHash): { stream: string | undefined; version: number | undefined } | undefined {
  if (salvage.name('type', row[4]) !== lostEventType || !/^[0-9a-f]{64}$/.test(row[10])) return undefined;
  const claim = lostClaim(row[6]);
  if (claim === undefined || claim.position !== row[0]) return undefined;
  return { stream: claim.stream ?? undefined, version: claim.version ?? undefined };
}

/**
 * Tombstones (in $lost) for the positions the head record says the log reached past the last
 * event of the log built at `building`: a tail the damaged file no longer holds (its WAL
 * deleted, an older copy of it put back). The log then holds every position it acknowledged, no
 * later event is given one of them, and verification names them as losses a repair declared. The
 * last keeps the hash the record names: the log's head is the one that was acknowledged. Returns
 * their positions.
 */
function tombstoneTail(building: string, head: HeadRecord | undefined): number[] {
  if (head === undefined) return [];
  // Most repairs have no lost tail: the file is not opened as a log (its stream index would be rebuilt) for nothing.
  const built = new Database(building, { readonly: true, fileMustExist: true });
  let last: number;
  try {
    last = (built.prepare('SELECT MAX(position) FROM events').pluck().get() as number | null) ?? 0;
  } finally {
    built.close();
  }
  if (head.headPosition <= last) return [];
  const store = new SqliteEventStore(building, { tailCheckEvents: 0 });
  try {
    const positions: number[] = [];
    let batch: ImportedEvent[] = [];
    let previous = store.headHash();
    for (let position = store.headPosition() + 1; position <= head.headPosition; position++) {
      const hashHex = tombstoneHash(undefined, previous, position, head);
      batch.push(tombstone(position, undefined, undefined, hashHex, batch, store, undefined));
      positions.push(position);
      previous = hashHex;
      if (batch.length === 2_000) {
        store.importEvents(batch);
        batch = [];
      }
    }
    store.importEvents(batch);
    return positions;
  } finally {
    // A self-contained file, like a finished run's.
    store.closeFinished();
  }
}

/**
 * Of each batch being built (batches only grow, by push, until imported): how many of its events
 * have been read, and each stream's highest version among them. A lookup reads only the events
 * pushed since the last one; reading the whole batch every time made a long lost tail quadratic
 * (a seventh of its time at 300,000 tombstones).
 */
const batchVersions = new WeakMap<readonly ImportedEvent[], { read: number; readonly highest: Map<string, number> }>();

/** The version after a stream's last, in the log being built and the batch not yet imported (which may have gaps). */
function nextVersionIn(store: SqliteEventStore, batch: readonly ImportedEvent[], stream: string): number {
  let seen = batchVersions.get(batch);
  if (seen === undefined) batchVersions.set(batch, (seen = { read: 0, highest: new Map() }));
  for (; seen.read < batch.length; seen.read++) {
    const event = batch[seen.read] as ImportedEvent;
    if (event.version > (seen.highest.get(event.stream) ?? -Infinity)) seen.highest.set(event.stream, event.version);
  }
  return Math.max(store.streamVersion(stream), seen.highest.get(stream) ?? -Infinity) + 1;
}

/**
 * A tombstone for a lost position: in its own stream at its version when known, else in $lost,
 * its payload naming the stream and version (or, when `claimUnplaced` is false, only where they
 * placed it).
 */
function tombstone(position: number, stream: string | undefined, version: number | undefined, hashHex: string, batch: readonly ImportedEvent[], store: SqliteEventStore, salvage: Salvage | undefined, claimUnplaced = true): ImportedEvent {
  const nextVersionOf = (name: string): number => nextVersionIn(store, batch, name);
  // Its stream's next version here, and claimed by no later row of that stream.
  const later = stream === undefined ? undefined : salvage?.versionAfter(stream, position);
  const placeInStream = stream !== undefined && stream !== lostStream && version !== undefined && version === nextVersionOf(stream) && (later === undefined || later > version);
  const target = placeInStream ? stream : lostStream;
  return {
    position,
    stream: target,
    version: placeInStream ? version : nextVersionOf(lostStream),
    idHex: tombstoneId(position, hashHex),
    type: lostEventType,
    schemaVersion: 1,
    payloadText: JSON.stringify(placeInStream || claimUnplaced ? { position, stream: stream ?? null, version: version ?? null } : { position, stream: null, version: null }),
    virtualTimeUs: 0,
    causationHex: undefined,
    correlationId: undefined,
    hashHex,
  };
}
