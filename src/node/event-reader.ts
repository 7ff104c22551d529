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
import { eventColumns, eventColumnsWithHash, type RawEventRow, type RawEventRowWithHash } from './sqlite-schema.ts';
import { StoredEvent } from './stored-event.ts';
import type { StreamIndex } from './stream-index.ts';

export class EventReader {
  private readonly streamNames = new Map<number, string>();
  private readonly typeNames = new Map<number, string>();
  private readonly statements;
  private readonly filtered = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    private readonly upcasters?: UpcasterRegistry,
    private readonly streamIndex?: StreamIndex,
  ) {
    this.statements = {
      all: db.prepare(`SELECT ${eventColumns} FROM events WHERE position >= ? ORDER BY position LIMIT ?`).raw(true),
      range: db.prepare(`SELECT ${eventColumns} FROM events WHERE position >= ? AND position <= ? ORDER BY position`).raw(true),
      rangeWithHash: db.prepare(`SELECT ${eventColumnsWithHash} FROM events WHERE position >= ? AND position <= ? ORDER BY position`).raw(true),
      at: db.prepare(`SELECT ${eventColumns} FROM events WHERE position = ?`).raw(true),
      streamScanForward: db.prepare(`SELECT ${eventColumns} FROM events WHERE stream_id = ? AND version >= ? ORDER BY position LIMIT ?`).raw(true),
      streamScanBackward: db.prepare(`SELECT ${eventColumns} FROM events WHERE stream_id = ? AND version <= ? ORDER BY position DESC LIMIT ?`).raw(true),
      byId: db.prepare(`SELECT ${eventColumns} FROM events WHERE id = unhex(?)`).raw(true),
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

  toEvent(row: RawEventRow): RecordedEvent {
    const metadata =
      row[8] === '' && row[9] === null
        ? { virtualTimeUs: row[7] }
        : {
            virtualTimeUs: row[7],
            ...(row[8] === '' ? {} : { causationId: row[8] as EventId }),
            ...(row[9] === null ? {} : { correlationId: row[9] }),
          };
    const event = new StoredEvent(row[0], this.streamName(row[1]) as StreamName, row[2], row[3] as EventId, this.typeName(row[4]), row[5], row[6], metadata);
    return this.upcasters === undefined ? event : this.upcasters.apply(event);
  }

  readAll(fromPosition: number, maxCount: number, filter?: ReadFilter): RecordedEvent[] {
    const rows = this.filteredRows(fromPosition, maxCount, filter);
    const out = new Array<RecordedEvent>(rows.length);
    for (let index = 0; index < rows.length; index++) out[index] = this.toEvent(rows[index] as RawEventRow);
    return out;
  }

  /** Events with fromPosition <= position <= toPosition, lazily. */
  *readRange(fromPosition: number, toPosition: number): Generator<RecordedEvent> {
    for (const row of this.statements.range.iterate(fromPosition, toPosition) as Iterable<RawEventRow>) yield this.toEvent(row);
  }

  /** Raw rows with their stored hash, for verification. */
  rawRange(fromPosition: number, toPosition: number): Iterable<RawEventRowWithHash> {
    return this.statements.rangeWithHash.iterate(fromPosition, toPosition) as Iterable<RawEventRowWithHash>;
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
    const types = filter?.types?.length ? filter.types : undefined;
    const streams = filter?.streams?.length ? filter.streams : undefined;
    const category = filter?.category;
    if (types === undefined && streams === undefined && category === undefined) {
      return this.statements.all.all(fromPosition, maxCount) as RawEventRow[];
    }
    const typeIds = types?.map((name) => this.statements.typeId.get(name)?.type_id).filter((id) => id !== undefined);
    const streamIds = streams?.map((name) => this.statements.streamId.get(name)?.stream_id).filter((id) => id !== undefined);
    if ((typeIds !== undefined && typeIds.length === 0) || (streamIds !== undefined && streamIds.length === 0)) return [];
    const conditions = ['position >= ?'];
    const params: (number | string)[] = [fromPosition];
    if (typeIds !== undefined) {
      conditions.push(`type_id IN (${typeIds.map(() => '?').join(',')})`);
      params.push(...typeIds);
    }
    if (streamIds !== undefined) {
      conditions.push(`stream_id IN (${streamIds.map(() => '?').join(',')})`);
      params.push(...streamIds);
    }
    if (category !== undefined) {
      conditions.push('stream_id IN (SELECT stream_id FROM streams WHERE category = ?)');
      params.push(category);
    }
    const sql = `SELECT ${eventColumns} FROM events WHERE ${conditions.join(' AND ')} ORDER BY position LIMIT ?`;
    let statement = this.filtered.get(sql);
    if (statement === undefined) {
      if (this.filtered.size > 64) this.filtered.clear();
      statement = this.db.prepare(sql).raw(true);
      this.filtered.set(sql, statement);
    }
    return statement.all(...params, maxCount) as RawEventRow[];
  }
}
