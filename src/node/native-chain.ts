/**
 * The chain check in SQLite itself: src/native/aura-verify.c, built by `npm run build`
 * (scripts/build-native.mjs) into out/native, recomputes every event's chain hash while SQLite
 * reads the row, and hands back a compact record per row instead of eleven values into
 * JavaScript. chain-check.ts uses it page by page when a connection has it and checks every
 * row it flags (and every page it cannot give) the JavaScript way, so the report is the same
 * with it or without it; only the time differs.
 *
 * Without the library (no C compiler at install, a platform without it, a host process that
 * does not export OpenSSL's SHA256 as Node does), verification runs in JavaScript as before.
 */
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { packageRoot } from './runtime.ts';

/** Where `npm run build` puts the library; SQLite appends the platform's suffix (.so, .dylib). */
export function nativeChainLibrary(): string {
  return join(packageRoot(), 'out', 'native', 'aura-verify');
}

/** Bytes per row record: position (float64), stream id, version, type id, flag (int32 each). */
const recordBytes = 24;

export interface ChainRecords {
  readonly count: number;
  readonly positions: Float64Array;
  /** Per row at index * 6: [.., .., stream id, version, type id, flag]; flag 1: the stored hash matched. */
  readonly ints: Int32Array;
}

export type ChainRows = (expected: number, previousHash: Buffer | null, from: number, to: number) => ChainRecords | null;

let loadError: string | undefined;
const rowsByConnection = new WeakMap<Database.Database, ChainRows>();

/**
 * Loads the library into `db` (once per connection). False, with `nativeChainError()` telling
 * why, when it is not there or does not load.
 */
export function useNativeChain(db: Database.Database): boolean {
  if (rowsByConnection.has(db)) return true;
  if (loadError !== undefined) return false;
  try {
    db.loadExtension(nativeChainLibrary());
  } catch (error) {
    loadError = (error as Error).message;
    return false;
  }
  const statement = db
    .prepare(
      `SELECT aura_chain_rows(@expected, @previous, position, stream_id, version, id, type_id, schema_version, virtual_time_us, causation_id, correlation_id, payload, hash)
       FROM events WHERE position >= @from AND position <= @to`,
    )
    .pluck();
  rowsByConnection.set(db, (expected, previous, from, to) => {
    const blob = statement.get({ expected, previous, from, to }) as Buffer | null;
    if (blob === null || blob.length % recordBytes !== 0) return null;
    // Typed views need the records 8-byte aligned; a copy when they are not.
    const bytes = blob.byteOffset % 8 === 0 ? blob : new Uint8Array(blob);
    const count = bytes.length / recordBytes;
    return { count, positions: new Float64Array(bytes.buffer, bytes.byteOffset, count * 3), ints: new Int32Array(bytes.buffer, bytes.byteOffset, count * 6) };
  });
  return true;
}

/** The page reader for `db`, when useNativeChain(db) loaded the library into it. */
export function nativeChainRows(db: Database.Database): ChainRows | undefined {
  return rowsByConnection.get(db);
}

/** Why the library did not load (undefined when it did, or was not tried). */
export function nativeChainError(): string | undefined {
  return loadError;
}
