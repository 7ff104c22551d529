/**
 * A flipped bit in the SQL text of the log's schema (a table's column type, say) leaves the
 * whole file unopenable: SQLite refuses every statement ("malformed database schema"), and a
 * repair could take nothing from it. The lab wrote that schema (sqlite-schema.ts, the telemetry
 * tables), so it knows each object's SQL: a schema row on page 1 whose SQL differs from the
 * lab's for the same name in exactly one bit is put back, in a copy of the damaged file that the
 * repair then reads. The damaged file itself is never changed; any other difference is left
 * alone (an older schema, more damage), and the copy is used only if SQLite can then read it.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { copyDatabaseFile, removeDatabaseFile } from './files.ts';
import { decodeRecord, leafCell, pageGeometry, RecordText } from './page-scan.ts';
import { createSchema } from './sqlite-schema.ts';
import { createTelemetryTables } from './telemetry-store.ts';

/** The SQL of each schema object the lab creates in an event log, by name. */
function labSchema(): Map<string, string> {
  const db = new Database(':memory:');
  try {
    createSchema(db);
    createTelemetryTables(db);
    const rows = db.prepare('SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL').all() as { name: string; sql: string }[];
    return new Map(rows.map((row) => [row.name, row.sql]));
  } finally {
    db.close();
  }
}

/** True when SQLite can read the log's events (its schema parses). */
function readable(path: string): boolean {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      db.prepare('SELECT position FROM events LIMIT 1').get();
      return true;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/**
 * The damaged file with its schema's SQL put back where one bit of it flipped, written at
 * `target` (with the WAL, when it has content): the names of the objects mended, or undefined
 * (the file opens as it is, page 1 is not a leaf of schema rows, no single-bit difference, or the
 * copy still cannot be read). Never throws: a repair goes on without it.
 */
export function mendSchema(damaged: string, target: string): { file: string; objects: string[] } | undefined {
  try {
    return mended(damaged, target);
  } catch {
    removeDatabaseFile(target);
    return undefined;
  }
}

function mended(damaged: string, target: string): { file: string; objects: string[] } | undefined {
  if (readable(damaged)) return undefined;
  let page: Buffer;
  let usable: number;
  const input = openSync(damaged, 'r');
  try {
    const geometry = pageGeometry(input);
    if (geometry === undefined) return undefined;
    page = Buffer.alloc(geometry.pageSize);
    usable = geometry.usable;
    readSync(input, page, 0, page.length, 0);
  } finally {
    closeSync(input);
  }
  // Page 1: the file header, then the schema table's b-tree page (a leaf when the schema fits).
  if (page[100] !== 0x0d) return undefined;
  const expected = labSchema();
  const objects: string[] = [];
  // A cell count a flipped bit made too large reads no further than the page.
  const cells = Math.min(page.readUInt16BE(103), (page.length - 108) >> 1);
  for (let index = 0; index < cells; index++) {
    const pointer = page.readUInt16BE(108 + index * 2);
    const cell = pointer < 108 ? undefined : leafCell(page, pointer, usable);
    const values = cell === undefined ? undefined : decodeRecord(cell.record);
    const name = values?.[1];
    const sql = values?.[4];
    if (values === undefined || values.length !== 5 || !(name instanceof RecordText) || !(sql instanceof RecordText)) continue;
    const wanted = expected.get(name.bytes.toString('utf8'));
    if (wanted === undefined) continue;
    const bytes = Buffer.from(wanted, 'utf8');
    if (bytes.length !== sql.bytes.length || bitsApart(bytes, sql.bytes) !== 1) continue;
    // sql.bytes is a view of `page`: writing the lab's text there mends the page.
    bytes.copy(sql.bytes);
    objects.push(name.bytes.toString('utf8'));
  }
  if (objects.length === 0) return undefined;
  copyDatabaseFile(damaged, target);
  const fd = openSync(target, 'r+');
  try {
    writeSync(fd, page, 0, page.length, 0);
  } finally {
    closeSync(fd);
  }
  if (readable(target)) return { file: target, objects };
  removeDatabaseFile(target);
  return undefined;
}

/** How many bits two byte strings of one length differ in (stopping past 1). */
function bitsApart(a: Buffer, b: Buffer): number {
  let bits = 0;
  for (let index = 0; index < a.length && bits <= 1; index++) {
    let x = (a[index] as number) ^ (b[index] as number);
    while (x !== 0 && bits <= 1) {
      bits += x & 1;
      x >>= 1;
    }
  }
  return bits;
}
