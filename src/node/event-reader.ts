/**
 * Reads events from any connection to an event log: the writer's, a worker's read-only one, or
 * the verifier's. Stream and type names are cached by id and loaded on a miss, so a reader in
 * another connection stays correct as the log grows.
 */
import type Database from 'better-sqlite3';
import type { RecordedEvent } from '../core/events/event.ts';
import type { UpcasterRegistry } from '../core/events/upcasting.ts';
import { AuraError } from '../core/kernel/errors.ts';
import type { EventId, StreamName } from '../core/kernel/ids.ts';
import type { ReadDirection, ReadFilter } from '../core/ports/event-store.ts';
import { eventColumns, eventColumnsUpperHex, eventColumnsWithHash, type RawEventRow, type RawEventRowWithHash } from './sqlite-schema.ts';
import { loadNativeLibrary } from './native-chain.ts';
import { decodeEventRows, prepareEventRows, prepareEventRowsWhere } from './native-read.ts';
import { FoldEvent, StoredEvent } from './stored-event.ts';
import type { StreamIndex } from './stream-index.ts';

/** The packing statements of the unfiltered reads: the first n events from a position (LIMIT), and a range of positions. */
interface PackedStatements {
  readonly all: Database.Statement;
  readonly range: Database.Statement;
}

export class EventReader {
  private readonly streamNames = new Map<number, string>();
  private readonly typeNames = new Map<number, string>();
  private readonly statements;
  private readonly filtered = new Map<string, Database.Statement>();
  /** The packing statements: undefined until the first read that wants them; null when there is no native library (rows instead). */
  private packedStatements: PackedStatements | null | undefined;
  private readonly makeEvent = this.eventOf.bind(this);

  /** `options.nativeReads: false` reads rows through better-sqlite3 even where the library is built. */
  constructor(
    readonly db: Database.Database,
    private readonly upcasters?: UpcasterRegistry,
    private readonly streamIndex?: StreamIndex,
    options: { readonly nativeReads?: boolean } = {},
  ) {
    // The library is loaded here (SQLite refuses to load one while the connection is running a
    // query, as it may be at a first read); the statements are prepared at the first read.
    this.packedStatements = options.nativeReads !== false && loadNativeLibrary(db) ? undefined : null;
    this.statements = {
      all: db.prepare(`SELECT ${eventColumnsUpperHex} FROM events WHERE position >= ? ORDER BY position LIMIT ?`).raw(true),
      range: db.prepare(`SELECT ${eventColumnsUpperHex} FROM events WHERE position >= ? AND position <= ? ORDER BY position`).raw(true),
      foldRange: db.prepare('SELECT position, stream_id, version, type_id, schema_version, payload, virtual_time_us, causation_id IS NOT NULL OR correlation_id IS NOT NULL FROM events WHERE position >= ? AND position <= ? ORDER BY position').raw(true),
      rangeWithHash: db.prepare(`SELECT ${eventColumnsWithHash} FROM events WHERE position >= ? AND position <= ? ORDER BY position`).raw(true),
      at: db.prepare(`SELECT ${eventColumns} FROM events WHERE position = ?`).raw(true),
      nextPosition: db.prepare('SELECT position FROM events WHERE position >= ? ORDER BY position LIMIT 1'),
      streamScanForward: db.prepare(`SELECT ${eventColumnsUpperHex} FROM events WHERE stream_id = ? AND version >= ? ORDER BY position LIMIT ?`).raw(true),
      streamScanBackward: db.prepare(`SELECT ${eventColumnsUpperHex} FROM events WHERE stream_id = ? AND version <= ? ORDER BY position DESC LIMIT ?`).raw(true),
      byId: db.prepare(`SELECT ${eventColumnsUpperHex} FROM events WHERE id = unhex(?)`).raw(true),
      streamName: db.prepare<[number], { name: string }>('SELECT name FROM streams WHERE stream_id = ?'),
      typeName: db.prepare<[number], { name: string }>('SELECT name FROM event_types WHERE type_id = ?'),
      streamId: db.prepare<[string], { stream_id: number }>('SELECT stream_id FROM streams WHERE name = ?'),
      typeId: db.prepare<[string], { type_id: number }>('SELECT type_id FROM event_types WHERE name = ?'),
    };
  }

  /** Tells the reader a name the writer just created, saving a lookup. */
  remember(kind: 'stream' | 'type', id: number, name: string): void {
    (kind === 'stream' ? this.streamNames : this.typeNames).set(id, name);
  }

  forgetAll(): void {
    this.streamNames.clear();
    this.typeNames.clear();
  }

  forget(kind: 'stream' | 'type', id: number): void {
    (kind === 'stream' ? this.streamNames : this.typeNames).delete(id);
  }

