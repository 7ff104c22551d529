/**
 * The SQLite schema of an event log. Integer ids for streams and event types keep the events
 * table small (4x faster appends than text keys); metadata is stored in columns so that reads
 * parse only the payload. There is no (stream, version) B-tree index: with many interleaved
 * streams it dirties one index page per stream per commit and halves append throughput. The
 * per-stream index is kept in chunks instead (stream-index.ts).
 */
import Database from 'better-sqlite3';
import { AuraError } from '../core/kernel/errors.ts';

/**
 * 5: streams.version is each stream's version as of meta.stream_index_position (stream-index.ts).
 * A schema-4 log (versions written at every commit) is valid schema 5 as it stands: readers
 * take it, and a writer opening it marks it 5, so that a build reading schema 4 no longer
 * trusts its versions.
 */
export const storeSchemaVersion = 5;
const readableSchemaVersions = [4, 5];

export type Durability = 'normal' | 'full';

export interface OpenOptions {
  /** normal: WAL + synchronous=NORMAL; full: WAL + synchronous=FULL. See ARCHITECTURE.md. */
  readonly durability?: Durability;
  readonly readonly?: boolean;
  /** Leave WAL checkpoints to a background thread (wal-checkpointer.ts) instead of the writer. */
  readonly backgroundCheckpoints?: boolean;
}

/**
 * Columns of an events row, in SELECT order. Ids and hashes are read as hex text: better-sqlite3
 * turns a BLOB into a Buffer at about 4x the cost of a short string.
 */
export const eventColumns =
  "position, stream_id, version, lower(hex(id)), type_id, schema_version, payload, virtual_time_us, lower(hex(causation_id)), correlation_id";
/**
 * eventColumns with the hash, for rows read to be checked or put back (verification in
 * JavaScript, repairs). Text columns are cast: a value whose stored type a flipped bit changed
 * (a payload stored as a BLOB, which STRICT refuses to write back) comes back as the text its
 * bytes are, and the chain hash decides.
 */
export const eventColumnsWithHash =
  'position, stream_id, version, lower(hex(id)), type_id, schema_version, CAST(payload AS TEXT), virtual_time_us, lower(hex(causation_id)), CAST(correlation_id AS TEXT), lower(hex(hash))';
/**
 * eventColumns with ids in upper-case hex, for rows that only become events through
 * EventReader.toEvent, which lower-cases them: SQLite's lower() cost reading the whole log a
 * fifth of its time (311,000 -> 401,000 rows/s without it, medians of seven runs).
 */
export const eventColumnsUpperHex = 'position, stream_id, version, hex(id), type_id, schema_version, payload, virtual_time_us, hex(causation_id), correlation_id';

/** causation_id is '' (hex of NULL) when absent. */
export type RawEventRow = [
  position: number,
  streamId: number,
  version: number,
  idHex: string,
  typeId: number,
  schemaVersion: number,
  payload: string,
  virtualTimeUs: number,
  causationHex: string,
  correlationId: string | null,
];
export type RawEventRowWithHash = [...RawEventRow, hashHex: string];

