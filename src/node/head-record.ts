/**
 * The head record: a small file beside the event log, rewritten in place after every commit,
 * that says how far the log had got (position and hash). If the log later loses committed
 * writes (its WAL deleted, a truncation), the record says exactly which positions existed, so
 * a repair can name every lost position instead of guessing.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

const recordBytes = 160;

export interface HeadRecord {
  readonly headPosition: number;
  readonly headHash: string;
}

export class HeadRecorder {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(recordBytes, 0x20);

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(record: HeadRecord): void {
    const text = JSON.stringify({ headPosition: record.headPosition, headHash: record.headHash, check: checkOf(record.headPosition, record.headHash) });
    this.buffer.fill(0x20);
    this.buffer.write(text, 0, 'utf8');
    this.buffer[recordBytes - 1] = 0x0a;
    writeSync(this.fd, this.buffer, 0, recordBytes, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The record's check: SHA-256 of its position and hash, 16 hex digits. A read that caught the
 * record half rewritten, or a record with a flipped bit, fails it.
 */
function checkOf(position: number, hash: string): string {
  return createHash('sha256').update(`${position}\n${hash}`).digest('hex').slice(0, 16);
}

export type HeadRecordRead = { readonly state: 'none' } | { readonly state: 'ok'; readonly record: HeadRecord } | { readonly state: 'damaged'; readonly detail: string };

/** Nothing ever wakes it: waiting on it is a pause. */
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** Waits `ms` milliseconds on this thread (a retry's pause; reads of the record are synchronous). */
const pause = (ms: number): void => {
  Atomics.wait(pauseCell, 0, 0, ms);
};

/**
 * The head record at `path`. It is rewritten in place while a writer commits, so a read may
 * catch it half written: such a read is made again, after 1, 2, 4 and 8 ms (read back to back,
 * five reads of a record rewritten without pause failed together 5 times in 1.4 million). A
 * record written before it had a check is taken as it is.
 */
export function readHeadRecordState(path: string): HeadRecordRead {
  let outcome: HeadRecordRead = { state: 'none' };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) pause(2 ** (attempt - 1));
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch {
      return { state: 'none' };
    }
    outcome = parseRecord(text);
    // An empty file is a record never written (it is rewritten whole, never cut): nothing to wait for.
    if (outcome.state !== 'damaged') return outcome;
  }
  return outcome;
}

function parseRecord(text: string): HeadRecordRead {
  // Opened for writing and not yet written: no record.
  if (text === '') return { state: 'none' };
  let parsed: { headPosition?: unknown; headHash?: unknown; check?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return { state: 'damaged', detail: 'it is not JSON' };
  }
  if (typeof parsed?.headPosition !== 'number' || typeof parsed.headHash !== 'string') return { state: 'damaged', detail: 'it lacks a position or a hash' };
  if (parsed.check !== undefined && parsed.check !== checkOf(parsed.headPosition, parsed.headHash)) return { state: 'damaged', detail: 'its check does not match its position and hash' };
  return { state: 'ok', record: { headPosition: parsed.headPosition, headHash: parsed.headHash } };
}

/** The head record, or undefined when there is none or it is damaged (nothing it says can be trusted). */
export function readHeadRecord(path: string): HeadRecord | undefined {
  const read = readHeadRecordState(path);
  return read.state === 'ok' ? read.record : undefined;
}
