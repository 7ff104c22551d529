/**
 * Checks a range of an event log: positions contiguous, each event's chain hash, stream
 * versions contiguous inside the range. Used whole by verify.ts and in slices by the
 * verification workers (verify-parallel.ts), which stitch the slices together.
 */
import type Database from 'better-sqlite3';
import { endianness } from 'node:os';
import { lostClaim, lostEventType, lostStream } from '../core/events/event.ts';
import { type EventReader } from './event-reader.ts';
import { tombstoneId } from './hashing.ts';
import { nativeChainRows } from './native-chain.ts';
import type { RawEventRowWithHash } from './sqlite-schema.ts';
import { chainHash, framingOfRow } from './sqlite-event-store.ts';

export type ProblemKind = 'integrity' | 'missing_position' | 'chain' | 'stream_version' | 'unreadable' | 'head' | 'lost' | 'stream_index';

export interface VerifyProblem {
  readonly position: number | null;
  readonly kind: ProblemKind;
  readonly detail: string;
}

export const problemsMax = 100;

/** A finding: damage, as opposed to a loss an earlier repair declared (a tombstone, kind 'lost'). */
export function isFinding(problem: VerifyProblem): boolean {
  return problem.kind !== 'lost';
}

/**
 * The order reports list problems in: findings (damage) before the losses earlier repairs
 * declared, so that a list cut at problemsMax keeps the findings however many losses come
 * first; then by position, those without one (the database's) where `unpositioned` puts them.
 */
export function findingsFirst(unpositioned: number): (a: VerifyProblem, b: VerifyProblem) => number {
  return (a, b) => Number(isFinding(b)) - Number(isFinding(a)) || (a.position ?? unpositioned) - (b.position ?? unpositioned);
}

/** The first finding's position (null when the findings have none: the database's); with no findings, the first declared loss's. */
export function firstBadPositionOf(problems: readonly VerifyProblem[]): number | null {
  const findings = problems.filter(isFinding);
  const positioned = (findings.length > 0 ? findings : problems).flatMap((problem) => (problem.position === null ? [] : [problem.position]));
  return positioned.length > 0 ? Math.min(...positioned) : null;
}

/**
 * A stream's versions from..to - 1 missing, no tombstone naming them: [position of the event
 * after the gap, stream id, from, to, position of the stream's event before the gap (0: none)].
 */
export type StreamGap = readonly [position: number, streamId: number, from: number, to: number, after: number];

/** Gaps a range keeps for matching; past these, a gap is a problem at once. */
const gapsMax = 100_000;

/**
 * A verification worker's task (workers/chain-worker.ts): a slice of the chain, or the check of
 * the database up to the log's head (verify.ts: databaseCheck). `native: false` checks the chain in JavaScript even where the native chain
 * check is built.
 */
export type ChainTask = { readonly path: string; readonly native: boolean } & ({ readonly from: number; readonly to: number; readonly previousHash: string } | { readonly integrity: true; readonly head: number });

/** Rows read (or checked natively) per query. */
const pageEvents = 4_096;

export interface RangeResult {
  readonly from: number;
  /** Last position read (from - 1 if none). */
  readonly lastPosition: number;
  readonly lastHash: string;
  readonly events: number;
  readonly problems: VerifyProblem[];
  /** Every problem found was a declared loss (`problems` holds the first problemsMax findings, then the first problemsMax losses). */
  readonly onlyLost: boolean;
  readonly declaredLost: number[];
  /**
   * [stream id, version] of each event a tombstone in $lost declares lost (its payload names
   * them): a stream's version gap there is explained, not damage.
   */
  readonly declaredVersions: [number, number][];
  /**
   * Positions of the tombstones in $lost that name no stream version (a repair could not tell
   * the stream of a row it could not read): each may explain one version gap (unexplainedGaps).
   */
  readonly unnamedLost: number[];
  /** Version gaps no tombstone names, for assembleReport to match with unnamed tombstones (at most gapsMax; the rest are problems). */
  readonly streamGaps: StreamGap[];
  /** Per stream id: [stream id, first version seen, last version seen, position of the first, position of the last] in this range. */
  readonly streamSpans: [number, number, number, number, number][];
  /** True when reading stopped early because the database could not be read. */
  readonly unreadable: boolean;
  /** Stream id and version of each position read, at index position - from (-1: not read). */
  readonly streamOf: Int32Array;
  readonly versionOf: Int32Array;
  /** The native chain check was there for this range (native-chain.ts). */
  readonly native: boolean;
  /** Rows it vouched for; the others were checked in JavaScript. */
  readonly nativeRows: number;
  /**
   * The sum (mod 2^64) of the (id, position) entry digests of every row read, as the id index
   * must hold them (verify.ts: databaseCheck); undefined without the native chain check.
   */
  readonly idDigest: bigint | undefined;
  /** The rows idDigest sums. */
  readonly idEntries: number;
}

