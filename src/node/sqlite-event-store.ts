/**
 * The SQLite event store: one file, WAL, one writer connection. Positions are SQLite rowids
 * assigned inside the writer's transaction, so they are gap-free and ordered by construction.
 * Every event carries a SHA-256 chained over the previous event's hash and its own canonical
 * encoding.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { checkExpectedVersion } from '../core/events/append-rules.ts';
import { encodeRecordedEvent, eventContentKey } from '../core/events/encoding.ts';
import type { EventMetadata, RecordedEvent } from '../core/events/event.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { asEventId, asStreamName, type EventId, type StreamName } from '../core/kernel/ids.ts';
import { limits } from '../core/kernel/limits.ts';
import type { AppendResult, EventStore, StreamAppend } from '../core/ports/event-store.ts';

export type Durability = 'normal' | 'full';

export interface SqliteEventStoreOptions {
  /** normal: WAL + synchronous=NORMAL (survives a process crash; the last commits may be lost on power failure). full: synchronous=FULL (survives power failure). */
  readonly durability?: Durability;
  readonly readonly?: boolean;
}

const schemaVersion = 1;
const genesisHash = Buffer.alloc(32);

export interface EventRow {
  position: number;
  stream: string;
  version: number;
  id: string;
  type: string;
  schema_version: number;
  payload: string;
  metadata: string;
}

export function openDatabase(path: string, options: SqliteEventStoreOptions = {}): Database.Database {
  const db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
  }
  return db;
}

