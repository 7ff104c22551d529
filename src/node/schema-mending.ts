/**
 * A flipped bit in the log's schema leaves the whole file unopenable: SQLite refuses every
 * statement ("malformed database schema", or "database disk image is malformed" when the bit is
 * in a schema cell's length), and a repair could take nothing from it. The lab wrote that schema
 * (sqlite-schema.ts, the telemetry tables), so it knows each object's row: a schema row on page 1
 * that is the lab's but for one bit of one of its texts (SQL, type, name, table name), or whose
 * cell reads as exactly the lab's row only with one bit of its length, rowid or record header
 * flipped back, or whose cell pointer points at it only with one bit flipped back, is put right,
 * in a copy of the damaged file that the repair then reads. So are the file header's fields
 * whose values SQLite's format or the lab fixes (mendHeader: a flipped bit of the magic string
 * makes SQLite call the file "not a database"). The damaged file itself is never changed;
 * any other difference is left alone (an older schema, more damage), and the copy is used only
 * if SQLite can then read it.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';
import { copyDatabaseFile, removeDatabaseFile } from './files.ts';
import { decodeRecord, fileHeader, headerGeometry, leafCell, pageSizeOf, RecordText } from './page-scan.ts';
import { checkSchema, createSchema } from './sqlite-schema.ts';
import { createTelemetryTables } from './telemetry-store.ts';

/** A schema row as the lab writes it (sqlite_schema's columns but the root page, which no two files share). */
interface SchemaRow {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  /** Null for an index SQLite makes for a UNIQUE or PRIMARY KEY constraint. */
  readonly sql: string | null;
}

/** Each schema object the lab creates in an event log, by name. */
function labSchema(): Map<string, SchemaRow> {
  const db = new Database(':memory:');
  try {
    createSchema(db);
    createTelemetryTables(db);
    const rows = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all() as SchemaRow[];
    return new Map(rows.map((row) => [row.name, row]));
  } finally {
    db.close();
  }
}

/** Bytes at a schema cell's start tried flipped: its length and rowid varints and its record header (5 serial types). */
const cellHeaderBytesMax = 16;

type RecordValue = number | null | RecordText | Uint8Array;

const text = (value: RecordValue | undefined): string | undefined => (value instanceof RecordText ? value.bytes.toString('utf8') : undefined);

/** The schema cell at `pointer` of page 1, decoded (undefined when it does not decode as five values). */
function schemaCell(page: Buffer, pointer: number, usable: number): RecordValue[] | undefined {
  const cell = leafCell(page, pointer, usable);
  const values = cell === undefined ? undefined : decodeRecord(cell.record);
  return values?.length === 5 ? values : undefined;
}

/** The lab's row that `values` are exactly (its root page any integer), or undefined. */
function labRow(values: RecordValue[] | undefined, expected: ReadonlyMap<string, SchemaRow>): SchemaRow | undefined {
  const name = text(values?.[1]);
  const wanted = name === undefined ? undefined : expected.get(name);
  if (values === undefined || wanted === undefined) return undefined;
  const exact = text(values[0]) === wanted.type && text(values[2]) === wanted.tbl_name && typeof values[3] === 'number' && (wanted.sql === null ? values[4] === null : text(values[4]) === wanted.sql);
  return exact ? wanted : undefined;
}

/** A schema row's text columns in record order (type, name, tbl_name; the root page; sql). */
const textColumns = [
  [0, (row: SchemaRow) => row.type],
  [1, (row: SchemaRow) => row.name],
  [2, (row: SchemaRow) => row.tbl_name],
  [4, (row: SchemaRow) => row.sql],
] as const;

/**
 * The text of `values` that is one bit from the lab's `row` while every other column is exactly
 * the row's (the root page any integer), with the lab's bytes for it; undefined otherwise.
 */
function oneTextApart(values: RecordValue[], row: SchemaRow): { text: RecordText; bytes: Buffer } | undefined {
  if (typeof values[3] !== 'number') return undefined;
  let apart: { text: RecordText; bytes: Buffer } | undefined;
  for (const [column, wanted] of textColumns) {
    const value = values[column];
    const want = wanted(row);
    if (want === null) {
      if (value !== null) return undefined;
      continue;
    }
    if (!(value instanceof RecordText)) return undefined;
    const bytes = Buffer.from(want, 'utf8');
    if (bytes.equals(value.bytes)) continue;
    if (apart !== undefined || bytes.length !== value.bytes.length || bitsApart(bytes, value.bytes) !== 1) return undefined;
    apart = { text: value, bytes };
  }
  return apart;
}

