/**
 * Events read from a damaged log's pages directly, as sqlite3's `.recover` reads them: the rows
 * of table-leaf pages that the B-tree no longer reaches (a damaged interior page cuts a whole
 * subtree off) or that SQLite refuses to decode (a flipped bit in a cell's header makes the row
 * "malformed"). Every page of the file is scanned once; each cell shaped like an event row (the
 * events table's eleven columns) is indexed by its rowid, the event's position. A cell SQLite
 * cannot decode is tried again with each single bit of its header flipped. What is found here
 * is only a candidate: the repair keeps it only when its chain hash verifies (repair.ts), so a
 * stale copy of a page or a wrong guess can never come back as an event.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { eachBitFlipped } from './bit-flips.ts';
import type { RawEventRowWithHash } from './sqlite-schema.ts';

/** A decoded candidate row and its payload's bytes as stored. */
export interface ScannedRow {
  readonly row: RawEventRowWithHash;
  readonly payloadBytes: Buffer;
  /** Decoded from the cell as stored (false: with a bit of its header flipped). */
  readonly asStored: boolean;
}

/** Header bytes of a cell tried flipped when it does not decode (payload size, rowid, record header). */
const flippedHeaderBytesMax = 24;
/** A cell's length and rowid varints: at most 9 bytes each, 2-3 and 1-4 in an event log. */
const cellPrefixBytesMax = 8;

export class PageScan {
  /** Per indexed cell: its rowid, page number and offset in the page; sorted by rowid after the scan. */
  private rowids: Float64Array = new Float64Array(0);
  private pages: Uint32Array = new Uint32Array(0);
  private offsets: Uint16Array = new Uint16Array(0);
  private count = 0;
  /** The highest rowid of a cell that decodes as an event row as stored. */
  private highest = 0;

