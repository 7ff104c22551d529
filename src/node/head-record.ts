/**
 * The head record: a small file beside the event log, rewritten in place after every commit,
 * that says how far the log had got (position and hash). If the log later loses committed
 * writes (its WAL deleted, a truncation), the record says exactly which positions existed, so
 * a repair can name every lost position instead of guessing.
 */
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
    const text = JSON.stringify({ headPosition: record.headPosition, headHash: record.headHash });
    this.buffer.fill(0x20);
    this.buffer.write(text, 0, 'utf8');
    this.buffer[recordBytes - 1] = 0x0a;
    writeSync(this.fd, this.buffer, 0, recordBytes, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function readHeadRecord(path: string): HeadRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8').trim()) as Partial<HeadRecord>;
    if (typeof parsed.headPosition === 'number' && typeof parsed.headHash === 'string') return { headPosition: parsed.headPosition, headHash: parsed.headHash };
  } catch {
    // Missing or unreadable: no record.
  }
  return undefined;
}
