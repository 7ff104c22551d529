/**
 * Bit rot: an event whose row had one bit flipped in its page. The chain hash covers every value
 * of an event, so a value with one flipped bit is found again by trying each single-bit change
 * of it against the row's stored hash (and the hash before it): a SHA-256 match leaves no doubt
 * that it is the original. The values tried: the id, the causation id, the schema version, the
 * virtual time and the version (integers at each width SQLite may have stored them in), the
 * correlation id and the payload (their bytes as stored: a flip can leave bytes that are not
 * UTF-8, which a string read from SQLite no longer holds). Stream and type ids are the
 * repair's own guesses (repair.ts: restoreByHash), the hash column is rehashed() there.
 */
import { hash } from 'node:crypto';
import type { RawEventRowWithHash } from './sqlite-schema.ts';

/** Payloads searched bit by bit, at most (a flip search costs 8 hashes per byte). */
export const flipSearchBytesMax = 2_048;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const hex32 = /^[0-9a-f]{32}$/;

/**
 * The row as it was written when one bit of one of its values flipped, or undefined (no single
 * flip matches, or `budget` ran out: each candidate costs 1). `framing` gives a candidate's hash
 * framing (hashing.ts: hashFraming); `payloadBytes` the payload's bytes as stored, when they can
 * be read (else its UTF-8).
 */
export function unflipped(
  row: RawEventRowWithHash,
  previousHash: string,
  framing: (row: RawEventRowWithHash) => string | undefined,
  payloadBytes: Buffer | undefined,
  budget: { left: number },
): RawEventRowWithHash | undefined {
  const stored = row[10];
  const accepts = (candidate: RawEventRowWithHash): boolean => {
    const text = framing(candidate);
    return text !== undefined && sha256Hex(`${previousHash}\n${text}`) === stored;
  };
  // The short values first: a few hundred candidates.
  for (const candidate of valueFlips(row)) {
    if (budget.left <= 0) return undefined;
    budget.left -= 1;
    if (accepts(candidate)) return candidate;
  }
  const payload = row[6];
  const own = framing(row);
  if (typeof payload !== 'string' || own === undefined || !own.endsWith(payload)) return undefined;
  const bytes = payloadBytes ?? Buffer.from(payload, 'utf8');
  if (bytes.length > flipSearchBytesMax) return undefined;
  // The payload ends the framing: the hash input is a fixed prefix and the payload's bytes.
  const prefix = Buffer.from(`${previousHash}\n${own.slice(0, own.length - payload.length)}`, 'utf8');
  const input = Buffer.concat([prefix, bytes]);
  for (const _ of eachBitFlipped(input, prefix.length)) {
    if (budget.left <= 0) return undefined;
    budget.left -= 1;
    if (sha256Hex(input) !== stored) continue;
    const text = decodeStrict(input.subarray(prefix.length));
    const candidate: RawEventRowWithHash = [...row];
    if (text !== undefined) candidate[6] = text;
    if (text !== undefined && accepts(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Flips each bit of `bytes[from..to)` in place in turn, yielding while it is flipped (the caller
 * reads `bytes` then), and flips it back before the next.
 */
export function* eachBitFlipped(bytes: Uint8Array, from = 0, to = bytes.length): Generator<void> {
  for (let at = from; at < to; at++) {
    for (let bit = 0; bit < 8; bit++) {
      bytes[at] = (bytes[at] as number) ^ (1 << bit);
      try {
        yield;
      } finally {
        bytes[at] = (bytes[at] as number) ^ (1 << bit);
      }
    }
  }
}

/** Candidates with one bit of one short value flipped: ids, integers, the correlation id. */
function* valueFlips(row: RawEventRowWithHash): Generator<RawEventRowWithHash> {
  const changed = (index: number, value: unknown): RawEventRowWithHash => {
    const candidate: RawEventRowWithHash = [...row];
    (candidate as unknown[])[index] = value;
    return candidate;
  };
  for (const index of [3, 8] as const) {
    const id = row[index];
    if (typeof id === 'string' && hex32.test(id)) for (const flipped of hexFlips(id)) yield changed(index, flipped);
  }
  for (const index of [5, 7, 2] as const) {
    const value = row[index];
    if (typeof value === 'number') for (const flipped of integerFlips(value)) yield changed(index, flipped);
  }
  const correlation = row[9];
  if (typeof correlation === 'string') for (const flipped of textFlips(correlation)) yield changed(9, flipped);
}

/** An id (hex) with one of its bits flipped, each way. */
export function* hexFlips(id: string): Generator<string> {
  const bytes = Buffer.from(id, 'hex');
  for (const _ of eachBitFlipped(bytes)) yield bytes.toString('hex');
}

/**
 * An integer with one bit flipped, as SQLite stores it: big-endian two's complement in 1, 2, 3,
 * 4, 6 or 8 bytes, the width the record header gives (at least the value's own smallest). Only
 * safe integers.
 */
export function integerFlips(value: number): number[] {
  if (!Number.isSafeInteger(value)) return [];
  const out = new Set<number>();
  const big = BigInt(value);
  for (const bytes of [1, 2, 3, 4, 6, 8]) {
    const bits = BigInt(bytes * 8);
    const half = 1n << (bits - 1n);
    if (big < -half || big >= half) continue;
    const mask = (1n << bits) - 1n;
    const unsigned = big & mask;
    for (let bit = 0n; bit < bits; bit++) {
      const flipped = unsigned ^ (1n << bit);
      const signed = flipped >= half ? flipped - (1n << bits) : flipped;
      const number = Number(signed);
      if (Number.isSafeInteger(number) && number !== value) out.add(number);
    }
  }
  return [...out];
}

/** A text with one bit of its UTF-8 flipped, where the result is still UTF-8. */
export function* textFlips(text: string): Generator<string> {
  const bytes = Buffer.from(text, 'utf8');
  for (const _ of eachBitFlipped(bytes)) {
    const flipped = decodeStrict(bytes);
    if (flipped !== undefined) yield flipped;
  }
}

function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function sha256Hex(input: string | Buffer): string {
  return hash('sha256', input, 'hex');
}