/**
 * Checks positions from..to (inclusive). `previousHash` is the stored hash at from - 1 (the
 * genesis hash for position 1), so slices can be checked independently.
 */
export function checkRange(reader: EventReader, from: number, to: number, previousHash: string, onProgress?: (checked: number) => void): RangeResult {
  const db = reader.db;
  const problems: VerifyProblem[] = [];
  // Capped apart: losses an earlier repair declared must not crowd out the findings after them.
  const losses: VerifyProblem[] = [];
  const declaredLost: number[] = [];
  let onlyLost = true;
  const report = (problem: VerifyProblem): void => {
    if (!isFinding(problem)) {
      if (losses.length < problemsMax) losses.push(problem);
      return;
    }
    onlyLost = false;
    if (problems.length < problemsMax) problems.push(problem);
  };
  // The tombstones' type and stream, by the names' index, else by the table alone (a damaged
  // index must not hide them: every tombstone would read as damage); a page SQLite cannot read
  // either way is a finding, as for the rows.
  const lookup = (table: 'event_types' | 'streams', column: 'type_id' | 'stream_id', name: string): number | undefined => {
    try {
      return db.prepare(`SELECT ${column} FROM ${table} WHERE name = ?`).pluck().get(name) as number | undefined;
    } catch {
      try {
        return db.prepare(`SELECT ${column} FROM ${table} NOT INDEXED WHERE name = ?`).pluck().get(name) as number | undefined;
      } catch (error) {
        report({ position: null, kind: 'unreadable', detail: `${name} cannot be looked up: ${(error as Error).message}` });
        return undefined;
      }
    }
  };
  const lostTypeId = lookup('event_types', 'type_id', lostEventType);
  const lostStreamId = lookup('streams', 'stream_id', lostStream);
  const declaredVersions: [number, number][] = [];
  const unnamedLost: number[] = [];
  const streamGaps: StreamGap[] = [];
  const streamIdOf = db.prepare('SELECT stream_id FROM streams WHERE name = ?');
  const declared = new Set<string>();
  const spans = new Map<number, [number, number, number, number]>();
  let previous = previousHash;
  let expected = from;
  let events = 0;
  let lastHash = previousHash;
  let unreadable = false;
  const capacity = Number.isFinite(to) && to - from + 1 <= 50_000_000 ? Math.max(0, to - from + 1) : 0;
  let streamOf = new Int32Array(capacity).fill(-1);
  let versionOf = new Int32Array(capacity);
  const remember = (position: number, streamId: number, version: number): void => {
    const index = position - from;
    if (index < 0) return;
    if (index >= streamOf.length) {
      const grown = new Int32Array(Math.max(index + 1, streamOf.length * 2 + 1024)).fill(-1);
      grown.set(streamOf);
      streamOf = grown;
      const grownVersions = new Int32Array(grown.length);
      grownVersions.set(versionOf);
      versionOf = grownVersions;
    }
    streamOf[index] = streamId;
    versionOf[index] = version;
  };
  /** One row: `row` to check its chain link here, undefined when the native check vouched for it. */
  const visit = (position: number, streamId: number, version: number, typeId: number, vouched: RawEventRowWithHash | undefined): void => {
    // A tombstone's row is read even where the native check vouched for its hash: only its id
    // tells one a repair wrote from a row whose type was changed (and every hash after rewritten).
    const row = vouched === undefined && typeId === lostTypeId ? reader.rawRangeWithHash(position, position)[0] : vouched;
    if (position !== expected) {
      report({ position: expected, kind: 'missing_position', detail: `positions ${expected}..${position - 1} are missing` });
      previous = ''; // the chain cannot be followed across a hole
    }
    if (typeId === lostTypeId && row !== undefined && row[3] !== tombstoneId(position, row[10])) {
      // Its type says tombstone, but no repair wrote it: its type (or id) changed.
      report({ position, kind: 'chain', detail: 'the event is marked as a tombstone, but no repair wrote it (its type or its id changed)' });
    } else if (typeId === lostTypeId) {
      declaredLost.push(position);
      report({ position, kind: 'lost', detail: 'a repair could not recover this event (tombstone)' });
      if (streamId === lostStreamId) {
        const named = declaredVersion(streamIdOf, row?.[6]);
        if (named !== undefined) {
          declaredVersions.push(named);
          declared.add(declaredKey(named[0], named[1]));
        } else unnamedLost.push(position);
      } else if (row !== undefined && !standsWhereItSays(reader, row)) {
        // In its lost event's stream, a tombstone's stream and version are its payload's (no hash covers them).
        report({ position, kind: 'chain', detail: 'the tombstone does not stand where it says (its stream or version changed)' });
      }
    } else if (row !== undefined) {
      let framing: string | undefined;
      try {
        framing = framingOfRow(reader, row);
      } catch (error) {
        report({ position, kind: 'unreadable', detail: (error as Error).message });
      }
      if (framing !== undefined && previous !== '' && chainHash(previous, framing) !== row[10]) {
        report({ position, kind: 'chain', detail: 'the event does not match its hash (its content, or the hash before it, changed)' });
      }
    }
    remember(position, streamId, version);
    const span = spans.get(streamId);
    if (span === undefined) spans.set(streamId, [version, version, position, position]);
    else {
      if (version !== span[1] + 1 && !gapDeclared(declared, streamId, span[1] + 1, version)) {
        const gap: StreamGap = [position, streamId, span[1] + 1, version, span[3]];
        if (version > span[1] + 1 && streamGaps.length < gapsMax) streamGaps.push(gap);
        else report(gapProblem(gap));
      }
      span[1] = version;
      span[3] = position;
    }
    expected = position + 1;
    events += 1;
    if (onProgress !== undefined && (events & 0x3fff) === 0) onProgress(events);
  };
  // With the native chain check, a page whose every row it vouched for is taken from its
  // records; any other page is checked below the JavaScript way, whole, as if it were alone.
  const native = nativeChainRows(db);
  let nativeRows = 0;
  let idDigest = 0n;
  let idEntries = 0;
  const hexHash = /^[0-9a-f]{64}$/;
  try {
    for (let page = from; page <= to; page += pageEvents) {
      const pageTo = Math.min(to, page + pageEvents - 1);
      // A page SQLite cannot read throws here as it would for the rows themselves (unreadable, below).
      const records = native?.(expected, hexHash.test(previous) ? Buffer.from(previous, 'hex') : null, page, pageTo);
      if (records !== undefined) {
        idDigest += records.idDigest;
        idEntries += records.count;
      }
      let count: number;
      if (records !== undefined && records.notVouched === 0 && records.lastHash !== undefined) {
        for (let index = 0; index < records.count; index++) {
          const at = index * 6;
          visit(records.positions[index * 3] as number, records.ints[at + 2] as number, records.ints[at + 3] as number, records.ints[at + 4] as number, undefined);
        }
        previous = records.lastHash;
        lastHash = records.lastHash;
        count = records.count;
        nativeRows += count;
      } else {
        const rows = reader.rawRangeWithHash(page, pageTo);
        for (let index = 0; index < rows.length; index++) {
          const row = rows[index] as RawEventRowWithHash;
          visit(row[0], row[1], row[2], row[4], row);
          previous = row[10];
          lastHash = row[10];
        }
        count = rows.length;
      }
      if (count > 0) continue;
      const next = reader.nextPositionFrom(page);
      if (next === undefined) break;
      page = Math.max(page, next - pageEvents);
    }
  } catch (error) {
    unreadable = true;
    report({ position: expected, kind: 'unreadable', detail: (error as Error).message });
  }
  return {
    from,
    lastPosition: expected - 1,
    lastHash,
    events,
    problems: [...problems, ...losses],
    onlyLost,
    declaredLost,
    declaredVersions,
    unnamedLost,
    streamGaps,
    streamSpans: [...spans].map(([id, [first, last, firstAt, lastAt]]) => [id, first, last, firstAt, lastAt]),
    unreadable,
    streamOf: streamOf.subarray(0, Math.max(0, expected - from)),
    versionOf: versionOf.subarray(0, Math.max(0, expected - from)),
    native: native !== undefined,
    nativeRows,
    idDigest: native === undefined ? undefined : BigInt.asUintN(64, idDigest),
    idEntries,
  };
}