  streamName(id: number): string {
    let name = this.streamNames.get(id);
    if (name === undefined) {
      name = this.statements.streamName.get(id)?.name;
      if (name === undefined) throw new AuraError('damaged', `event log refers to stream ${id}, which does not exist`);
      this.streamNames.set(id, name);
    }
    return name;
  }

  typeName(id: number): string {
    let name = this.typeNames.get(id);
    if (name === undefined) {
      name = this.statements.typeName.get(id)?.name;
      if (name === undefined) throw new AuraError('damaged', `event log refers to event type ${id}, which does not exist`);
      this.typeNames.set(id, name);
    }
    return name;
  }

  /** An event from a row of eventColumns or eventColumnsUpperHex (ids are lower-cased here). */
  toEvent(row: RawEventRow): RecordedEvent {
    return this.eventOf(row[0], row[1], row[2], row[3].toLowerCase(), row[4], row[5], row[6], row[7], row[8] === '' ? undefined : row[8].toLowerCase(), row[9] ?? undefined);
  }

  /** An event from its stored values (ids as lowercase hex), upcast when upcasters are registered. */
  private eventOf(position: number, streamId: number, version: number, idHex: string, typeId: number, schemaVersion: number, payload: string, virtualTimeUs: number, causationHex: string | undefined, correlationId: string | undefined): RecordedEvent {
    const metadata =
      causationHex === undefined && correlationId === undefined
        ? { virtualTimeUs }
        : {
            virtualTimeUs,
            ...(causationHex === undefined ? {} : { causationId: causationHex as EventId }),
            ...(correlationId === undefined ? {} : { correlationId }),
          };
    const event = new StoredEvent(position, this.streamName(streamId) as StreamName, version, idHex as EventId, this.typeName(typeId), schemaVersion, payload, metadata);
    return this.upcasters === undefined ? event : this.upcasters.apply(event);
  }

  /**
   * The first `maxCount` events from `fromPosition`, packed, or undefined (read them with SQL).
   * Read as the range of positions [fromPosition, fromPosition + maxCount - 1], straight from the
   * table (faster than LIMIT, which needs a subquery): that is the answer when the range holds
   * `maxCount` events, or fewer with none after it; otherwise the log has a hole there (only a
   * damaged log has), and LIMIT answers.
   */
  private packedPage(packed: PackedStatements, fromPosition: number, maxCount: number): RecordedEvent[] | undefined {
    // Integers whose range ends below 2^53 - 1 (a damaged log may hold rowids past it, which only LIMIT reaches).
    if (!Number.isSafeInteger(fromPosition) || !Number.isSafeInteger(maxCount) || fromPosition + maxCount - 1 >= Number.MAX_SAFE_INTEGER) return this.packedEvents(packed.all, fromPosition, maxCount);
    const to = fromPosition + maxCount - 1;
    const events = this.packedEvents(packed.range, fromPosition, to);
    if (events === undefined || events.length === maxCount || this.nextPositionFrom(to + 1) === undefined) return events;
    return this.packedEvents(packed.all, fromPosition, maxCount);
  }

  /**
   * Events from a packed page (native-read.ts), or undefined when SQLite did not pack it: a row
   * the store would not write, or a page over SQLite's size limit for one value (a page of large
   * events: rows are read one by one instead).
   */
  private packedEvents(statement: Database.Statement | undefined, ...params: (string | number)[]): RecordedEvent[] | undefined {
    if (statement === undefined) return undefined;
    let blob: Buffer;
    try {
      blob = statement.get(...params) as Buffer;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_TOOBIG') return undefined;
      throw error;
    }
    return decodeEventRows(blob, this.makeEvent);
  }

  readAll(fromPosition: number, maxCount: number, filter?: ReadFilter): RecordedEvent[] {
    const packed = maxCount > 0 ? this.packed() : null;
    if (packed !== null) {
      const clause = this.filterClause(filter);
      if (clause.none) return [];
      if (clause.sql === '') {
        const events = this.packedPage(packed, fromPosition, maxCount);
        if (events !== undefined) return events;
      } else {
        const events = this.packedEvents(this.cachedPackedStatement(`SELECT * FROM events WHERE position >= ?${clause.sql} ORDER BY position LIMIT ?`), fromPosition, ...clause.params, maxCount);
        if (events !== undefined) return events;
      }
    }
    const rows = this.filteredRows(fromPosition, maxCount, filter);
    const out = new Array<RecordedEvent>(rows.length);
    for (let index = 0; index < rows.length; index++) out[index] = this.toEvent(rows[index] as RawEventRow);
    return out;
  }