  private constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    private readonly usable: number,
    private readonly pageCount: number,
  ) {}

  /** Scans the file at `path`; undefined when it is not an SQLite file whose page size can be read. */
  static open(path: string): PageScan | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const geometry = pageGeometry(fd);
      if (geometry === undefined) {
        closeSync(fd);
        return undefined;
      }
      const { pageSize, usable } = geometry;
      const scan = new PageScan(fd, pageSize, usable, Math.floor(fstatSync(fd).size / pageSize));
      scan.index();
      return scan;
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The highest rowid of an event-shaped cell (0: none). */
  get maxPosition(): number {
    return this.highest;
  }

  /**
   * Candidate rows for `position`: each cell indexed there, decoded as it is and, when that
   * fails, with each single bit of its header flipped.
   */
  *candidates(position: number): Generator<ScannedRow> {
    for (let at = this.firstAt(position); at < this.count && this.rowids[at] === position; at++) {
      const page = this.page(this.pages[at] as number);
      const offset = this.offsets[at] as number;
      const cell = decodeCell(page, offset, this.usable);
      if (cell !== undefined && cell.rowid === position) yield { ...cell.scanned, asStored: true };
      // The header may have decoded wrongly (a flipped length): try it flipped bit by bit too.
      for (const _ of eachBitFlipped(page, offset, Math.min(page.length, offset + flippedHeaderBytesMax))) {
        const flipped = decodeCell(page, offset, this.usable);
        if (flipped !== undefined && flipped.rowid === position) yield { ...flipped.scanned, asStored: false };
      }
    }
  }

  /**
   * Rows whose rowid had a bit flipped (the cell moved to another position): cells at a rowid one
   * bit away from `position`, decoded as stored and put back at `position`.
   */
  *movedTo(position: number): Generator<ScannedRow> {
    for (let bit = 0; bit < 40; bit++) {
      const moved = Number(BigInt(position) ^ (1n << BigInt(bit)));
      if (moved < 1) continue;
      for (let at = this.firstAt(moved); at < this.count && this.rowids[at] === moved; at++) {
        const cell = decodeCell(this.page(this.pages[at] as number), this.offsets[at] as number, this.usable);
        if (cell === undefined) continue;
        const row: RawEventRowWithHash = [...cell.scanned.row];
        row[0] = position;
        yield { row, payloadBytes: cell.scanned.payloadBytes, asStored: false };
      }
    }
  }

  /** Whether a cell is indexed at a rowid from..to. */
  hasRowBetween(from: number, to: number): boolean {
    const at = this.firstAt(from);
    return at < this.count && (this.rowids[at] as number) <= to;
  }

  /** The index of the first indexed cell at or after `rowid`. */
  private firstAt(rowid: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.rowids[middle] as number) < rowid) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private page(number: number): Buffer {
    const page = Buffer.alloc(this.pageSize);
    readSync(this.fd, page, 0, this.pageSize, (number - 1) * this.pageSize);
    return page;
  }

  /** Indexes every cell of every table-leaf page by its rowid (whatever its record holds: decoding is for candidates()). */
  private index(): void {
    let capacity = 1_024;
    let rowids = new Float64Array(capacity);
    let pages = new Uint32Array(capacity);
    let offsets = new Uint16Array(capacity);
    let count = 0;
    const add = (rowid: number, page: number, offset: number): void => {
      if (count === capacity) {
        capacity *= 2;
        const grownRowids = new Float64Array(capacity);
        grownRowids.set(rowids);
        rowids = grownRowids;
        const grownPages = new Uint32Array(capacity);
        grownPages.set(pages);
        pages = grownPages;
        const grownOffsets = new Uint16Array(capacity);
        grownOffsets.set(offsets);
        offsets = grownOffsets;
      }
      rowids[count] = rowid;
      pages[count] = page;
      offsets[count] = offset;
      count += 1;
    };
    const buffer = Buffer.alloc(this.pageSize);
    for (let number = 1; number <= this.pageCount; number++) {
      readSync(this.fd, buffer, 0, this.pageSize, (number - 1) * this.pageSize);
      const start = number === 1 ? 100 : 0;
      if (buffer[start] !== 0x0d) continue;
      const cells = buffer.readUInt16BE(start + 3);
      for (let cell = 0; cell < cells; cell++) {
        const pointerAt = start + 8 + cell * 2;
        if (pointerAt + 2 > this.usable) break;
        const pointer = buffer.readUInt16BE(pointerAt);
        // A pointer that leads nowhere may have had a bit flipped: each of its single-bit variants is indexed (the hash decides).
        const inside = (offset: number): boolean => offset >= start + 8 && offset < this.usable;
        const decoded = inside(pointer) ? eventCellRowid(buffer, pointer, this.usable) : undefined;
        if (decoded !== undefined) {
          add(decoded, number, pointer);
          this.highest = Math.max(this.highest, decoded);
          continue;
        }
        // A cell that does not decode is kept for candidates() to try with its header flipped.
        const rowid = inside(pointer) ? cellRowid(buffer, pointer) : undefined;
        if (rowid !== undefined && rowid >= 1) add(rowid, number, pointer);
        // There too at the rowid a single flipped bit of its length or rowid hides: a flipped top
        // bit shortens a varint, and the rowid read after it is another number.
        if (inside(pointer)) {
          const hidden = new Set<number>();
          for (const _ of eachBitFlipped(buffer, pointer, Math.min(this.usable, pointer + cellPrefixBytesMax))) {
            const variant = eventCellRowid(buffer, pointer, this.usable);
            if (variant !== undefined && variant !== rowid) hidden.add(variant);
          }
          for (const variant of hidden) add(variant, number, pointer);
        }
        // Its pointer may have had a bit flipped instead: a variant that leads to an event row is indexed (the hash decides).
        for (let bit = 0; bit < 16; bit++) {
          const offset = pointer ^ (1 << bit);
          const variant = inside(offset) ? eventCellRowid(buffer, offset, this.usable) : undefined;
          if (variant !== undefined) add(variant, number, offset);
        }
      }
    }
    // Sorted by rowid (an index permutation keeps the three arrays together).
    const order = Array.from({ length: count }, (_, index) => index).sort((a, b) => (rowids[a] as number) - (rowids[b] as number));
    this.rowids = Float64Array.from(order, (index) => rowids[index] as number);
    this.pages = Uint32Array.from(order, (index) => pages[index] as number);
    this.offsets = Uint16Array.from(order, (index) => offsets[index] as number);
    this.count = count;
  }
}