/**
 * The stream and version a tombstone in $lost names (its payload: { position, stream, version }),
 * as [stream id, version]; undefined when it names none or cannot be read.
 */
function declaredVersion(streamIdOf: Database.Statement, payload: unknown): [number, number] | undefined {
  try {
    const claim = lostClaim(payload);
    if (claim?.stream == null || claim.version === null) return undefined;
    const stream = streamIdOf.get(claim.stream) as { stream_id: number } | undefined;
    return stream === undefined ? undefined : [stream.stream_id, claim.version];
  } catch {
    return undefined;
  }
}

/** A tombstone outside $lost stands at the stream and version its payload names. */
function standsWhereItSays(reader: EventReader, row: RawEventRowWithHash): boolean {
  const claim = lostClaim(row[6]);
  if (claim === undefined) return false;
  try {
    return claim.stream === reader.streamName(row[1]) && claim.version === row[2];
  } catch {
    return false;
  }
}

/** The key of a stream's version in a set of declared losses. */
export function declaredKey(streamId: number, version: number): string {
  return `${streamId}:${version}`;
}

/** A version gap as verification reports it. */
export function gapProblem([position, , from, to]: StreamGap): VerifyProblem {
  return { position, kind: 'stream_version', detail: `stream version ${to}, expected ${from}` };
}