  /** Events with fromPosition <= position <= toPosition, lazily (packed pages of 4,096 where it can). */
  *readRange(fromPosition: number, toPosition: number): Generator<RecordedEvent> {
    const packed = this.packed();
    if (packed !== null) {
      const pageEvents = 4_096;
      let from = fromPosition;
      while (from <= toPosition) {
        const to = Math.min(toPosition, from + pageEvents - 1);
        const events = this.packedEvents(packed.range, from, to) ?? (this.statements.range.all(from, to) as RawEventRow[]).map((row) => this.toEvent(row));
        yield* events;
        if (events.length === 0) {
          // A hole, or the end of the log.
          const next = this.nextPositionFrom(from);
          if (next === undefined) return;
          from = next; // past `to`: nothing was there
        } else from = to + 1;
      }
      return;
    }
    for (const row of this.statements.range.iterate(fromPosition, toPosition) as Iterable<RawEventRow>) yield this.toEvent(row);
  }

  /**
   * Events for folding, lazily: the same events as readRange, read without converting ids to
   * hex (about 30% less work per row); an event's id and causation are fetched on first access,
   * which folds do not make.
   */
  *readRangeForFold(fromPosition: number, toPosition: number): Generator<RecordedEvent> {
    for (const row of this.statements.foldRange.iterate(fromPosition, toPosition) as Iterable<[number, number, number, number, number, string, number, number]>) yield this.foldEvent(row);
  }

  /**
   * The events of readRangeForFold, read at once (faster than a cursor, for a bounded range):
   * packed where the native library is (ids included; a projection worker's 500,000 events
   * folded into four projections in 0.44-0.49 s against 0.64-0.67 s as rows, warm rounds of two
   * interleaved runs each, 2026-11-28), otherwise as rows without ids.
   */
  readRangeForFoldAll(fromPosition: number, toPosition: number): RecordedEvent[] {
    const packed = this.packed();
    if (packed !== null) {
      const events = this.packedEvents(packed.range, fromPosition, toPosition);
      if (events !== undefined) return events;
    }
    const rows = this.statements.foldRange.all(fromPosition, toPosition) as [number, number, number, number, number, string, number, number][];
    const events = new Array<RecordedEvent>(rows.length);
    for (let index = 0; index < rows.length; index++) events[index] = this.foldEvent(rows[index] as [number, number, number, number, number, string, number, number]);
    return events;
  }

  private foldEvent(row: readonly [number, number, number, number, number, string, number, number]): RecordedEvent {
    // Metadata beyond virtual time, or upcasting: the full row.
    if (row[7] === 1 || this.upcasters !== undefined) return this.toEvent(this.statements.at.get(row[0]) as RawEventRow);
    return new FoldEvent(row[0], this.streamName(row[1]) as StreamName, row[2], this.typeName(row[3]), row[4], row[5], { virtualTimeUs: row[6] }, this);
  }

  /** An event's id (hex), by position. */
  idAt(position: number): EventId {
    const row = this.statements.at.get(position) as RawEventRow | undefined;
    if (row === undefined) throw new AuraError('not_found', `no event at position ${position}`);
    return row[3] as EventId;
  }

  /** Raw rows with their stored hash, for verification. */
  rawRange(fromPosition: number, toPosition: number): Iterable<RawEventRowWithHash> {
    return this.statements.rangeWithHash.iterate(fromPosition, toPosition) as Iterable<RawEventRowWithHash>;
  }

  /** Raw rows with their stored hash, read in pages (faster than one cursor over millions of rows). */
  *pagedRawRange(fromPosition: number, toPosition: number, pageEvents = 4_096): Generator<RawEventRowWithHash> {
    for (let from = fromPosition; from <= toPosition; from += pageEvents) {
      const rows = this.rawRangeWithHash(from, Math.min(toPosition, from + pageEvents - 1));
      for (let index = 0; index < rows.length; index++) yield rows[index] as RawEventRowWithHash;
      if (rows.length === 0) {
        const next = this.nextPositionFrom(from);
        if (next === undefined) return;
        from = Math.max(from, next - pageEvents);
      }
    }
  }

  /** Rows from..to with their stored hashes, at most the caller's page of them. */
  rawRangeWithHash(fromPosition: number, toPosition: number): RawEventRowWithHash[] {
    return this.statements.rangeWithHash.all(fromPosition, toPosition) as RawEventRowWithHash[];
  }

  /** The first position at or after `position` that holds an event. */
  nextPositionFrom(position: number): number | undefined {
    return (this.statements.nextPosition.get(position) as { position: number } | undefined)?.position;
  }

  rawAt(position: number): RawEventRow | undefined {
    return this.statements.at.get(position) as RawEventRow | undefined;
  }