/**
 * An SQLite file's page size and usable bytes per page, from its header (the first 100 bytes),
 * or undefined when it is not an SQLite file or the page size is not one.
 */
export function pageGeometry(fd: number): { pageSize: number; usable: number } | undefined {
  const header = fileHeader(fd);
  return header === undefined ? undefined : headerGeometry(header);
}

/** A database file's header (its first 100 bytes), or undefined when the file is shorter. */
export function fileHeader(fd: number): Buffer | undefined {
  const header = Buffer.alloc(100);
  return readSync(fd, header, 0, 100, 0) < 100 ? undefined : header;
}

/** The page size and usable bytes per page a database file's 100-byte header gives, or undefined. */
export function headerGeometry(header: Buffer): { pageSize: number; usable: number } | undefined {
  if (header.length < 100 || header.toString('latin1', 0, 15) !== 'SQLite format 3') return undefined;
  const pageSize = pageSizeOf(header.readUInt16BE(16));
  return pageSize === undefined ? undefined : { pageSize, usable: pageSize - (header[20] as number) };
}

/** The page size the header's 16-bit field stands for (1: 65,536), or undefined when it is none. */
export function pageSizeOf(raw: number): number | undefined {
  const pageSize = raw === 1 ? 65_536 : raw;
  return pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0 ? undefined : pageSize;
}

/**
 * The table-leaf cell at `offset`: its rowid and its record, when both varints read and the
 * record lies wholly on the page (rows too large for their page, with an overflow chain, are
 * not read here).
 */
export function leafCell(page: Buffer, offset: number, usable: number): { rowid: number; record: Buffer } | undefined {
  const size = varint(page, offset, usable);
  if (size === undefined) return undefined;
  const rowid = varint(page, offset + size[1], usable);
  if (rowid === undefined || !Number.isSafeInteger(rowid[0])) return undefined;
  const start = offset + size[1] + rowid[1];
  if (size[0] > usable - 35 || start + size[0] > usable) return undefined;
  return { rowid: rowid[0], record: page.subarray(start, start + size[0]) };
}

/** The bytes a value of an SQLite serial type takes in a record's body (-1: not a serial type). */
function serialLength(type: number): number {
  return type >= 12 ? Math.floor((type - 12) / 2) : ([0, 1, 2, 3, 4, 6, 8, 8, 0, 0][type] ?? -1);
}

/** An SQLite varint at `at`: [value, bytes], or undefined past `end`. */
export function varint(bytes: Buffer, at: number, end: number): [number, number] | undefined {
  let value = 0;
  for (let index = 0; index < 9; index++) {
    if (at + index >= end) return undefined;
    const byte = bytes[at + index] as number;
    if (index === 8) return [value * 256 + byte, 9];
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [value, index + 1];
  }
  return undefined;
}

/** The rowid of the table-leaf cell at `offset`, if its two varints read. */
function cellRowid(page: Buffer, offset: number): number | undefined {
  const size = varint(page, offset, page.length);
  if (size === undefined) return undefined;
  const rowid = varint(page, offset + size[1], page.length);
  return rowid !== undefined && Number.isSafeInteger(rowid[0]) ? rowid[0] : undefined;
}

/** Serial types an event row's columns may have: null, integer, blob, text; each a mask of the allowed kinds. */
const eventColumnKinds = [1, 2, 2, 4, 2, 2, 8, 2, 1 | 4, 1 | 8, 4] as const;

/**
 * The rowid of a table-leaf cell shaped like an event row, wholly on its page (its record header
 * read, no value decoded: the scan reads every cell of the file), or undefined.
 */
