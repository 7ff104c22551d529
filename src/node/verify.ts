/**
 * Full verification of an event log: SQLite's check of the database (databaseCheck), then every
 * event's position, stream version and chain hash. Reports the first bad position and what is wrong there.
 * verifyEventLog checks on this thread; verifyEventLogParallel (verify-parallel.ts) splits the
 * log into slices checked on worker threads.
 */
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { genesisHashHex } from '../core/events/encoding.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { badStreamChunks, checkRange, declaredKey, findingsFirst, firstBadPositionOf, gapDeclared, gapProblem, isFinding, problemsMax, readChunks, uncoveredByIndex, unexplainedGaps, type ChunkRow, type RangeResult, type StreamGap, type VerifyProblem } from './chain-check.ts';
import { EventReader } from './event-reader.ts';
import { useNativeChain } from './native-chain.ts';
import { fileHeader } from './page-scan.ts';
import { checkSchema } from './sqlite-schema.ts';

export type { ProblemKind, VerifyProblem } from './chain-check.ts';

export interface VerifyReport {
  readonly file: string;
  readonly ok: boolean;
  /** Events read and checked. */
  readonly events: number;
  readonly headPosition: number;
  readonly headHash: string;
  readonly integrityCheck: readonly string[];
  readonly firstBadPosition: number | null;
  /** The first problems found (at most 100), in log order. */
  readonly problems: readonly VerifyProblem[];
  /** Positions a repair declared lost (tombstones), all of them. */
  readonly declaredLost: readonly number[];
  /**
   * The only findings are losses earlier repairs declared, however many: the chain, the
   * database and the streams verify, and nothing is left for a repair to put right (the log is
   * still not whole: ok is false).
   */
  readonly onlyDeclaredLosses: boolean;
  /** How the chain links were checked: 'native' when every slice had the native chain check. */
  readonly chainCheck: 'native' | 'javascript';
  readonly wallMs: number;
}

export interface OpenedLog {
  readonly db: Database.Database;
  readonly head: number;
  /** The streams' versions and the stream index, read with the head in one read transaction. */
  readonly streams: StreamVersions;
  readonly chunks: ChunkRow[] | string;
}

/**
 * Opens a log read-only for verification; not_found when there is no file, validation for a
 * foreign schema. The head, the streams' versions and the stream index are read in one snapshot:
 * a writer still appending to the log (and flushing its index) cannot make them disagree. Events
 * never change once written, so the chain check may read them later.
 */