/**
 * Puts the schema cell at `pointer` right in `page` where one flipped bit explains it: in one of
 * its texts (the row reads as one of the lab's but for one bit of its type, name, table name or
 * SQL: a flipped table name or SQL makes SQLite call the schema malformed), or in its length,
 * rowid or record header (the cell reads as exactly one of the lab's rows only with that bit
 * flipped back: a flipped length makes SQLite call the whole file malformed). Returns the
 * object's name, or undefined: nothing to put right (an intact row, one of another schema) or no
 * single bit explains it.
 */
function mendCell(page: Buffer, pointer: number, usable: number, expected: ReadonlyMap<string, SchemaRow>): string | undefined {
  const values = schemaCell(page, pointer, usable);
  if (labRow(values, expected) !== undefined) return undefined;
  if (values !== undefined) {
    for (const row of expected.values()) {
      const apart = oneTextApart(values, row);
      if (apart === undefined) continue;
      // The text is a view of `page`: writing the lab's bytes there mends the page.
      apart.bytes.copy(apart.text.bytes);
      return row.name;
    }
  }
  for (let at = pointer; at < Math.min(usable, pointer + cellHeaderBytesMax); at++) {
    for (let bit = 0; bit < 8; bit++) {
      page[at] = (page[at] as number) ^ (1 << bit);
      const row = labRow(schemaCell(page, pointer, usable), expected);
      if (row !== undefined) return row.name;
      page[at] = (page[at] as number) ^ (1 << bit);
    }
  }
  return undefined;
}