  readStream(stream: StreamName, fromVersion: number, maxCount: number, direction: ReadDirection = 'forward'): RecordedEvent[] {
    const id = this.statements.streamId.get(stream)?.stream_id;
    if (id === undefined || maxCount <= 0) return [];
    if (this.streamIndex === undefined) {
      const statement = direction === 'forward' ? this.statements.streamScanForward : this.statements.streamScanBackward;
      return (statement.all(id, fromVersion, maxCount) as RawEventRow[]).map((row) => this.toEvent(row));
    }
    return this.streamIndex.positions(id, fromVersion, maxCount, direction).map((position) => {
      const row = this.rawAt(position);
      if (row === undefined) throw new AuraError('damaged', `the stream index points at position ${position}, which is not in the log`);
      return this.toEvent(row);
    });
  }

  findById(id: EventId): RecordedEvent | undefined {
    const row = this.statements.byId.get(id) as RawEventRow | undefined;
    return row === undefined ? undefined : this.toEvent(row);
  }

  private filteredRows(fromPosition: number, maxCount: number, filter: ReadFilter | undefined): RawEventRow[] {
    const clause = this.filterClause(filter);
    if (clause.none) return [];
    if (clause.sql === '') return this.statements.all.all(fromPosition, maxCount) as RawEventRow[];
    return this.cachedStatement(`SELECT ${eventColumnsUpperHex} FROM events WHERE position >= ?${clause.sql} ORDER BY position LIMIT ?`, true).all(fromPosition, ...clause.params, maxCount) as RawEventRow[];
  }

  /**
   * A filter as SQL over events rows: ` AND ...` conditions and their parameters; `none` when no
   * event can match (a type or stream that does not exist). Empty fields match everything.
   */
  filterClause(filter: ReadFilter | undefined): FilterClause {
    const parts: string[] = [];
    const params: (string | number)[] = [];
    const ids = (names: readonly string[] | undefined, lookup: (name: string) => number | undefined): number[] | undefined =>
      names === undefined || names.length === 0 ? undefined : names.map(lookup).filter((id): id is number => id !== undefined);
    const typeIds = ids(filter?.types, (name) => this.statements.typeId.get(name)?.type_id);
    const streamIds = ids(filter?.streams, (name) => this.statements.streamId.get(name)?.stream_id);
    if (typeIds?.length === 0 || streamIds?.length === 0) return { sql: '', params: [], none: true };
    if (typeIds !== undefined) {
      parts.push(`type_id IN (${typeIds.map(() => '?').join(',')})`);
      params.push(...typeIds);
    }
    if (streamIds !== undefined) {
      parts.push(`stream_id IN (${streamIds.map(() => '?').join(',')})`);
      params.push(...streamIds);
    }
    if (filter?.category !== undefined) {
      parts.push('stream_id IN (SELECT stream_id FROM streams WHERE category = ?)');
      params.push(filter.category);
    }
    return { sql: parts.map((part) => ` AND ${part}`).join(''), params, none: false };
  }

  /** Reads pages of events packed by SQLite (native-read.ts); false: rows through better-sqlite3. */
  get nativeReads(): boolean {
    return this.packed() !== null;
  }

  /**
   * The packing statements, prepared at the first read that wants them: a reader that never
   * reads pages (a repair's, say) does not prepare them.
   */
  private packed(): PackedStatements | null {
    if (this.packedStatements === undefined) {
      const all = prepareEventRows(this.db, 'SELECT * FROM events WHERE position >= ? ORDER BY position LIMIT ?');
      const range = all === undefined ? undefined : prepareEventRowsWhere(this.db, 'position >= ? AND position <= ?');
      this.packedStatements = all !== undefined && range !== undefined ? { all, range } : null;
    }
    return this.packedStatements;
  }

  /** A packing statement for `query` from the same cache, or undefined (native-read.ts). */
  private cachedPackedStatement(query: string): Database.Statement | undefined {
    const key = `packed:${query}`;
    let statement = this.filtered.get(key);
    if (statement === undefined) {
      statement = prepareEventRows(this.db, query);
      if (statement === undefined) return undefined;
      if (this.filtered.size >= 64) this.filtered.clear();
      this.filtered.set(key, statement);
    }
    return statement;
  }

  /** A prepared statement from a small cache (filtered queries vary by filter shape). */
  cachedStatement(sql: string, raw: boolean): Database.Statement {
    let statement = this.filtered.get(sql);
    if (statement === undefined) {
      if (this.filtered.size >= 64) this.filtered.clear();
      statement = raw ? this.db.prepare(sql).raw(true) : this.db.prepare(sql);
      this.filtered.set(sql, statement);
    }
    return statement;
  }
}

/** A filter as SQL conditions (see EventReader.filterClause). */
export interface FilterClause {
  readonly sql: string;
  readonly params: readonly (string | number)[];
  readonly none: boolean;
}
