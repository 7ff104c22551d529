/**
 * The hash chain in SQLite itself, check and link: src/native/aura-chain.c, built by `npm run build`
 * (scripts/build-native.mjs) into out/native, recomputes every event's chain hash while SQLite
 * reads the row, and hands back a compact record per row instead of eleven values into
 * JavaScript. chain-check.ts uses it page by page when a connection has it, takes a page from
 * it only when it vouched for every row, and checks any other page the JavaScript way, whole,
 * so the report is the same with it or without it; only the time differs.
 *
 * Batched appends hand their validated, numbered rows to it packed in one blob per batch
 * (native-append.ts); it links and inserts them, so the chain's SHA-256 and the eleven values
 * per row never cross from JavaScript one by one.
 *
 * Without the library (no C compiler at install, a platform without it, a host process that
 * does not export OpenSSL's SHA256 as Node does), verification and appends run in JavaScript
 * as before, writing the same bytes.
 */
import type Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './runtime.ts';

/** Where `npm run build` puts the library, without the platform's suffix (.so, .dylib). */
export function nativeChainLibrary(): string {
  return join(packageRoot(), 'out', 'native', 'aura-chain');
}

/** Bytes per row record: position (float64), stream id, version, type id, flag (int32 each). */
const recordBytes = 24;
/** int32 rows, int32 rows not vouched for, uint64 the rows' id entry digest. */
const headerBytes = 16;

export interface ChainRecords {
  readonly count: number;
  /** Rows the native check did not vouch for (the caller checks such a page itself). */
  readonly notVouched: number;
  /** Per row at index * 3: position. */
  readonly positions: Float64Array;
  /** Per row at index * 6: [.., .., stream id, version, type id, flag]; flag 1: vouched for. */
  readonly ints: Int32Array;
  /** The last row's stored hash (hex), when every row was vouched for. */
  readonly lastHash: string | undefined;
  /** The sum (mod 2^64) of the rows' (id, position) entry digests, as the id index must hold them (verify.ts: databaseCheck). */
  readonly idDigest: bigint;
}

export type ChainRows = (expected: number, previousHash: Buffer | null, from: number, to: number) => ChainRecords;

let loadFailure: { readonly libraryMs: number; readonly message: string } | undefined;
const rowsByConnection = new WeakMap<Database.Database, ChainRows>();

function libraryFile(): string | undefined {
  const base = nativeChainLibrary();
  return [`${base}.so`, `${base}.dylib`, `${base}.dll`].find((file) => existsSync(file));
}

const loadedInto = new WeakSet<Database.Database>();

/**
 * Loads the library's functions into `db` (once per connection) without turning anything on:
 * the chain check is used where useNativeChain says so, packed reads where native-read.ts
 * prepares them. False when it is not built or does not load, or `db` is closed.
 */
export function loadNativeLibrary(db: Database.Database): boolean {
  if (loadedInto.has(db)) return true;
  if (!db.open) return false;
  const file = libraryFile();
  if (file === undefined) return false;
  const libraryMs = statSync(file).mtimeMs;
  if (loadFailure !== undefined && loadFailure.libraryMs === libraryMs) return false;
  try {
    db.loadExtension(file);
  } catch (error) {
    loadFailure = { libraryMs, message: (error as Error).message };
    return false;
  }
  loadedInto.add(db);
  return true;
}

/**
 * Loads the library into `db` and turns the chain check on for it (once per connection), so that
 * chain-check.ts uses it there. False when it is not built, or does not
 * load (`nativeChainError()` tells why; a library that failed to load is tried again once it
 * is rebuilt), or when `db` is closed or has no event log.
 */
export function useNativeChain(db: Database.Database): boolean {
  if (rowsByConnection.has(db)) return true;
  if (!loadNativeLibrary(db)) return false;
  let statement: Database.Statement;
  try {
    statement = db
      .prepare(
        `SELECT aura_chain_rows(@expected, @previous, position, stream_id, version, id, type_id, schema_version, virtual_time_us, causation_id, correlation_id, payload, hash)
         FROM events WHERE position >= @from AND position <= @to`,
      )
      .pluck();
  } catch {
    return false; // not an event log: the caller reports that its own way
  }
  rowsByConnection.set(db, (expected, previous, from, to) => {
    const blob = statement.get({ expected, previous, from, to }) as Buffer | null;
    if (blob === null || blob.length === 0) return { count: 0, notVouched: 0, positions: new Float64Array(0), ints: new Int32Array(0), lastHash: undefined, idDigest: 0n };
    // Typed views need the records 8-byte aligned; a copy when they are not.
    const bytes = blob.byteOffset % 8 === 0 ? blob : new Uint8Array(blob);
    const header = new Int32Array(bytes.buffer, bytes.byteOffset, 2);
    const count = header[0] as number;
    const notVouched = header[1] as number;
    const recordsEnd = headerBytes + count * recordBytes;
    if (count < 0 || (bytes.length !== recordsEnd && bytes.length !== recordsEnd + 32)) throw new Error(`the native chain check returned ${bytes.length} bytes for ${count} rows`);
    return {
      count,
      notVouched,
      positions: new Float64Array(bytes.buffer, bytes.byteOffset + headerBytes, count * 3),
      ints: new Int32Array(bytes.buffer, bytes.byteOffset + headerBytes, count * 6),
      lastHash: bytes.length === recordsEnd + 32 ? Buffer.from(bytes.buffer, bytes.byteOffset + recordsEnd, 32).toString('hex') : undefined,
      idDigest: new BigUint64Array(bytes.buffer, bytes.byteOffset + 8, 1)[0] as bigint,
    };
  });
  return true;
}

/** Links and inserts packed rows after `previousHash`; returns the last row's hash. */
export type InsertRows = (previousHash: Buffer, rows: Buffer) => Buffer;

const insertsByConnection = new WeakMap<Database.Database, InsertRows>();

/** The row inserter for `db` (loading the library into it), or undefined without the library. */
export function nativeInsertRows(db: Database.Database): InsertRows | undefined {
  const known = insertsByConnection.get(db);
  if (known !== undefined || !useNativeChain(db)) return known;
  const statement = db.prepare<[Buffer, Buffer]>('SELECT aura_insert_rows(?, ?)').pluck();
  const insert: InsertRows = (previousHash, rows) => statement.get(previousHash, rows) as Buffer;
  insertsByConnection.set(db, insert);
  return insert;
}

/** The page reader for `db`, when useNativeChain(db) loaded the library into it. */
export function nativeChainRows(db: Database.Database): ChainRows | undefined {
  return rowsByConnection.get(db);
}

/** Why the library did not load (undefined when it is not built, did load, or was not tried). */
export function nativeChainError(): string | undefined {
  return libraryFile() === undefined ? `not built (no ${nativeChainLibrary()}.so: run npm run build)` : loadFailure?.message;
}
