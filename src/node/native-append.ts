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

/** An event's fields as the rows carry them (sqlite-event-store.ts: EncodedEvent). */
export interface PackedEvent {
  readonly schemaVersion: number;
  readonly virtualTimeUs: number;
  readonly id: string;
  readonly type: string;
  readonly causationId: string | null;
  readonly correlationId: string | null;
  readonly payloadText: string;
}

/**
 * Buffer's own writers: write(string, offset, encoding) checks its arguments, looks the
 * encoding up and calls them; six times per row, that was a sixth of packing's time.
 */
interface Writing {
  utf8Write(text: string, offset: number, length: number): number;
  latin1Write(text: string, offset: number, length: number): number;
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

  /** Packs one row: its numbers, then its stream name and the event's texts. */
  add(position: number, streamId: number, version: number, typeId: number, stream: string, event: PackedEvent): void {
    const causation = event.causationId;
    const correlation = event.correlationId;
    // At most 3 bytes of UTF-8 per UTF-16 code unit, plus the header and the alignment.
    const texts = stream.length + event.id.length + event.type.length + (causation?.length ?? 0) + (correlation?.length ?? 0) + event.payloadText.length;
    this.reserve(headerBytes + 3 * texts + 8);
    const start = this.used;
    const numbers = start >> 3;
    this.numbers[numbers] = position;
    this.numbers[numbers + 1] = streamId;
    this.numbers[numbers + 2] = version;
    this.numbers[numbers + 3] = typeId;
    this.numbers[numbers + 4] = event.schemaVersion;
    this.numbers[numbers + 5] = event.virtualTimeUs;
    const lengths = (start + numbersPerRow * 8) >> 2;
    const bytes = this.bytes as unknown as Writing;
    const end = this.bytes.length;
    let at = start + headerBytes;
    at += this.lengths[lengths] = bytes.utf8Write(stream, at, end - at);
    at += this.lengths[lengths + 1] = bytes.latin1Write(event.id, at, end - at);
    at += this.lengths[lengths + 2] = bytes.utf8Write(event.type, at, end - at);
    at += this.text(lengths + 3, causation, at);
    at += this.text(lengths + 4, correlation, at);
    at += this.lengths[lengths + 5] = bytes.utf8Write(event.payloadText, at, end - at);
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
    return (this.lengths[slot] = (this.bytes as unknown as Writing).utf8Write(text, at, this.bytes.length - at));
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