/** True when SQLite can read the log's events (its schema parses, and has every column the lab reads). */
export function logReadable(path: string): boolean {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      checkSchema(db, path);
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
export function mendSchema(damaged: string, target: string): { file: string; objects: string[]; header: string[] } | undefined {
  try {
    return mended(damaged, target);
  } catch {
    removeDatabaseFile(target);
    return undefined;
  }
}

function mended(damaged: string, target: string): { file: string; objects: string[]; header: string[] } | undefined {
  if (logReadable(damaged)) return undefined;
  let page: Buffer;
  let usable: number;
  let headerMended: string[];
  const input = openSync(damaged, 'r');
  try {
    const header = fileHeader(input);
    if (header === undefined) return undefined;
    headerMended = mendHeader(header, fstatSync(input).size);
    const geometry = headerGeometry(header);
    if (geometry === undefined) return undefined;
    page = Buffer.alloc(geometry.pageSize);
    usable = geometry.usable;
    readSync(input, page, 0, page.length, 0);
    header.copy(page, 0);
  } finally {
    closeSync(input);
  }
  const objects: string[] = [];
  // Page 1: the file header, then the schema table's b-tree page (a leaf when the schema fits).
  if (page[100] === 0x0d) {
    const expected = labSchema();
    // A cell count a flipped bit made too large reads no further than the page.
    const cells = Math.min(page.readUInt16BE(103), (page.length - 108) >> 1);
    for (let index = 0; index < cells; index++) {
      const pointer = page.readUInt16BE(108 + index * 2);
      const name = pointer < 108 || pointer >= usable ? undefined : mendCell(page, pointer, usable, expected);
      if (name !== undefined) objects.push(name);
    }
    const pointers = new Set(Array.from({ length: cells }, (_, index) => page.readUInt16BE(108 + index * 2)));
    for (let index = 0; index < cells; index++) {
      const name = mendPointer(page, index, pointers, usable, expected);
      if (name !== undefined) objects.push(name);
    }
  }
  if (objects.length === 0 && headerMended.length === 0) return undefined;
  copyDatabaseFile(damaged, target);
  const fd = openSync(target, 'r+');
  try {
    writeSync(fd, page, 0, page.length, 0);
  } finally {
    closeSync(fd);
  }
  if (logReadable(target)) return { file: target, objects, header: headerMended };
  removeDatabaseFile(target);
  return undefined;
}

const magic = Buffer.from('SQLite format 3\u0000', 'latin1');

/** A header field the lab knows: its bytes, and the values it may hold (the lab's first). */
interface HeaderField {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
  readonly values: readonly number[];
}

/**
 * The file header's fields (SQLite's file format) whose values the lab knows: any other value
 * makes SQLite refuse the file ("file is not a database") or read it wrongly. The page size is
 * mended apart: it is the one whose value the file itself tells.
 */
const headerFields: readonly HeaderField[] = [
  { name: 'write version', offset: 18, length: 1, values: [2, 1] },
  { name: 'read version', offset: 19, length: 1, values: [2, 1] },
  { name: 'reserved bytes per page', offset: 20, length: 1, values: [0] },
  { name: 'maximum payload fraction', offset: 21, length: 1, values: [64] },
  { name: 'minimum payload fraction', offset: 22, length: 1, values: [32] },
  { name: 'leaf payload fraction', offset: 23, length: 1, values: [32] },
  { name: 'schema format', offset: 44, length: 4, values: [4, 3, 2, 1] },
  // The store writes UTF-8 (1); UTF-16 (2, 3) is valid SQLite but no log of the lab's.
  { name: 'text encoding', offset: 56, length: 4, values: [1] },
];

const readField = (header: Buffer, field: HeaderField): number => (field.length === 1 ? (header[field.offset] as number) : header.readUInt32BE(field.offset));

function writeField(header: Buffer, field: HeaderField, value: number): void {
  if (field.length === 1) header[field.offset] = value;
  else header.writeUInt32BE(value, field.offset);
}

/** The one bit flipped in `value` that gives one of `values` (the first such in their order), or undefined. */
function oneBitTo(value: number, values: readonly number[]): number | undefined {
  return values.find((candidate) => {
    const x = (value ^ candidate) >>> 0;
    return x !== 0 && (x & (x - 1)) === 0;
  });
}

/**
 * Puts right, in `header` (the file's first 100 bytes), each field the lab knows whose value
 * is not one it may hold and is one flipped bit from one that is: the magic string, the page
 * size (a power of two; of those one bit away, the one that divides the file's size, the lab's
 * 16 KiB if several do), the database size (more pages than the file holds: the file's size
 * says), the versions, the reserved bytes, the payload fractions, the schema format and the text
 * encoding. Returns the names of the fields put right.
 */
function mendHeader(header: Buffer, fileSize: number): string[] {
  const mended: string[] = [];
  const magicNow = header.subarray(0, 16);
  if (!magicNow.equals(magic) && bitsApart(magicNow, magic) === 1) {
    magic.copy(header, 0);
    mended.push('magic string');
  }
  const raw = header.readUInt16BE(16);
  if (pageSizeOf(raw) === undefined) {
    const sizes = Array.from({ length: 16 }, (_, bit) => raw ^ (1 << bit)).filter((size) => fileSize % (pageSizeOf(size) ?? Number.NaN) === 0);
    const size = sizes.length === 1 ? sizes[0] : sizes.includes(16_384) ? 16_384 : undefined;
    if (size !== undefined) {
      header.writeUInt16BE(size, 16);
      mended.push('page size');
    }
  }
  // The database's size in pages: what the file's size says, where one flipped bit made it more
  // than the file holds (SQLite then calls the file malformed).
  const geometry = headerGeometry(header);
  if (geometry !== undefined && fileSize % geometry.pageSize === 0) {
    const pages = fileSize / geometry.pageSize;
    const stated = header.readUInt32BE(28);
    if (stated > pages && oneBitTo(stated, [pages]) !== undefined) {
      header.writeUInt32BE(pages, 28);
      mended.push('database size');
    }
  }
  for (const field of headerFields) {
    const value = readField(header, field);
    if (field.values.includes(value)) continue;
    // The versions go together: of two values one bit away, the other version's.
    const other = field.offset === 18 ? (header[19] as number) : field.offset === 19 ? (header[18] as number) : undefined;
    const preferred = other !== undefined && field.values.includes(other) ? [other, ...field.values.filter((candidate) => candidate !== other)] : field.values;
    const to = oneBitTo(value, preferred);
    if (to === undefined) continue;
    writeField(header, field, to);
    mended.push(field.name);
  }
  return mended;
}

/**
 * Puts page 1's cell pointer `index` right where one flipped bit explains it: the cell it points
 * at is none of the lab's rows, and with one bit of the pointer flipped back it points at one
 * that is exactly a lab's row no other pointer points at (`pointers`: every pointer's value, a
 * mended one's added; a flipped pointer makes SQLite call the whole file malformed). Returns the
 * object's name, or undefined.
 */
function mendPointer(page: Buffer, index: number, pointers: Set<number>, usable: number, expected: ReadonlyMap<string, SchemaRow>): string | undefined {
  const at = 108 + index * 2;
  const pointer = page.readUInt16BE(at);
  const cellAt = (offset: number): SchemaRow | undefined => (offset < 108 || offset >= usable ? undefined : labRow(schemaCell(page, offset, usable), expected));
  if (cellAt(pointer) !== undefined) return undefined;
  const found: { offset: number; row: SchemaRow }[] = [];
  for (let bit = 0; bit < 16; bit++) {
    // Never this pointer's own value (one bit differs): a pointer there is another's.
    const offset = pointer ^ (1 << bit);
    const row = pointers.has(offset) ? undefined : cellAt(offset);
    if (row !== undefined) found.push({ offset, row });
  }
  // Two candidates would be a guess.
  const only = found.length === 1 ? found[0] : undefined;
  if (only === undefined) return undefined;
  page.writeUInt16BE(only.offset, at);
  pointers.add(only.offset);
  return only.row.name;
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
