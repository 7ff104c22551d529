/**
 * A stream's or an event type's name with a flipped bit: every event of that stream (or type)
 * stops verifying, since the chain hash covers names, not ids. One event's stored hash tells the
 * true name (each single-bit change of the name tried, a SHA-256 match), and a copy of the
 * damaged file with the name put right is what the repair then works from: the events of that
 * stream or type verify again, on every path. The damaged file itself is never changed.
 */
import Database from 'better-sqlite3';
import { genesisHashHex, hashFraming } from '../core/events/encoding.ts';
import { textFlips } from './bit-flips.ts';
import { EventReader } from './event-reader.ts';
import { copyDatabaseFile, removeDatabaseFile } from './files.ts';
import { chainHash } from './sqlite-event-store.ts';
import { eventColumnsWithHash, type RawEventRowWithHash } from './sqlite-schema.ts';
import type { VerifyReport } from './verify.ts';

/** A name put right: the table, the row's id, the damaged name and the true one. */
export interface MendedName {
  readonly table: 'streams' | 'event_types';
  readonly id: number;
  readonly damaged: string;
  readonly name: string;
}

/** Events asked about their names, at most (the first that fail their chain link). */
const askedMax = 20;

/**
 * The names the damaged file's failing events show to have had one bit flipped, put right in a
 * copy written at `target` (with the WAL, when it has content); undefined when there are none,
 * or none could be put right. Never throws: a repair goes on without it.
 */
export function mendNames(damaged: string, diagnosis: VerifyReport, target: string): { file: string; names: MendedName[] } | undefined {
  const positions = [...new Set(diagnosis.problems.filter((problem) => problem.kind === 'chain' && problem.position !== null).map((problem) => problem.position as number))].slice(0, askedMax);
  if (positions.length === 0) return undefined;
  const names: MendedName[] = [];
  let db: Database.Database | undefined;
  try {
    db = new Database(damaged, { readonly: true, fileMustExist: true });
    const reader = new EventReader(db);
    const rowAt = db.prepare(`SELECT ${eventColumnsWithHash} FROM events WHERE position = ?`).raw(true);
    const hashAt = db.prepare('SELECT lower(hex(hash)) FROM events WHERE position = ?').pluck();
    // Another row of the table with that name (read from the rows, not the index): then the
    // event's id is what changed (it points at the wrong stream or type), not a name.
    const taken = {
      streams: db.prepare('SELECT 1 FROM streams NOT INDEXED WHERE name = ? AND stream_id <> ?').pluck(),
      event_types: db.prepare('SELECT 1 FROM event_types NOT INDEXED WHERE name = ? AND type_id <> ?').pluck(),
    };
    for (const position of positions) {
      try {
        const row = rowAt.get(position) as RawEventRowWithHash | undefined;
        const previous = position === 1 ? genesisHashHex : (hashAt.get(position - 1) as string | undefined);
        if (row === undefined || previous === undefined) continue;
        if (names.some((mended) => (mended.table === 'streams' && mended.id === row[1]) || (mended.table === 'event_types' && mended.id === row[4]))) continue;
        const stream = reader.streamName(row[1]);
        const type = reader.typeName(row[4]);
        const verifies = (streamName: string, typeName: string): boolean =>
          chainHash(previous, hashFraming(row[0], streamName, row[2], row[3], typeName, row[5], row[7], row[8] === '' ? undefined : row[8], row[9] ?? undefined, row[6])) === row[10];
        if (verifies(stream, type)) continue;
        const streamName = first(textFlips(stream), (name) => verifies(name, type));
        if (streamName !== undefined) {
          if (taken.streams.get(streamName, row[1]) === undefined) names.push({ table: 'streams', id: row[1], damaged: stream, name: streamName });
          continue;
        }
        const typeName = first(textFlips(type), (name) => verifies(stream, name));
        if (typeName !== undefined && taken.event_types.get(typeName, row[4]) === undefined) names.push({ table: 'event_types', id: row[4], damaged: type, name: typeName });
      } catch {
        // This event cannot be asked (a row or name that cannot be read): the next one may.
      }
    }
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
  if (names.length === 0) return undefined;
  const applied: MendedName[] = [];
  try {
    copyDatabaseFile(damaged, target);
    const copy = new Database(target);
    try {
      // Each name in a transaction of its own: one that cannot be put right leaves the others.
      for (const mended of names) {
        const key = mended.table === 'streams' ? 'stream_id' : 'type_id';
        try {
          copy.transaction(() => {
            // The flip may have hit the row and not its name's index entry: the index follows the row first.
            copy.exec(`REINDEX ${mended.table}`);
            copy.prepare(`UPDATE ${mended.table} SET name = ? WHERE ${key} = ?`).run(mended.name, mended.id);
          })();
          applied.push(mended);
        } catch {
          // Not this one (its table is worse than one flipped bit).
        }
      }
    } finally {
      copy.close();
    }
  } catch {
    applied.length = 0;
  }
  if (applied.length === 0) {
    removeDatabaseFile(target);
    return undefined;
  }
  return { file: target, names: applied };
}

function first<T>(items: Iterable<T>, accepts: (item: T) => boolean): T | undefined {
  for (const item of items) if (accepts(item)) return item;
  return undefined;
}
