/**
 * Rows of a batched append, packed for the native chain link (aura_insert_rows in
 * src/native/aura-chain.c): per row six float64 (position, stream id, version, type id, schema
 * version, virtual time), six uint32 byte lengths (stream, id, type, causation, correlation,
 * payload; 0xFFFFFFFF for null), then those texts as UTF-8, the next row starting 8-byte aligned.
 * Native byte order: the blob never leaves the process.
 *
 * Texts are written as UTF-8, the bytes better-sqlite3 binds and node:crypto hashes for a
 * well-formed string (payloads are JSON, which escapes lone surrogates; correlation ids with one
 * are refused at validation), so a row stores and hashes the same bytes on either path.
 */
const numbersPerRow = 6;
const textsPerRow = 6;
const headerBytes = numbersPerRow * 8 + textsPerRow * 4;
const nullText = 0xffffffff;

export interface PackedRow {
  readonly position: number;
  readonly streamId: number;
  readonly version: number;
  readonly typeId: number;
  readonly schemaVersion: number;
  readonly virtualTimeUs: number;
  readonly stream: string;
  readonly id: string;
  readonly type: string;
  readonly causationId: string | null;
  readonly correlationId: string | null;
  readonly payloadText: string;
}

export class PackedRows {
  private bytes: Buffer;
  private numbers: Float64Array;
  private lengths: Uint32Array;
  /** Bytes used; always a multiple of 8. */
  private used = 0;
  /** Rows packed since the last clear. */
  count = 0;

  constructor(initialBytes = 1 << 20) {
    this.bytes = Buffer.from(new ArrayBuffer(initialBytes));
    this.numbers = new Float64Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >> 3);
    this.lengths = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >> 2);
  }

  get byteLength(): number {
    return this.used;
  }

  add(row: PackedRow): void {
    // At most 3 bytes of UTF-8 per UTF-16 code unit, plus the header and the alignment.
    const texts = row.stream.length + row.id.length + row.type.length + (row.causationId?.length ?? 0) + (row.correlationId?.length ?? 0) + row.payloadText.length;
    this.reserve(headerBytes + 3 * texts + 8);
    const start = this.used;
    const numbers = start >> 3;
    this.numbers[numbers] = row.position;
    this.numbers[numbers + 1] = row.streamId;
    this.numbers[numbers + 2] = row.version;
    this.numbers[numbers + 3] = row.typeId;
    this.numbers[numbers + 4] = row.schemaVersion;
    this.numbers[numbers + 5] = row.virtualTimeUs;
    const lengths = (start + numbersPerRow * 8) >> 2;
    let at = start + headerBytes;
    at += this.lengths[lengths] = this.bytes.write(row.stream, at, 'utf8');
    at += this.lengths[lengths + 1] = this.bytes.write(row.id, at, 'latin1');
    at += this.lengths[lengths + 2] = this.bytes.write(row.type, at, 'utf8');
    at += this.text(lengths + 3, row.causationId, at);
    at += this.text(lengths + 4, row.correlationId, at);
    at += this.lengths[lengths + 5] = this.bytes.write(row.payloadText, at, 'utf8');
    this.used = (at + 7) & ~7;
    this.count += 1;
  }

  /** The packed rows (a view, valid until the next add or clear). */
  view(): Buffer {
    return this.bytes.subarray(0, this.used);
  }

  clear(): void {
    this.used = 0;
    this.count = 0;
  }

  /** Bytes held, used or not. */
  get capacity(): number {
    return this.bytes.length;
  }

  private text(slot: number, text: string | null, at: number): number {
    if (text === null) {
      this.lengths[slot] = nullText;
      return 0;
    }
    return (this.lengths[slot] = this.bytes.write(text, at, 'utf8'));
  }

  private reserve(more: number): void {
    if (this.used + more <= this.bytes.length) return;
    const grown = Buffer.from(new ArrayBuffer(Math.max(this.bytes.length * 2, this.used + more + 8)));
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
    this.numbers = new Float64Array(grown.buffer, grown.byteOffset, grown.length >> 3);
    this.lengths = new Uint32Array(grown.buffer, grown.byteOffset, grown.length >> 2);
  }
}