function eventCellRowid(page: Buffer, offset: number, usable: number): number | undefined {
  const cell = leafCell(page, offset, usable);
  if (cell === undefined || cell.rowid < 1) return undefined;
  const { record } = cell;
  const headerSize = varint(record, 0, record.length);
  if (headerSize === undefined || headerSize[0] > record.length) return undefined;
  let at = headerSize[1];
  let body = 0;
  for (const allowed of eventColumnKinds) {
    if (at >= headerSize[0]) return undefined;
    const type = varint(record, at, headerSize[0]);
    if (type === undefined) return undefined;
    at += type[1];
    const kind = type[0] === 0 ? 1 : type[0] <= 6 || type[0] === 8 || type[0] === 9 ? 2 : type[0] >= 12 ? (type[0] % 2 === 0 ? 4 : 8) : 0;
    if ((kind & allowed) === 0) return undefined;
    body += serialLength(type[0]);
  }
  return at === headerSize[0] && headerSize[0] + body === record.length ? cell.rowid : undefined;
}

/** The event row a table-leaf cell holds, when it is shaped like one and wholly on its page. */
function decodeCell(page: Buffer, offset: number, usable: number): { rowid: number; scanned: Omit<ScannedRow, 'asStored'> } | undefined {
  const cell = leafCell(page, offset, usable);
  const values = cell === undefined ? undefined : decodeRecord(cell.record);
  if (values === undefined || values.length !== 11) return undefined;
  const [alias, streamId, version, id, typeId, schemaVersion, payload, virtualTime, causation, correlation, hash] = values;
  const isInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
  if (alias !== null || !isInteger(streamId) || !isInteger(version) || !isInteger(typeId) || !isInteger(schemaVersion) || !isInteger(virtualTime)) return undefined;
  if (!(id instanceof Uint8Array) || !(payload instanceof RecordText) || !(hash instanceof Uint8Array)) return undefined;
  if (!(causation === null || causation instanceof Uint8Array) || !(correlation === null || correlation instanceof RecordText)) return undefined;
  const rowid = (cell as { rowid: number }).rowid;
  const row: RawEventRowWithHash = [
    rowid,
    streamId,
    version,
    Buffer.from(id).toString('hex'),
    typeId,
    schemaVersion,
    payload.bytes.toString('utf8'),
    virtualTime,
    causation === null ? '' : Buffer.from(causation).toString('hex'),
    correlation === null ? null : correlation.bytes.toString('utf8'),
    Buffer.from(hash).toString('hex'),
  ];
  return { rowid, scanned: { row, payloadBytes: Buffer.from(payload.bytes) } };
}

/** A text value's bytes, as stored (a view of the page). */
export class RecordText {
  constructor(readonly bytes: Buffer) {}
}

/** A record's values: numbers, null, Text or blob bytes; undefined when the record does not decode. */
export function decodeRecord(record: Buffer): (number | null | RecordText | Uint8Array)[] | undefined {
  const headerSize = varint(record, 0, record.length);
  if (headerSize === undefined || headerSize[0] > record.length || headerSize[0] < headerSize[1]) return undefined;
  const types: number[] = [];
  for (let at = headerSize[1]; at < headerSize[0]; ) {
    const type = varint(record, at, headerSize[0]);
    if (type === undefined) return undefined;
    types.push(type[0]);
    at += type[1];
  }
  const values: (number | null | RecordText | Uint8Array)[] = [];
  let at = headerSize[0];
  for (const type of types) {
    const length = serialLength(type);
    if (length < 0 || at + length > record.length) return undefined;
    const bytes = record.subarray(at, at + length);
    if (type === 0) values.push(null);
    else if (type === 8 || type === 9) values.push(type - 8);
    else if (type <= 6) values.push(Number(bytes.length === 8 ? bytes.readBigInt64BE(0) : BigInt.asIntN(length * 8, BigInt(`0x${bytes.toString('hex')}`))));
    else if (type === 7) values.push(bytes.readDoubleBE(0));
    else if (type % 2 === 0) values.push(bytes);
    else values.push(new RecordText(bytes));
    at += length;
  }
  return at === record.length ? values : undefined;
}