export function openForVerification(path: string): OpenedLog {
  if (!existsSync(path) || !statSync(path).isFile()) throw new AuraError('not_found', `${path}: no event log there`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    checkSchema(db, path);
    db.exec('BEGIN');
    try {
      const head = (db.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
      return { db, head, streams: readStreams(db), chunks: readChunksOrReport(db) };
    } finally {
      db.exec('COMMIT');
    }
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Opens a log for verification, or returns the report of a file that cannot even be opened
 * (damaged). Throws for no file (not_found) or a foreign schema (validation).
 */
export function openOrReport(path: string, started: number): OpenedLog | VerifyReport {
  try {
    return openForVerification(path);
  } catch (error) {
    if (error instanceof AuraError && (error.code === 'not_found' || error.code === 'validation')) throw error;
    return assembleReport(path, started, [`cannot open: ${(error as Error).message}`], []);
  }
}

export function integrityCheck(db: Database.Database): string[] {
  return (db.pragma(`integrity_check(${problemsMax})`) as { integrity_check: string }[]).map((row) => row.integrity_check);
}

/**
 * SQLite's check of a log's database. Without the native chain check: integrity_check. With it,
 * first a quick form: quick_check (every page's structure, every row's types and constraints),
 * integrity_check of every table but events (small ones), and the id index's entries summed
 * (aura_id_index, src/native/aura-chain.c) for integrityFindings to compare with the sums the
 * chain check makes over the rows as it reads them, and the index's entries in order with no id
 * twice. Together that is what integrity_check checks, without its lookup of every row in the
 * index (on a 300,000-event log, 0.23 s against 0.36 s), for the events table as the lab makes it
 * (labIndexesOnly). A finding of quick_check or of a small table sends it to integrity_check
 * (`idIndex` unset); the index's findings are integrityFindings'.
 */
export interface DatabaseCheck {
  readonly lines: readonly string[];
  /** The id index's entries at positions up to the head, and the sums of the table's rows before position 1 (the chain check reads 1..head). */
  readonly idIndex?: { readonly entries: number; readonly digest: bigint; readonly duplicates: number; readonly disorder: number; readonly rowsBefore: number; readonly digestBefore: bigint };
}

/** The id index's sums as aura_id_index returns them: [entries, digest, entries equal to the one before, entries sorting before it]. */
function idIndexSums(blob: Buffer): [number, bigint, number, number] {
  const copy = new Uint8Array(blob); // 8-byte aligned
  if (copy.length !== 32) throw new Error(`aura_id_index returned ${copy.length} bytes`);
  const signed = new BigInt64Array(copy.buffer, 0, 4);
  return [Number(signed[0]), new BigUint64Array(copy.buffer, 8, 1)[0] as bigint, Number(signed[2]), Number(signed[3])];
}

/**
 * The events table as the lab makes it, for the quick form: a rowid table whose one index is
 * events_by_id, unique, on id alone, ascending, BINARY, not partial. Any other index (one another
 * program added, say) would go unchecked by the sums: such a file gets integrity_check.
 */
function labIndexesOnly(db: Database.Database): boolean {
  const indexes = db.pragma('index_list(events)') as { name: string; unique: number; origin: string; partial: number }[];
  if (indexes.length !== 1) return false;
  const [index] = indexes as [{ name: string; unique: number; origin: string; partial: number }];
  if (index.name !== 'events_by_id' || index.unique !== 1 || index.origin !== 'c' || index.partial !== 0) return false;
  const columns = (db.pragma('index_xinfo(events_by_id)') as { cid: number; name: string | null; desc: number; coll: string; key: number }[]).filter((column) => column.key === 1);
  return columns.length === 1 && columns[0]?.name === 'id' && columns[0].desc === 0 && columns[0].coll === 'BINARY';
}

/**
 * Checks the database of a log up to `head` (positions after it may be a live writer's).
 * `withIndexSums`: the connection has the native chain check (nativeChainRows), and the chain
 * check reading positions 1..head has it too. Any failure of the quick form falls back to
 * integrity_check, whose own failure throws.
 */
export function databaseCheck(db: Database.Database, head: number, withIndexSums: boolean): DatabaseCheck {
  if (!withIndexSums) return { lines: integrityCheck(db) };
  try {
    const quick = (db.pragma('quick_check(1)') as { quick_check: string }[]).map((row) => row.quick_check);
    if (!(quick.length === 1 && quick[0] === 'ok')) return { lines: integrityCheck(db) };
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'events'").pluck().all() as string[];
    const others = tables.flatMap((name) => (db.pragma(`integrity_check("${name.replaceAll('"', '""')}")`) as { integrity_check: string }[]).map((row) => row.integrity_check));
    if (others.some((line) => line !== 'ok') || !labIndexesOnly(db)) return { lines: integrityCheck(db) };
    const sums = db.prepare('SELECT aura_id_index(id, position) FROM events INDEXED BY events_by_id WHERE position <= ?').pluck();
    const [entries, digest, duplicates, disorder] = idIndexSums(sums.get(head) as Buffer);
    const [rowsBefore, digestBefore] = idIndexSums(db.prepare('SELECT aura_id_index(id, position) FROM events WHERE position < 1').pluck().get() as Buffer);
    return { lines: ['ok'], idIndex: { entries, digest, duplicates, disorder, rowsBefore, digestBefore } };
  } catch {
    return { lines: integrityCheck(db) };
  }
}

/**
 * The database check's lines with what the file header says that SQLite takes without complaint
 * but the lab cannot live with: a write version above 2 (a flipped bit of 1 or 2) makes SQLite
 * open the file read-only, so nothing can be appended to the log, though every read works.
 */
export function withHeaderFindings(lines: readonly string[], path: string): string[] {
  const header = headerFindings(path);
  return header.length === 0 ? [...lines] : [...lines.filter((line) => line !== 'ok'), ...header];
}

function headerFindings(path: string): string[] {
  let header: Buffer | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    header = fileHeader(fd);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const version = header?.[18] ?? 0;
  return version > 2 ? [`the file header's write version is ${version} (1 or 2 expected): SQLite opens the file read-only`] : [];
}

/**
 * The database check's findings once the chain check has read the rows. The quick form's own
 * findings were integrity_check's already (databaseCheck); what is left is the id index's sums
 * against the rows', worded as integrity_check words them where it can (an entry count, an id
 * held twice) and by what differs where it cannot name the row (integrity_check would look each
 * one up: on a damaged log of a million events that doubled the time to detect). A slice that
 * could not be read leaves the sums incomplete, and a slice checked without the native chain
 * check has none: `fullCheck` (integrity_check) is asked then.
 */
export function integrityFindings(check: DatabaseCheck, slices: readonly RangeResult[], fullCheck: () => string[]): string[] {
  const index = check.idIndex;
  if (index === undefined) return [...check.lines];
  let rows = index.rowsBefore;
  let digest = index.digestBefore;
  for (const slice of slices) {
    if (slice.unreadable || slice.idDigest === undefined) return fullCheck();
    rows += slice.idEntries;
    digest += slice.idDigest;
  }
  const found = check.lines.filter((line) => line !== 'ok');
  if (index.duplicates > 0) found.push('non-unique entry in index events_by_id');
  if (index.disorder > 0) found.push(`index events_by_id is out of order (${index.disorder} ${index.disorder === 1 ? 'entry sorts' : 'entries sort'} before the one before)`);
  if (index.entries !== rows) found.push('wrong # of entries in index events_by_id');
  else if (index.digest !== BigInt.asUintN(64, digest)) found.push('index events_by_id does not hold the rows of events (an id or a position differs)');
  return found.length === 0 ? ['ok'] : found;
}

/** SQLite's integrity_check of the log at `path`, on a connection of its own. */
export function integrityCheckOf(path: string): string[] {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return integrityCheck(db);
    } finally {
      db.close();
    }
  } catch (error) {
    return [`integrity_check failed: ${(error as Error).message}`];
  }
}

/** The stream index's chunks, or undefined when they cannot be read (reported as a problem). */
function readChunksOrReport(db: Database.Database): ChunkRow[] | string {
  try {
    return readChunks(db);
  } catch (error) {
    return `stream index: unreadable (${(error as Error).message})`;
  }
}

/** Stitches checked slices (in order) and the integrity check into one report. */
export function assembleReport(
  file: string,
  started: number,
  integrity: readonly string[],
  slices: readonly RangeResult[],
  streams: StreamVersions = { rows: [], asOf: 0 },
  chunks: readonly ChunkRow[] | string = [],
): VerifyReport {
  const problems: VerifyProblem[] = [];
  if (!(integrity.length === 1 && integrity[0] === 'ok')) for (const line of integrity) problems.push({ position: null, kind: 'integrity', detail: line });
  /** Per stream: its last version and position in the slices so far. */
  const last = new Map<number, [number, number]>();
  const gaps: StreamGap[] = [];
  const gapped = (gap: StreamGap): void => {
    if (gap[3] > gap[2]) gaps.push(gap);
    else problems.push(gapProblem(gap));
  };
  let expected = 1;
  let previousHash = genesisHashHex;
  let events = 0;
  const declaredLost: number[] = [];
  // Versions that tombstones in $lost declare lost, from every slice: a gap across slices may be declared in either.
  const declared = new Set(slices.flatMap((slice) => slice.declaredVersions.map(([streamId, version]) => declaredKey(streamId, version))));
  for (const slice of slices) {
    if (slice.from !== expected && slice.events > 0) problems.push({ position: expected, kind: 'missing_position', detail: `positions ${expected}..${slice.from - 1} are missing` });
    problems.push(...slice.problems);
    for (const gap of slice.streamGaps) gaps.push(gap);
    for (const [streamId, first, lastVersion, firstAt, lastAt] of slice.streamSpans) {
      const [before, beforeAt] = last.get(streamId) ?? [0, 0];
      if (first !== before + 1 && !gapDeclared(declared, streamId, before + 1, first)) gapped([firstAt, streamId, before + 1, first, beforeAt]);
      last.set(streamId, [lastVersion, lastAt]);
    }
    declaredLost.push(...slice.declaredLost);
    events += slice.events;
    if (slice.events > 0) {
      expected = slice.lastPosition + 1;
      previousHash = slice.lastHash;
    }
    if (slice.unreadable) break;
  }
  // A gap a repair's tombstone naming nothing explains is a declared loss (the tombstone is reported), not damage.
  problems.push(...unexplainedGaps(gaps, slices.flatMap((slice) => slice.unnamedLost), declared).map(gapProblem));
  // What the slices read, by position (stream id -1: nothing read there).
  const head = expected - 1;
  const streamAt = new Int32Array(head + 1).fill(-1);
  const versionAt = new Int32Array(head + 1);
  for (const slice of slices) {
    const length = Math.min(slice.streamOf.length, head + 1 - slice.from);
    if (slice.from < 1 || length <= 0) continue;
    streamAt.set(slice.streamOf.subarray(0, length), slice.from);
    versionAt.set(slice.versionOf.subarray(0, length), slice.from);
  }
  // The stream index against what the slices read.
  if (typeof chunks === 'string') problems.push({ position: null, kind: 'stream_index', detail: chunks });
  else {
    for (const chunk of badStreamChunks(chunks, head, streamAt, versionAt)) problems.push({ position: chunk.firstPosition, kind: 'stream_index', detail: chunk.detail });
    const uncovered = streams.indexed === undefined ? undefined : uncoveredByIndex(chunks, streams.indexed, head, streamAt, versionAt);
    if (uncovered !== undefined) problems.push(uncovered);
  }
  // streams.version is each stream's version as of the stream index's position (written with
  // its chunks: stream-index.ts), or its last version (a log closed cleanly, or repaired).
  const differing = streams.rows.filter((stream) => (last.get(stream.stream_id)?.[0] ?? 0) !== stream.version);
  const lastAsOf = lastVersionsAsOf(new Set(differing.map((stream) => stream.stream_id)), Math.min(streams.asOf, head), streamAt, versionAt);
  for (const stream of differing) {
    const seen = last.get(stream.stream_id)?.[0] ?? 0;
    const seenAsOf = lastAsOf.get(stream.stream_id) ?? 0;
    if (seenAsOf !== stream.version) {
      problems.push({ position: null, kind: 'head', detail: `stream ${stream.name} says version ${stream.version}, its events end at ${seen}${seenAsOf === seen ? '' : ` (${seenAsOf} at the stream index's position ${streams.asOf})`}` });
    }
  }
  // Only declared losses, past the cap too: the slices tell theirs.
  const onlyDeclaredLosses = declaredLost.length > 0 && slices.every((slice) => slice.onlyLost) && problems.every((problem) => !isFinding(problem));
  const ordered = problems.sort(findingsFirst(Number.MAX_SAFE_INTEGER)).slice(0, problemsMax);
  return {
    file,
    ok: problems.length === 0,
    events,
    headPosition: expected - 1,
    headHash: previousHash,
    integrityCheck: integrity,
    firstBadPosition: firstBadPositionOf(ordered),
    problems: ordered,
    declaredLost,
    onlyDeclaredLosses,
    chainCheck: slices.length > 0 && slices.every((slice) => slice.native) ? 'native' : 'javascript',
    wallMs: Math.round(performance.now() - started),
  };
}

/**
 * The last version of each of `wanted`'s streams at or before position `to`, read backwards from
 * there (a log whose streams all say their last version, one closed cleanly, wants none).
 */
function lastVersionsAsOf(wanted: ReadonlySet<number>, to: number, streamAt: Int32Array, versionAt: Int32Array): Map<number, number> {
  const found = new Map<number, number>();
  for (let position = to; position >= 1 && found.size < wanted.size; position--) {
    const streamId = streamAt[position] as number;
    if (streamId >= 0 && wanted.has(streamId) && !found.has(streamId)) found.set(streamId, versionAt[position] as number);
  }
  return found;
}

/** The streams' recorded versions, and the position they are recorded as of. */
export interface StreamVersions {
  readonly rows: readonly { stream_id: number; name: string; version: number }[];
  /** The stream index's position (meta.stream_index_position; 0 when it is not a position). */
  readonly asOf: number;
  /** meta.stream_index_position as stored (undefined when there is none, or it cannot be read). */
  readonly indexed?: string;
}

function readStreams(db: Database.Database): StreamVersions {
  try {
    const rows = db.prepare('SELECT stream_id, name, version FROM streams').all() as { stream_id: number; name: string; version: number }[];
    const indexed = (db.prepare("SELECT value FROM meta WHERE key = 'stream_index_position'").get() as { value: unknown } | undefined)?.value;
    const asOf = Number(indexed ?? 0);
    return { rows, asOf: Number.isSafeInteger(asOf) && asOf > 0 ? asOf : 0, ...(indexed === undefined ? {} : { indexed: String(indexed) }) };
  } catch {
    return { rows: [], asOf: 0 };
  }
}

/**
 * Verifies the log at `path` on this thread. Throws AuraError('not_found') when there is no file
 * and AuraError('validation') for a file of another schema; a file that is there but damaged is
 * reported, never thrown.
 */
export function verifyEventLog(path: string, onProgress?: (checked: number, total: number) => void, options: { native?: boolean } = {}): VerifyReport {
  const started = performance.now();
  const opened = openOrReport(path, started);
  if (!('db' in opened)) return opened;
  const { db, head, streams, chunks } = opened;
  try {
    const native = (options.native ?? true) && useNativeChain(db);
    let check: DatabaseCheck;
    try {
      check = databaseCheck(db, head, native);
    } catch (error) {
      check = { lines: [`integrity_check failed: ${(error as Error).message}`] };
    }
    const slice = checkRange(new EventReader(db), 1, head, genesisHashHex, (checked) => onProgress?.(checked, head));
    onProgress?.(slice.events, head);
    return assembleReport(path, started, withHeaderFindings(integrityFindings(check, [slice], () => integrityCheckOf(path)), path), [slice], streams, chunks);
  } finally {
    db.close();
  }
}