/**
 * The gaps that tombstones naming nothing do not explain. A repair that cannot read a row puts
 * its tombstone at its position in $lost, naming no stream: the row's stream is left with a gap
 * of one version, between the stream's events before and after that position. Each such
 * tombstone explains at most one missing version, of a gap around its position; a gap is
 * explained when every version it misses that no tombstone names (`declared`) gets one of its own. Gaps are matched in the
 * order they close, each to the earliest free tombstones after its stream's previous event (the
 * greedy order that matches the most single-version gaps); a gap that cannot have all it needs
 * takes none and stays a problem.
 */
export function unexplainedGaps(gaps: readonly StreamGap[], unnamed: readonly number[], declared: ReadonlySet<string> = new Set()): StreamGap[] {
  if (unnamed.length === 0 || gaps.length === 0) return [...gaps];
  const points = Float64Array.from(unnamed).sort();
  // free[i]: the first tombstone at or after i not taken yet (points.length: none), path-halved.
  const free = Int32Array.from({ length: points.length + 1 }, (_, index) => index);
  const firstFree = (index: number): number => {
    let at = index;
    while (free[at] !== at) {
      free[at] = free[free[at] as number] as number;
      at = free[at] as number;
    }
    return at;
  };
  const unexplained: StreamGap[] = [];
  for (const gap of [...gaps].sort((a, b) => a[0] - b[0])) {
    const [position, streamId, from, to, after] = gap;
    // Versions a tombstone in $lost names are accounted for: the others need unnamed ones.
    let missing = to - from;
    if (missing <= points.length + declared.size) for (let version = from; version < to; version++) if (declared.has(declaredKey(streamId, version))) missing -= 1;
    const taken: number[] = [];
    if (missing <= points.length) {
      let index = firstAbove(points, after);
      while (taken.length < missing) {
        const at = firstFree(index);
        if (at >= points.length || (points[at] as number) >= position) break;
        taken.push(at);
        index = at + 1;
      }
    }
    if (taken.length < missing) unexplained.push(gap);
    else for (const at of taken) free[at] = at + 1;
  }
  return unexplained;
}