export function openDatabase(path: string, options: OpenOptions = {}): Database.Database {
  const readonly = options.readonly ?? false;
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (error) {
    throw new AuraError(readonly ? 'not_found' : 'unavailable', `cannot open ${path}: ${(error as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    if (!readonly) {
      // Another program's database is refused before anything changes it (WAL mode is written to the file).
      refuseForeign(db, path);
      // A new file gets 16 KiB pages: fewer, larger pages suit an append-mostly log of ~300-byte events.
      const empty = (db.prepare('SELECT COUNT(*) AS n FROM sqlite_schema').get() as { n: number }).n === 0;
      if (empty) db.pragma('page_size = 16384');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma(`wal_autocheckpoint = ${options.backgroundCheckpoints ? 0 : 4096}`);
    }
  } catch (error) {
    db.close();
    if (error instanceof AuraError) throw error;
    // Not a database, or a damaged one: a repair's business. Anything else (busy, read-only, I/O) is the file's circumstances.
    const code = (error as { code?: string }).code ?? '';
    const damaged = code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT');
    throw new AuraError(damaged ? 'damaged' : 'unavailable', `${path} ${damaged ? 'is not a readable AURA Lab event log' : 'cannot be opened'}: ${(error as Error).message}`);
  }
  return db;
}

export function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE IF NOT EXISTS streams (
      stream_id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      category TEXT NOT NULL,
      version INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS streams_by_category ON streams (category);
    CREATE TABLE IF NOT EXISTS event_types (
      type_id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE
    ) STRICT;
    CREATE TABLE IF NOT EXISTS events (
      position INTEGER PRIMARY KEY,
      stream_id INTEGER NOT NULL,
      version INTEGER NOT NULL,
      id BLOB NOT NULL,
      type_id INTEGER NOT NULL,
      schema_version INTEGER NOT NULL,
      payload TEXT NOT NULL,
      virtual_time_us INTEGER NOT NULL,
      causation_id BLOB,
      correlation_id TEXT,
      hash BLOB NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (id);
    CREATE TABLE IF NOT EXISTS stream_chunks (
      chunk_id INTEGER PRIMARY KEY,
      stream_id INTEGER NOT NULL,
      first_version INTEGER NOT NULL,
      positions BLOB NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS stream_chunks_by_stream ON stream_chunks (stream_id, first_version);
    CREATE TABLE IF NOT EXISTS projections (
      name TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('live', 'shadow')),
      shard INTEGER NOT NULL,
      version INTEGER NOT NULL,
      checkpoint INTEGER NOT NULL,
      state TEXT NOT NULL,
      halted_at INTEGER,
      PRIMARY KEY (name, role, shard)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS projection_parked (
      name TEXT NOT NULL,
      role TEXT NOT NULL,
      position INTEGER NOT NULL,
      error TEXT NOT NULL,
      PRIMARY KEY (name, role, position)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS projection_snapshots (
      name TEXT NOT NULL,
      role TEXT NOT NULL,
      shard INTEGER NOT NULL,
      position INTEGER NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (name, role, shard, position)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS projection_snapshot_parts (
      name TEXT NOT NULL,
      role TEXT NOT NULL,
      shard INTEGER NOT NULL,
      position INTEGER NOT NULL,
      base INTEGER NOT NULL,
      state TEXT NOT NULL,
      PRIMARY KEY (name, role, shard, position)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS projection_skips (
      name TEXT NOT NULL,
      position INTEGER NOT NULL,
      PRIMARY KEY (name, position)
    ) STRICT;
  `);
  db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(storeSchemaVersion));
  db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('stream_index_position', '0')`).run();
  db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version' AND value = '4'`).run(String(storeSchemaVersion));
}

/** Refuses a file that is not an AURA Lab event log of this schema. */
export function checkSchema(db: Database.Database, path: string): void {
  refuseForeign(db, path);
  let version: string | undefined;
  try {
    version = (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined)?.value;
  } catch (error) {
    throw new AuraError('damaged', `${path} is not a readable AURA Lab event log: ${(error as Error).message}`);
  }
  if (version === undefined) throw new AuraError('damaged', `${path} is not an AURA Lab event log (no schema version)`);
  if (!readableSchemaVersions.includes(Number(version))) {
    throw new AuraError('validation', `${path} has event log schema ${version}; this AURA Lab reads schemas ${readableSchemaVersions.join(' and ')}`);
  }
  // Every column the lab reads is there (a flipped bit in the schema's SQL can rename one: the
  // file opens, and the first read fails).
  try {
    for (const columns of labColumns) db.prepare(`SELECT ${columns} LIMIT 0`);
  } catch (error) {
    throw new AuraError('damaged', `${path} is not a readable AURA Lab event log: ${(error as Error).message}`);
  }
}

/**
 * Refuses (validation: unusable input) an SQLite file that holds tables but none of an event
 * log's (neither `meta` nor `events`): another program's database, which a writer would
 * otherwise fill with the lab's tables. An empty file is a new log; a file whose schema cannot be
 * read is a damaged one (checkSchema reports it).
 */
function refuseForeign(db: Database.Database, path: string): void {
  let tables: string[];
  try {
    tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[];
  } catch {
    return;
  }
  if (tables.length > 0 && !tables.includes('meta') && !tables.includes('events')) {
    throw new AuraError('validation', `${path} is not an AURA Lab event log: it is an SQLite database with other tables (${tables.slice(0, 3).join(', ')}${tables.length > 3 ? ', …' : ''})`);
  }
}

/** The columns of each table the lab reads, as `columns FROM table`. */
const labColumns = [
  `${eventColumnsWithHash} FROM events`,
  'stream_id, name, category, version FROM streams',
  'type_id, name FROM event_types',
  'chunk_id, stream_id, first_version, positions FROM stream_chunks',
  'key, value FROM meta',
];
