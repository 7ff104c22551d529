/**
 * The SQLite event store: one file, WAL, one writer connection. Positions are SQLite rowids
 * assigned inside the writer's transaction, so they are gap-free and ordered by construction.
 * Every event carries a SHA-256 chained over the previous event's hash and its own framing
 * (core/events/encoding.ts).
 *
 * Appends take one of two paths:
 * - appendBatch: several streams in one transaction, all or nothing (the simulation's path);
 * - append: one stream, queued; appends that arrive in the same turn of the event loop share
 *   one transaction (group commit), and each succeeds or fails on its own (a savepoint each).
 */
import { hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { checkExpectedVersion } from '../core/events/append-rules.ts';
import { eventContentKey, genesisHashHex, hashFraming } from '../core/events/encoding.ts';
import { lostEventType, streamCategory, type NewEvent, type RecordedEvent } from '../core/events/event.ts';
import type { UpcasterRegistry } from '../core/events/upcasting.ts';
import { checkEventSize, checkNewEvent, checkStreamName, normalizeEventId } from '../core/events/validation.ts';
import { AuraError } from '../core/kernel/errors.ts';
import type { EventId, StreamName } from '../core/kernel/ids.ts';
import { limits } from '../core/kernel/limits.ts';
import type { AppendResult, EventStore, ExpectedVersion, ReadDirection, ReadFilter, StreamAppend } from '../core/ports/event-store.ts';
import { EventReader } from './event-reader.ts';
import { checkSchema, createSchema, openDatabase, type OpenOptions, type RawEventRow, type RawEventRowWithHash } from './sqlite-schema.ts';
import { tombstoneId } from './hashing.ts';
import { PackedRows } from './native-append.ts';
import { type InsertRows, nativeInsertRows } from './native-chain.ts';
import { StreamIndex } from './stream-index.ts';
import { backupInWorker } from './backup-worker.ts';
import { WalCheckpointer } from './wal-checkpointer.ts';
import { HeadRecorder, readHeadRecord } from './head-record.ts';

export type { Durability } from './sqlite-schema.ts';

/** Pending rows of a batched append are inserted once they pack this many bytes (and at its end). */
const pendingBytesMax = 8 << 20;

export interface SqliteEventStoreOptions extends OpenOptions {
  readonly upcasters?: UpcasterRegistry;
  /** Events whose chain is checked at open (default limits.tailCheckEvents). */
  readonly tailCheckEvents?: number;
  /** Pending stream-index entries that trigger a flush to stream_chunks. */
  readonly streamIndexFlushEvents?: number;
  /** Rewrite this head record (head-record.ts) after every commit. */
  readonly headRecordPath?: string;
  /**
   * Batched appends link and insert their rows in SQLite (native-chain.ts) when the library is
   * built (default true); false: in JavaScript. The log's bytes are the same either way.
   */
  readonly nativeAppends?: boolean;
  /**
   * Reads take pages of events packed by SQLite (native-read.ts) when the library is built
   * (default true); false: rows through better-sqlite3. The events read are the same either way.
   */
  readonly nativeReads?: boolean;
}

/** A stored event exactly as written, for repairs: imported only after its chain link is checked. */
export interface ImportedEvent {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly idHex: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly payloadText: string;
  readonly virtualTimeUs: number;
  readonly causationHex: string | undefined;
  readonly correlationId: string | undefined;
  readonly hashHex: string;
}

/** An event checked and serialised, ready for the writer: what crosses to the writer thread. */
export interface EncodedEvent {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly payloadText: string;
  readonly virtualTimeUs: number;
  readonly causationId: string | null;
  readonly correlationId: string | null;
}

export interface EncodedAppend {
  readonly stream: string;
  readonly expected: ExpectedVersion;
  readonly events: readonly EncodedEvent[];
}

/**
 * Everything an append needs that does not touch the log: validation and JSON serialisation.
 * Pure CPU work, so it can run on the caller's thread while the writer thread inserts.
 */
export function encodeAppend(append: StreamAppend): EncodedAppend {
  checkStreamName(append.stream);
  const count = append.events.length;
  const events = new Array<EncodedEvent>(count);
  for (let index = 0; index < count; index++) {
    const event = append.events[index] as NewEvent;
    const id = checkNewEvent(event);
    const payloadText = JSON.stringify(event.payload);
    checkEventSize(id, payloadText);
    const metadata = event.metadata;
    events[index] = {
      id,
      type: event.type,
      schemaVersion: event.schemaVersion,
      payloadText,
      virtualTimeUs: metadata.virtualTimeUs,
      causationId: metadata.causationId === undefined ? null : normalizeEventId(metadata.causationId),
      correlationId: metadata.correlationId ?? null,
    };
  }
  if (count > 1 && new Set(events.map((event) => event.id)).size !== count) throw new AuraError('conflict', `an event id appears twice in one append to ${append.stream}`);
  return { stream: append.stream, expected: append.expected, events };
}

/** SHA-256 of the previous hash (hex) and an event's framing, as hex. */
export function chainHash(previousHex: string, framing: string): string {
  return hash('sha256', `${previousHex}\n${framing}`, 'hex');
}

interface StreamState {
  readonly id: number;
  version: number;
}

interface Queued {
  readonly append: EncodedAppend;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

/** What an append changed in the writer's caches, to undo when its transaction rolls back. */
class UndoLog {
  readonly streams = new Map<string, StreamState | undefined>();
  readonly types: string[] = [];
  constructor(
    readonly head: number,
    readonly hash: string,
    readonly indexMark: number,
  ) {}
}

export class SqliteEventStore implements EventStore {
  readonly db: Database.Database;
  private readonly reader: EventReader;
  private readonly streamIndex: StreamIndex;
  private readonly checkpointer: WalCheckpointer | undefined;
  private readonly headRecorder: HeadRecorder | undefined;
  private readonly statements;
  private head = 0;
  private lastHash = genesisHashHex;
  private readonly streams = new Map<string, StreamState>();
  private readonly types = new Map<string, number>();
  private readonly listeners = new Set<(head: number) => void>();
  private queue: Queued[] = [];
  private flushScheduled = false;
  /** Links and inserts packed rows in SQLite; undefined: rows are hashed and inserted in JavaScript. */
  private readonly insertRows: InsertRows | undefined;
  /**
   * While a batched append runs with the native link: its rows not yet inserted. `lastHash`
   * is then the hash before them; `head`, stream versions and the stream index already count them.
   */
  private pending: PackedRows | undefined;
  private packed: PackedRows | undefined;
  /**
   * Runs `work` in a transaction, or in a savepoint when one is open. Made once: better-sqlite3
   * builds four wrappers per `db.transaction()` call, which cost more than the savepoint itself
   * when every group-committed append opened one.
   */
  private readonly transact: <T>(work: () => T) => T;
  /** Set while appendOne writes an append's rows (see there). */
  private writing = false;

  constructor(
    readonly path: string,
    options: SqliteEventStoreOptions = {},
  ) {
    // A log its head record says events of is not made anew where it is missing (the refusal below would leave an empty one).
    if (options.headRecordPath !== undefined && !options.readonly && !existsSync(path)) {
      const recorded = readHeadRecord(options.headRecordPath);
      if (recorded !== undefined && recorded.headPosition >= 1) throw new AuraError('damaged', `${path}: its head record says the log reached ${recorded.headPosition}, and there is no log: acknowledged events are missing (aura-lab repair names them)`);
    }
    this.db = openDatabase(path, options);
    this.transact = this.db.transaction((work: () => unknown) => work()) as <T>(work: () => T) => T;
    try {
      if (!options.readonly) createSchema(this.db);
      checkSchema(this.db, path);
      this.streamIndex = new StreamIndex(this.db, options.streamIndexFlushEvents);
      this.reader = new EventReader(this.db, options.upcasters, this.streamIndex, { nativeReads: options.nativeReads ?? true });
      this.statements = {
        insertEvent: this.db.prepare('INSERT INTO events VALUES (?, ?, ?, unhex(?), ?, ?, ?, ?, unhex(?), ?, unhex(?))'),
        insertStream: this.db.prepare<[string, string]>('INSERT INTO streams (name, category, version) VALUES (?, ?, 0)'),
        insertType: this.db.prepare<[string]>('INSERT INTO event_types (name) VALUES (?)'),
        findStream: this.db.prepare<[string], { stream_id: number; version: number }>('SELECT stream_id, version FROM streams WHERE name = ?'),
        findType: this.db.prepare<[string], { type_id: number }>('SELECT type_id FROM event_types WHERE name = ?'),
        positionOfId: this.db.prepare<[string], { position: number }>('SELECT position FROM events WHERE id = unhex(?)'),
        head: this.db.prepare<[], { position: number; hash: string }>('SELECT position, lower(hex(hash)) AS hash FROM events ORDER BY position DESC LIMIT 1'),
        count: this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events'),
      };
      const head = this.statements.head.get();
      this.head = head?.position ?? 0;
      this.lastHash = head?.hash ?? genesisHashHex;
      // Read before the head, so a writer's later flush cannot put it past the head read here.
      const indexed = this.streamIndex.indexedPosition;
      if (!(Number.isSafeInteger(indexed) && indexed >= 0)) throw new AuraError('damaged', `${path}: the stream index's position (meta.stream_index_position) is not a position`);
      if (indexed > this.head) throw new AuraError('damaged', `${path}: the stream index says it holds every event to position ${indexed}, but the log ends at ${this.head}`);
      this.checkTail(options.tailCheckEvents ?? limits.tailCheckEvents);
      // Before anything starts that the refusal would have to stop (the checkpointer's thread).
      if (options.headRecordPath !== undefined && !options.readonly) this.checkHeadRecord(options.headRecordPath);
      this.insertRows = options.readonly || options.nativeAppends === false ? undefined : nativeInsertRows(this.db);
      this.checkpointer = options.backgroundCheckpoints && !options.readonly ? new WalCheckpointer(path) : undefined;
      this.headRecorder = options.headRecordPath !== undefined && !options.readonly ? new HeadRecorder(options.headRecordPath) : undefined;
      this.headRecorder?.write({ headPosition: this.head, headHash: this.lastHash });
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /**
   * The head record a writer is about to rewrite must not say more than the log holds: a log that
   * lost acknowledged events (its WAL deleted, an older copy put back) is refused, the record
   * kept as it is, so that a repair can still name every lost position.
   */
  private checkHeadRecord(path: string): void {
    const recorded = readHeadRecord(path);
    if (recorded === undefined || recorded.headPosition < 1) return;
    if (recorded.headPosition > this.head) {
      throw new AuraError('damaged', `${this.path}: its head record says the log reached ${recorded.headPosition}, the file ends at ${this.head}: acknowledged events are missing (aura-lab repair names them)`);
    }
    const stored = (this.db.prepare('SELECT lower(hex(hash)) FROM events WHERE position = ?').pluck().get(recorded.headPosition) as string | undefined) ?? undefined;
    if (stored !== recorded.headHash) {
      throw new AuraError('damaged', `${this.path}: its head record names another event at ${recorded.headPosition} than the log holds`);
    }
  }

  // ---- appends ------------------------------------------------------------------------------

  /** True when reads take pages packed by SQLite (the native library is loaded). */
  get nativeReads(): boolean {
    return this.reader.nativeReads;
  }

  /** True when batched appends link and insert their rows in SQLite (the native library is loaded). */
  get nativeAppends(): boolean {
    return this.insertRows !== undefined;
  }

  /**
   * Each append is validated and serialised just before its rows are inserted, inside the
   * transaction: nothing encoded outlives its insert, so a batch leaves little for the garbage
   * collector to copy. Bad input throws and rolls the whole batch back.
   */
  appendBatch(appends: readonly StreamAppend[]): AppendResult[] {
    return this.appendBatchWith(appends, encodeAppend);
  }

  /** appendBatch for appends already encoded (by encodeAppend, possibly on another thread). */
  appendEncodedBatch(appends: readonly EncodedAppend[]): AppendResult[] {
    return this.appendBatchWith(appends, (append) => append);
  }

  private appendBatchWith<T>(appends: readonly T[], encode: (append: T) => EncodedAppend): AppendResult[] {
    // Appends queued for a group commit came first: commit them first.
    if (this.queue.length > 0) this.flush();
    const headBefore = this.head;
    const hashBefore = this.lastHash;
    let afterCommit: (() => void) | undefined;
    const run = (checkDuplicates: boolean): AppendResult[] =>
      this.transact(() => {
        const out = new Array<AppendResult>(appends.length);
        if (this.insertRows !== undefined) this.pending = this.packed ??= new PackedRows();
        try {
          for (let index = 0; index < appends.length; index++) out[index] = this.appendOne(encode(appends[index] as T), checkDuplicates, undefined);
          this.insertPending();
        } catch (error) {
          // The rows before a refused append are written first, so that a write of theirs that
          // fails (a reused id) is the answer, as it is when each row is inserted at once. (After
          // a failed insertPending nothing is pending: this one does nothing.)
          this.insertPending();
          throw error;
        } finally {
          this.pending = undefined;
          // A batch that reached the flush size leaves a buffer of up to twice it: not kept.
          if (this.packed !== undefined && this.packed.capacity > pendingBytesMax) this.packed = undefined;
        }
        afterCommit = this.endTransaction();
        return out;
      });
    let results: AppendResult[];
    try {
      // Fast path: no duplicate lookups; the unique index on ids catches a re-appended id.
      results = run(false);
    } catch (error) {
      this.resetCaches(headBefore, hashBefore);
      if (!isIdConflict(error)) throw error;
      try {
        results = run(true);
      } catch (retryError) {
        this.resetCaches(headBefore, hashBefore);
        if (isIdConflict(retryError)) throw new AuraError('conflict', 'an event id appears twice in one batch with different content');
        throw retryError;
      }
    }
    afterCommit?.();
    this.notify(headBefore);
    return results;
  }

  append(stream: StreamName, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    let encoded: EncodedAppend;
    try {
      encoded = encodeAppend({ stream, events, expected });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.appendEncoded(encoded);
  }

  /** Queues an encoded append for the next group commit. */
  appendEncoded(encoded: EncodedAppend): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ append: encoded, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every queued append: one transaction, one savepoint per append. */
  private flush(): void {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const group: Queued[] = [];
      let events = 0;
      while (this.queue.length > 0 && events < limits.groupCommitEventsMax) {
        const next = this.queue.shift() as Queued;
        group.push(next);
        events += next.append.events.length;
      }
      let outcomes: ({ ok: true; result: AppendResult } | { ok: false; error: Error })[] = [];
      const headBefore = this.head;
      const hashBefore = this.lastHash;
      let afterCommit: (() => void) | undefined;
      /**
       * Fast (careful false): no savepoints and no duplicate lookups. An append refused by its
       * checks has written nothing (appendOne checks before it writes), so it fails alone; a write
       * that fails (a reused id hitting the unique index, a full disk) abandons the attempt, and
       * the careful one follows.
       * Careful: a savepoint per append and duplicate lookups, so a re-sent append gets its
       * original positions and a failing write fails its append alone.
       */
      const attempt = (careful: boolean): void => {
        outcomes = [];
        this.transact(() => {
          for (const item of group) {
            const undo = this.undoLog();
            try {
              const result = careful ? this.transact(() => this.appendOne(item.append, true, undo)) : this.appendOne(item.append, false, undo);
              outcomes.push({ ok: true, result });
            } catch (error) {
              // SQLite rolled the whole transaction back (a full disk, an I/O error): nothing of
              // the group may go on in a transaction of its own.
              if (!this.db.inTransaction) throw error;
              if (!careful && this.writing) throw error;
              this.rollbackCaches(undo);
              outcomes.push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
            }
          }
          afterCommit = this.endTransaction();
        });
      };
      try {
        try {
          attempt(false);
        } catch {
          // A write failed: the group again, carefully, so that only its own append fails.
          this.resetCaches(headBefore, hashBefore);
          attempt(true);
        }
      } catch (error) {
        // The commit itself failed (a full disk, an I/O error): nothing in the group was stored.
        this.resetCaches(headBefore, hashBefore);
        for (const item of group) item.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      afterCommit?.();
      this.notify(headBefore);
      group.forEach((item, index) => {
        const outcome = outcomes[index];
        if (outcome?.ok) item.resolve(outcome.result);
        else item.reject(outcome?.error ?? new Error('append lost its outcome'));
      });
    }
  }

  /**
   * Appends inside the open transaction. `undo` tracks cache changes when the append may be
   * undone alone. Everything that can refuse the append is checked before its first write;
   * `writing` tells a caller whether a failure came after it (the database then holds part of
   * the append, and only a rollback takes it away).
   */
  private appendOne(append: EncodedAppend, checkDuplicates: boolean, undo: UndoLog | undefined): AppendResult {
    this.writing = false;
    const count = append.events.length;
    if (count === 0) {
      checkExpectedVersion(append.stream, append.expected, this.streamVersion(append.stream));
      return { firstPosition: this.head + 1, lastPosition: this.head, streamVersion: this.streamVersion(append.stream) };
    }
    if (checkDuplicates) {
      const duplicate = this.duplicateResult(append);
      if (duplicate) return duplicate;
    }
    try {
      checkExpectedVersion(append.stream, append.expected, this.streamVersion(append.stream));
    } catch (error) {
      // A retried append whose events are already stored succeeds, whatever the version is now.
      const duplicate = checkDuplicates ? undefined : this.duplicateResult(append);
      if (duplicate) return duplicate;
      throw error;
    }
    this.writing = true;
    const stream = this.streamFor(append.stream, undo);
    const first = this.head + 1;
    for (let index = 0; index < count; index++) {
      const event = append.events[index] as EncodedEvent;
      const typeId = this.typeFor(event.type, undo);
      const position = this.head + 1;
      const version = stream.version + 1;
      if (this.pending !== undefined) {
        this.pending.add(position, stream.id, version, typeId, append.stream, event);
        if (this.pending.byteLength >= pendingBytesMax) this.insertPending();
      } else {
        const hashHex = chainHash(this.lastHash, hashFraming(position, append.stream, version, event.id, event.type, event.schemaVersion, event.virtualTimeUs, event.causationId ?? undefined, event.correlationId ?? undefined, event.payloadText));
        this.statements.insertEvent.run(position, stream.id, version, event.id, typeId, event.schemaVersion, event.payloadText, event.virtualTimeUs, event.causationId, event.correlationId, hashHex);
        this.lastHash = hashHex;
      }
      this.streamIndex.add(stream.id, version, position);
      this.head = position;
      stream.version = version;
    }
    this.writing = false;
    return { firstPosition: first, lastPosition: this.head, streamVersion: stream.version };
  }

  /** Links and inserts the pending rows of a batched append (native-chain.ts); `lastHash` then follows them. */
  private insertPending(): void {
    const pending = this.pending;
    if (pending === undefined || pending.count === 0) return;
    let last: Buffer;
    try {
      last = (this.insertRows as InsertRows)(Buffer.from(this.lastHash, 'hex'), pending.view());
    } finally {
      // Taken either way: rows of a failed call are in a transaction that now rolls back.
      pending.clear();
    }
    this.lastHash = last.toString('hex');
  }

  /** Inside the transaction, after its appends: the stream index (and stream versions with it) when due. */
  private endTransaction(): () => void {
    return this.streamIndex.beforeCommit(this.head);
  }

  private duplicateResult(append: EncodedAppend): AppendResult | undefined {
    // Rows of this batch still pending must be found too.
    this.insertPending();
    const positions = append.events.map((event) => this.statements.positionOfId.get(event.id)?.position);
    if (positions.every((position) => position === undefined)) return undefined;
    append.events.forEach((event, index) => {
      const position = positions[index];
      const incoming = eventContentKey(append.stream, {
        type: event.type,
        schemaVersion: event.schemaVersion,
        payload: JSON.parse(event.payloadText) as RecordedEvent['payload'],
        metadata: {
          virtualTimeUs: event.virtualTimeUs,
          ...(event.causationId === null ? {} : { causationId: event.causationId as EventId }),
          ...(event.correlationId === null ? {} : { correlationId: event.correlationId }),
        },
      });
      if (position === undefined || this.storedContentKey(position) !== incoming) {
        throw new AuraError('conflict', `event id ${event.id} was already appended with different content`);
      }
    });
    const known = positions as number[];
    return { firstPosition: Math.min(...known), lastPosition: Math.max(...known), streamVersion: this.streamVersion(append.stream) };
  }

  /** The content key of a stored event as written (not upcast). */
  private storedContentKey(position: number): string {
    const row = this.reader.rawAt(position) as RawEventRow;
    return eventContentKey(this.reader.streamName(row[1]), {
      type: this.reader.typeName(row[4]),
      schemaVersion: row[5],
      payload: JSON.parse(row[6]) as RecordedEvent['payload'],
      metadata: {
        virtualTimeUs: row[7],
        ...(row[8] === '' ? {} : { causationId: row[8] as EventId }),
        ...(row[9] === null ? {} : { correlationId: row[9] }),
      },
    });
  }

  private streamFor(name: string, undo: UndoLog | undefined): StreamState {
    let stream = this.streams.get(name);
    if (stream === undefined) {
      const row = this.statements.findStream.get(name);
      stream = row ? { id: row.stream_id, version: this.storedVersion(row) } : { id: Number(this.statements.insertStream.run(name, streamCategory(name)).lastInsertRowid), version: 0 };
      if (!row) this.reader.remember('stream', stream.id, name);
      this.streams.set(name, stream);
      if (undo !== undefined && !undo.streams.has(name)) undo.streams.set(name, row ? { ...stream } : undefined);
    } else if (undo !== undefined && !undo.streams.has(name)) {
      undo.streams.set(name, { id: stream.id, version: stream.version });
    }
    return stream;
  }

  /** A stored stream's version: streams.version, or later in the stream index's pending runs (stream-index.ts). */
  private storedVersion(row: { stream_id: number; version: number }): number {
    return this.streamIndex.lastVersion(row.stream_id) ?? row.version;
  }

  private typeFor(name: string, undo: UndoLog | undefined): number {
    let id = this.types.get(name);
    if (id === undefined) {
      id = this.statements.findType.get(name)?.type_id;
      if (id === undefined) {
        id = Number(this.statements.insertType.run(name).lastInsertRowid);
        this.reader.remember('type', id, name);
        undo?.types.push(name);
      }
      this.types.set(name, id);
    }
    return id;
  }

  private undoLog(): UndoLog {
    return new UndoLog(this.head, this.lastHash, this.streamIndex.transaction.length);
  }

  /** A whole transaction rolled back: forget every cached stream and type; they reload from the database. */
  private resetCaches(head: number, hash: string): void {
    this.head = head;
    this.lastHash = hash;
    this.streams.clear();
    this.types.clear();
    this.reader.forgetAll();
    this.streamIndex.afterRollback();
  }

  /** One savepoint rolled back: undo exactly what its append changed. */
  private rollbackCaches(undo: UndoLog): void {
    this.head = undo.head;
    this.lastHash = undo.hash;
    this.streamIndex.truncate(undo.indexMark);
    for (const [name, before] of undo.streams) {
      const current = this.streams.get(name);
      if (before === undefined) {
        this.streams.delete(name);
        if (current) this.reader.forget('stream', current.id);
      } else if (current) current.version = before.version;
    }
    for (const name of undo.types) {
      const id = this.types.get(name);
      this.types.delete(name);
      if (id !== undefined) this.reader.forget('type', id);
    }
  }

  private notify(previousHead: number): void {
    if (this.head === previousHead) return;
    this.headRecorder?.write({ headPosition: this.head, headHash: this.lastHash });
    for (const listener of this.listeners) listener(this.head);
  }

  /**
   * Repairs only: appends stored events exactly as they were written (positions, versions and
   * hashes kept). Each must continue the log: the next position, the next version of its stream.
   */
  importEvents(events: readonly ImportedEvent[], options: { allowVersionGaps?: boolean } = {}): void {
    const headBefore = this.head;
    const hashBefore = this.lastHash;
    let afterCommit: (() => void) | undefined;
    try {
      this.transact(() => {
        for (const event of events) {
          if (event.position !== this.head + 1) throw new AuraError('conflict', `import: position ${event.position} does not follow ${this.head}`);
          const stream = this.streamFor(event.stream, undefined);
          const gapAllowed = options.allowVersionGaps === true && event.version > stream.version;
          if (event.version !== stream.version + 1 && !gapAllowed) throw new AuraError('conflict', `import: ${event.stream} version ${event.version} does not follow ${stream.version}`);
          const typeId = this.typeFor(event.type, undefined);
          this.statements.insertEvent.run(event.position, stream.id, event.version, event.idHex, typeId, event.schemaVersion, event.payloadText, event.virtualTimeUs, event.causationHex ?? null, event.correlationId ?? null, event.hashHex);
          this.streamIndex.add(stream.id, event.version, event.position);
          this.head = event.position;
          this.lastHash = event.hashHex;
          stream.version = event.version;
        }
        afterCommit = this.endTransaction();
      });
    } catch (error) {
      this.resetCaches(headBefore, hashBefore);
      throw error;
    }
    afterCommit?.();
    this.notify(headBefore);
  }

  // ---- reads --------------------------------------------------------------------------------

  readAll(fromPosition: number, maxCount: number, filter?: ReadFilter): RecordedEvent[] {
    return this.reader.readAll(fromPosition, Math.min(maxCount, limits.readEventsMax), filter);
  }

  readRange(fromPosition: number, toPosition: number): Iterable<RecordedEvent> {
    return this.reader.readRange(fromPosition, toPosition);
  }

  readStream(stream: StreamName, fromVersion: number, maxCount: number, direction: ReadDirection = 'forward'): RecordedEvent[] {
    return this.reader.readStream(stream, fromVersion, Math.min(maxCount, limits.readEventsMax), direction);
  }

  streamVersion(stream: StreamName | string): number {
    const cached = this.streams.get(stream);
    if (cached) return cached.version;
    const row = this.statements.findStream.get(stream);
    return row === undefined ? 0 : this.storedVersion(row);
  }

  headPosition(): number {
    return this.head;
  }

  /** Hash of the last event, hex; 64 zeros for an empty log. */
  headHash(): string {
    return this.lastHash;
  }

  count(): number {
    return this.statements.count.get()?.n ?? 0;
  }

  findById(id: EventId): RecordedEvent | undefined {
    return this.reader.findById(normalizeEventId(id));
  }

  onAppended(listener: (headPosition: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- integrity and lifecycle --------------------------------------------------------------

  /**
   * Checks the hash chain of the last `events` events; throws AuraError('damaged') naming the
   * first bad position. A repair's tombstone ($EventLost) keeps the lost event's stored hash,
   * so the event after it links to it; its own link is not checked (as in verification).
   */
  private checkTail(events: number): void {
    if (this.head === 0 || events <= 0) return;
    const from = Math.max(1, this.head - events);
    let previous = from === 1 ? genesisHashHex : undefined;
    let expected = from;
    for (const row of this.reader.rawRange(from, this.head)) {
      if (row[0] !== expected) throw new AuraError('damaged', `${this.path}: position ${expected} is missing from the log`);
      const stored = row[10];
      // A repair's tombstone keeps the lost event's hash, so its own link is not checked; its id says a repair wrote it.
      const tombstone = this.reader.typeName(row[4]) === lostEventType;
      if (tombstone ? row[3] !== tombstoneId(row[0], stored) : previous !== undefined && chainHash(previous, framingOfRow(this.reader, row)) !== stored) {
        throw new AuraError('damaged', `${this.path}: the hash chain breaks at position ${row[0]}`);
      }
      previous = stored;
      expected += 1;
    }
    if (expected !== this.head + 1) throw new AuraError('damaged', `${this.path}: the log ends at ${expected - 1}, expected ${this.head}`);
  }

  /** An online backup (SQLite's backup API) to `destination`; the log stays writable meanwhile. */
  /**
   * An online backup with SQLite's backup API, from a worker thread's own connection reading
   * one snapshot (see backup-worker.ts): the writer is never held. In-memory or read-only
   * stores copy on this connection.
   */
  async backup(destination: string, onProgress?: (fraction: number) => void): Promise<void> {
    if (this.path !== ':memory:' && !this.db.readonly) {
      await backupInWorker(this.path, destination, onProgress);
      return;
    }
    await this.db.backup(destination, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages === 0 ? 1 : 1 - remainingPages / totalPages);
        return 32;
      },
    });
  }

  /** Writes the pending stream index now (a clean close needs no tail re-read at the next open). */
  private flushStreamIndex(): void {
    if (!this.db.open || this.db.readonly) return;
    let afterCommit: (() => void) | undefined;
    this.db.transaction(() => {
      afterCommit = this.streamIndex.beforeCommit(this.head, true);
    })();
    afterCommit?.();
  }

  close(): void {
    if (!this.db.open) return;
    this.checkpointer?.stop();
    this.headRecorder?.close();
    this.flushStreamIndex();
    this.db.close();
  }

  /**
   * Closes a finished log as one self-contained file: the WAL is checkpointed and the database
   * switched back to a rollback journal, so readers opening it later create no -wal/-shm files.
   * Reopening it for writing switches it to WAL again.
   */
  closeFinished(): void {
    if (!this.db.open) return;
    this.checkpointer?.stop();
    try {
      this.tryLeaveWal();
    } finally {
      this.headRecorder?.close();
      this.db.close();
    }
  }

  /**
   * closeFinished, once readers on other connections (projection workers keep theirs for a
   * moment after their last task) have let go: leaving WAL mode needs the writer alone.
   * Waits at most `timeoutMs`; after that the file is closed in WAL mode, which is still valid.
   */
  async closeFinishedWhenAlone(timeoutMs = 2_000): Promise<void> {
    if (!this.db.open) return;
    this.checkpointer?.stop();
    const deadline = performance.now() + timeoutMs;
    while (!this.tryLeaveWal() && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    this.headRecorder?.close();
    this.db.close();
  }

  /** Flushes the stream index and switches to a rollback journal; false while another connection holds the file. */
  private tryLeaveWal(): boolean {
    try {
      this.flushStreamIndex();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      return this.db.pragma('journal_mode = DELETE', { simple: true }) === 'delete';
    } catch (error) {
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_BUSY')) return false;
      if (error instanceof Error && 'code' in error && String(error.code).startsWith('SQLITE_LOCKED')) return false;
      throw error;
    }
  }
}

/** The framing of a stored row, for recomputing its chain hash. */
export function framingOfRow(reader: Pick<EventReader, 'streamName' | 'typeName'>, row: RawEventRow | RawEventRowWithHash): string {
  return hashFraming(row[0], reader.streamName(row[1]), row[2], row[3], reader.typeName(row[4]), row[5], row[7], row[8] === '' ? undefined : row[8], row[9] ?? undefined, row[6]);
}

function isIdConflict(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && error.message.includes('events.id');
}