/** The index of the first value above `value` in sorted `points` (points.length: none). */
function firstAbove(points: Float64Array, value: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((points[middle] as number) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** True when versions from..to - 1 of the stream are all declared lost (`declared` holds declaredKey()s). */
export function gapDeclared(declared: ReadonlySet<string>, streamId: number, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let version = from; version < to; version++) if (!declared.has(declaredKey(streamId, version))) return false;
  return true;
}

export interface BadChunk {
  readonly streamId: number;
  readonly firstVersion: number;
  /** The earliest valid position the chunk holds (1 when it holds none). */
  readonly firstPosition: number;
  readonly detail: string;
}

export interface ChunkRow {
  readonly stream_id: number;
  readonly first_version: number;
  readonly positions: Buffer;
}

export function readChunks(db: Database.Database): ChunkRow[] {
  return db.prepare('SELECT stream_id, first_version, positions FROM stream_chunks').all() as ChunkRow[];
}

const littleEndian = endianness() === 'LE';

/**
 * A chunk's positions (little-endian float64, stream-index.ts) as a typed array: in place when the
 * blob is aligned for it (it is, from better-sqlite3) on a little-endian machine, copied if not.
 */
function chunkPositions(blob: Buffer, count: number): Float64Array {
  if (littleEndian && blob.byteOffset % 8 === 0) return new Float64Array(blob.buffer, blob.byteOffset, count);
  const positions = new Float64Array(count);
  for (let index = 0; index < count; index++) positions[index] = blob.readDoubleLE(index * 8);
  return positions;
}

/**
 * The stream index's position (meta.stream_index_position, as stored) against its chunks. A
 * stream read takes the events up to that position from chunks alone (only those after it are
 * re-read at open), so every event there must be in a chunk; a position past the last event, or
 * one that is not a position, would hide events from stream reads. `streamAt` and `versionAt`
 * give, by position, what the chain check read (stream id -1: nothing).
 */
export function uncoveredByIndex(chunks: readonly ChunkRow[], indexed: string, head: number, streamAt: Int32Array, versionAt: Int32Array): VerifyProblem | undefined {
  const to = Number(indexed);
  if (!Number.isSafeInteger(to) || to < 0 || String(to) !== indexed) {
    return { position: null, kind: 'stream_index', detail: `stream index: its position ${JSON.stringify(indexed.slice(0, 40))} is not a position` };
  }
  if (to > head) return { position: null, kind: 'stream_index', detail: `stream index: says it holds every event to position ${to}, past the last one (${head})` };
  const covered = new Uint8Array(to + 1);
  for (const chunk of chunks) {
    const positions = chunkPositions(chunk.positions, Math.floor(chunk.positions.length / 8));
    for (let index = 0; index < positions.length; index++) {
      const position = positions[index] as number;
      if (Number.isInteger(position) && position >= 1 && position <= to) covered[position] = 1;
    }
  }
  for (let position = 1; position <= to; position++) {
    if ((streamAt[position] as number) >= 0 && covered[position] === 0) {
      return { position, kind: 'stream_index', detail: `stream index: position ${position} (version ${versionAt[position]} of stream ${streamAt[position]}) is in no chunk, though the index says it holds every event to ${to}` };
    }
  }
  return undefined;
}

/**
 * Checks the stream index (derived data, but read by every stream read): every position a chunk
 * holds must be its stream's event at that version (0 marks a version with no event).
 * `streamAt` and `versionAt` give, by position, what the chain check read there (stream id -1:
 * nothing read).
 */
export function badStreamChunks(chunks: readonly ChunkRow[], head: number, streamAt: Int32Array, versionAt: Int32Array): BadChunk[] {
  const bad: BadChunk[] = [];
  for (const chunk of chunks) {
    const count = Math.floor(chunk.positions.length / 8);
    const positions = chunkPositions(chunk.positions, count);
    let firstPosition = Number.POSITIVE_INFINITY;
    let wrong: string | undefined = chunk.positions.length % 8 === 0 ? undefined : 'a chunk of a length that is not a whole number of positions';
    for (let index = 0; index < count; index++) {
      const position = positions[index] as number;
      if (position === 0) continue; // a version with no event (stream-index.ts: missingVersion)
      const valid = Number.isInteger(position) && position >= 1 && position <= head;
      if (valid && position < firstPosition) firstPosition = position;
      if (wrong === undefined && (!valid || position >= streamAt.length || (streamAt[position] as number) < 0 || streamAt[position] !== chunk.stream_id || versionAt[position] !== chunk.first_version + index)) {
        wrong = `names position ${position} for version ${chunk.first_version + index}, which is not that event`;
      }
    }
    if (wrong !== undefined) bad.push({ streamId: chunk.stream_id, firstVersion: chunk.first_version, firstPosition: Number.isFinite(firstPosition) ? firstPosition : 1, detail: `stream index: the chunk of stream ${chunk.stream_id} from version ${chunk.first_version} ${wrong}` });
  }
  return bad;
}