export function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE IF NOT EXISTS streams (
      stream_id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      version INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE IF NOT EXISTS events (
      position INTEGER PRIMARY KEY,
      stream_id INTEGER NOT NULL,
      version INTEGER NOT NULL,
      id TEXT NOT NULL,
      type TEXT NOT NULL,
      schema_version INTEGER NOT NULL,
      payload TEXT NOT NULL,
      metadata TEXT NOT NULL,
      hash BLOB NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream_version ON events (stream_id, version);
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (id);
    CREATE TABLE IF NOT EXISTS projections (
      name TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      checkpoint INTEGER NOT NULL,
      state TEXT NOT NULL
    ) STRICT;
  `);
  db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(schemaVersion));
}

export function rowToEvent(row: EventRow): RecordedEvent {
  return {
    position: row.position,
    stream: asStreamName(row.stream),
    version: row.version,
    id: asEventId(row.id),
    type: row.type,
    schemaVersion: row.schema_version,
    payload: JSON.parse(row.payload) as RecordedEvent['payload'],
    metadata: JSON.parse(row.metadata) as EventMetadata,
  };
}

export const selectEventsSql = `
  SELECT e.position, s.name AS stream, e.version, e.id, e.type, e.schema_version, e.payload, e.metadata
  FROM events e JOIN streams s ON s.stream_id = e.stream_id`;

export class SqliteEventStore implements EventStore {
  readonly db: Database.Database;
  private readonly statements;
  private lastHash: Buffer;
  private head: number;
  private readonly streamIds = new Map<string, { id: number; version: number }>();

  constructor(
    readonly path: string,
    options: SqliteEventStoreOptions = {},
  ) {
    this.db = openDatabase(path, options);
    if (!options.readonly) createSchema(this.db);
    this.statements = {
      insertEvent: this.db.prepare(
        'INSERT INTO events (position, stream_id, version, id, type, schema_version, payload, metadata, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertStream: this.db.prepare('INSERT INTO streams (name, version) VALUES (?, 0)'),
      updateStream: this.db.prepare('UPDATE streams SET version = ? WHERE stream_id = ?'),
      findStream: this.db.prepare<[string], { stream_id: number; version: number }>('SELECT stream_id, version FROM streams WHERE name = ?'),
      readAll: this.db.prepare<[number, number], EventRow>(`${selectEventsSql} WHERE e.position >= ? ORDER BY e.position LIMIT ?`),
      readStream: this.db.prepare<[string, number, number], EventRow>(`${selectEventsSql} WHERE s.name = ? AND e.version >= ? ORDER BY e.version LIMIT ?`),
      findById: this.db.prepare<[string], EventRow>(`${selectEventsSql} WHERE e.id = ?`),
      head: this.db.prepare<[], { position: number; hash: Buffer } | undefined>('SELECT position, hash FROM events ORDER BY position DESC LIMIT 1'),
      count: this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events'),
    };
    const head = this.statements.head.get();
    this.head = head?.position ?? 0;
    this.lastHash = head?.hash ?? genesisHash;
  }

  appendBatch(appends: readonly StreamAppend[]): AppendResult[] {
    const startHead = this.head;
    const startHash = this.lastHash;
    const touched = new Map<string, { id: number; version: number } | undefined>();
    try {
      return this.db.transaction(() => appends.map((append) => this.appendOne(append, touched)))();
    } catch (error) {
      // The transaction rolled back: restore the cached view of the log.
      this.head = startHead;
      this.lastHash = startHash;
      for (const [name, before] of touched) {
        if (before === undefined) this.streamIds.delete(name);
        else this.streamIds.set(name, before);
      }
      throw error;
    }
  }

  private appendOne(append: StreamAppend, touched: Map<string, { id: number; version: number } | undefined>): AppendResult {
    const duplicate = this.duplicateResult(append);
    if (duplicate) return duplicate;
    const stream = this.streamFor(append.stream, touched);
    checkExpectedVersion(append.stream, append.expected, stream.version);
    const first = this.head + 1;
    for (const event of append.events) {
      const payload = JSON.stringify(event.payload);
      const metadata = JSON.stringify(event.metadata);
      if (payload === undefined) throw new AuraError('validation', `event ${event.id}: payload is not JSON`);
      if (payload.length + metadata.length > limits.eventBytesMax) {
        throw new AuraError('limit', `event ${event.id} is ${payload.length + metadata.length} bytes; the limit is ${limits.eventBytesMax}`);
      }
      const position = this.head + 1;
      const version = stream.version + 1;
      const recorded: RecordedEvent = { ...event, position, stream: append.stream, version };
      const hash = createHash('sha256').update(this.lastHash).update(encodeRecordedEvent(recorded)).digest();
      this.statements.insertEvent.run(position, stream.id, version, event.id, event.type, event.schemaVersion, payload, metadata, hash);
      this.head = position;
      this.lastHash = hash;
      stream.version = version;
    }
    this.statements.updateStream.run(stream.version, stream.id);
    return { firstPosition: first, lastPosition: this.head, streamVersion: stream.version };
  }

  private streamFor(name: string, touched: Map<string, { id: number; version: number } | undefined>): { id: number; version: number } {
    let stream = this.streamIds.get(name);
    if (!touched.has(name)) touched.set(name, stream ? { ...stream } : undefined);
    if (stream === undefined) {
      const row = this.statements.findStream.get(name);
      if (row) stream = { id: row.stream_id, version: row.version };
      else stream = { id: Number(this.statements.insertStream.run(name).lastInsertRowid), version: 0 };
      this.streamIds.set(name, stream);
    }
    return stream;
  }

  private duplicateResult(append: StreamAppend): AppendResult | undefined {
    const first = append.events[0];
    if (first === undefined || this.statements.findById.get(first.id) === undefined) return undefined;
    const originals = append.events.map((event) => this.statements.findById.get(event.id));
    append.events.forEach((event, index) => {
      const original = originals[index];
      if (original === undefined || eventContentKey(original.stream, rowToEvent(original)) !== eventContentKey(append.stream, event)) {
        throw new AuraError('conflict', `event id ${event.id} was already appended with different content`);
      }
    });
    const positions = originals.map((row) => row?.position ?? 0);
    const stream = this.statements.findStream.get(append.stream);
    return { firstPosition: Math.min(...positions), lastPosition: Math.max(...positions), streamVersion: stream?.version ?? 0 };
  }

  readAll(fromPosition: number, maxCount: number): RecordedEvent[] {
    return this.statements.readAll.all(fromPosition, maxCount).map(rowToEvent);
  }

  readStream(stream: StreamName, fromVersion: number, maxCount: number): RecordedEvent[] {
    return this.statements.readStream.all(stream, fromVersion, maxCount).map(rowToEvent);
  }

  headPosition(): number {
    return this.head;
  }

  /** Hash of the last event, hex; 64 zeros for an empty log. */
  headHash(): string {
    return this.lastHash.toString('hex');
  }

  count(): number {
    return this.statements.count.get()?.n ?? 0;
  }

  findById(id: EventId): RecordedEvent | undefined {
    const row = this.statements.findById.get(id);
    return row ? rowToEvent(row) : undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Closes a finished log as one self-contained file: the WAL is checkpointed and the database
   * switched back to a rollback journal, so readers opening it later create no -wal/-shm files.
   * Reopening it for writing switches it to WAL again.
   */
  closeFinished(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.pragma('journal_mode = DELETE');
    } finally {
      this.db.close();
    }
  }
}

/** Every event of a database, in position order (for replays and checks). */
export function readAllEvents(db: Database.Database): RecordedEvent[] {
  return db
    .prepare<[], EventRow>(`${selectEventsSql} ORDER BY e.position`)
    .all()
    .map(rowToEvent);
}
