/**
 * Queries for browsing an event log: counts, facets and filtered pages, on one read-only
 * connection. Every query is bounded by a head position so that the answers of one request
 * agree with each other while a writer appends (run them inside `snapshot`).
 */
import type Database from 'better-sqlite3';
import type { RecordedEvent } from '../core/events/event.ts';
import { EventReader, type FilterClause } from './event-reader.ts';
import type { StreamName } from '../core/kernel/ids.ts';
import { checkSchema, eventColumnsUpperHex, openDatabase, type RawEventRow } from './sqlite-schema.ts';

export interface EventQueryFilter {
  readonly types?: readonly string[] | undefined;
  readonly streams?: readonly string[] | undefined;
  readonly category?: string | undefined;
}

export interface NameCount {
  readonly name: string;
  readonly count: number;
}

/** A stable key for a filter (sorted, empties dropped); '' for no filter. */
export function filterKey(filter: EventQueryFilter | undefined): string {
  const types = [...(filter?.types ?? [])].sort();
  const streams = [...(filter?.streams ?? [])].sort();
  const category = filter?.category;
  if (types.length === 0 && streams.length === 0 && category === undefined) return '';
  return JSON.stringify([types, streams, category ?? null]);
}

export function isUnfiltered(filter: EventQueryFilter | undefined): boolean {
  return filterKey(filter) === '';
}

export class EventLogQueries {
  readonly reader: EventReader;
  private readonly statements;

  constructor(readonly db: Database.Database) {
    this.reader = new EventReader(db);
    this.statements = {
      head: db.prepare<[], { head: number | null }>('SELECT MAX(position) AS head FROM events'),
      typeCounts: db.prepare<[number, number], { type_id: number; name: string | null; n: number }>(
        'SELECT c.type_id, t.name, c.n FROM (SELECT type_id, COUNT(*) AS n FROM events WHERE position > ? AND position <= ? GROUP BY type_id) c LEFT JOIN event_types t USING (type_id)',
      ),
      // A stream's version is the number of its events: counting by category needs no scan but
      // of the events after the stream index's position, as far as streams.version is written
      // (stream-index.ts).
      categoryCounts: db.prepare<[], { category: string; n: number }>(
        `SELECT s.category, SUM(max(s.version, coalesce(t.version, 0))) AS n FROM streams s
         LEFT JOIN (SELECT stream_id, max(version) AS version FROM events WHERE position > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'stream_index_position') GROUP BY stream_id) t USING (stream_id)
         GROUP BY s.category ORDER BY s.category`,
      ),
      streamCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM streams'),
    };
  }

  /** Opens a log read-only and checks that it is an AURA Lab event log of this schema. */
  static open(path: string): EventLogQueries {
    const db = openDatabase(path, { readonly: true });
    try {
      // Browsing keeps a few of these open: a smaller page cache than the writer's.
      db.pragma('cache_size = -8192');
      checkSchema(db, path);
      return new EventLogQueries(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `read` in one read transaction: every query in it sees the same log. */
  snapshot<T>(read: () => T): T {
    return this.db.transaction(read)();
  }

  headPosition(): number {
    return this.statements.head.get()?.head ?? 0;
  }

  /** Matching events with after < position <= upTo. */
  count(filter: EventQueryFilter | undefined, after: number, upTo: number): number {
    if (upTo <= after) return 0;
    const clause = this.clause(filter);
    if (clause.none) return 0;
    const row = this.statement(`SELECT COUNT(*) AS n FROM events WHERE position > ? AND position <= ?${clause.sql}`, false).get(after, upTo, ...clause.params) as { n: number };
    return row.n;
  }

  /** Position of the matching event with this index (0-based) up to `upTo`, if there is one. */
  positionAtOffset(filter: EventQueryFilter | undefined, offset: number, upTo: number): number | undefined {
    const clause = this.clause(filter);
    if (clause.none) return undefined;
    const row = this.statement(`SELECT position FROM events WHERE position <= ?${clause.sql} ORDER BY position LIMIT 1 OFFSET ?`, false).get(upTo, ...clause.params, offset) as
      | { position: number }
      | undefined;
    return row?.position;
  }

  /** At most `limit` matching events with fromPosition <= position <= upTo, in order. */
  page(filter: EventQueryFilter | undefined, fromPosition: number, upTo: number, limit: number): RecordedEvent[] {
    const clause = this.clause(filter);
    if (clause.none || fromPosition > upTo) return [];
    const rows = this.statement(`SELECT ${eventColumnsUpperHex} FROM events WHERE position >= ? AND position <= ?${clause.sql} ORDER BY position LIMIT ?`, true).all(
      fromPosition,
      upTo,
      ...clause.params,
      limit,
    ) as RawEventRow[];
    return rows.map((row) => this.reader.toEvent(row));
  }

  /** Events per type id with after < position <= upTo (names may be null in a damaged log). */
  typeCounts(after: number, upTo: number): { typeId: number; name: string; count: number }[] {
    if (upTo <= after) return [];
    return this.statements.typeCounts.all(after, upTo).map((row) => ({ typeId: row.type_id, name: row.name ?? `#${row.type_id}`, count: row.n }));
  }

  categoryCounts(): NameCount[] {
    return this.statements.categoryCounts.all().map((row) => ({ name: row.category, count: row.n }));
  }

  streamCount(): number {
    return this.statements.streamCount.get()?.n ?? 0;
  }

  private clause(filter: EventQueryFilter | undefined): FilterClause {
    return this.reader.filterClause(filter === undefined ? undefined : { ...(filter.types ? { types: filter.types } : {}), ...(filter.streams ? { streams: filter.streams as readonly StreamName[] } : {}), ...(filter.category === undefined ? {} : { category: filter.category }) });
  }

  private statement(sql: string, raw: boolean): Database.Statement {
    return this.reader.cachedStatement(sql, raw);
  }
}
