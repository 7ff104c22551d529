/**
 * Storage faults, made real on the files themselves: bits flipped in database pages, the file
 * cut short, the WAL deleted or cut back to a frame boundary (writes not yet synced, lost as a
 * power loss would lose them), a full disk (the database capped at its current size, so the
 * next growth fails with SQLITE_FULL) and a slow disk (a stall at every commit). Offsets and
 * cuts come from a seeded PRNG, so a drill or a trial with the same seed strikes the same bytes.
 */
import { closeSync, existsSync, openSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Random } from '../core/kernel/random.ts';

export interface FlippedByte {
  readonly offset: number;
  readonly bit: number;
}

/** Flips one bit in each of `count` seeded bytes of `file`, from `fromOffset` (the 100-byte header by default is spared). */
export function flipBytes(file: string, random: Random, count: number, fromOffset = 100): FlippedByte[] {
  const size = statSync(file).size;
  const fd = openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  const flipped: FlippedByte[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const offset = random.int(Math.min(fromOffset, size - 1), size - 1);
      const bit = random.int(0, 7);
      readSync(fd, byte, 0, 1, offset);
      byte[0] = (byte[0] as number) ^ (1 << bit);
      writeSync(fd, byte, 0, 1, offset);
      flipped.push({ offset, bit });
    }
  } finally {
    closeSync(fd);
  }
  return flipped;
}

/** Cuts `file` to `fraction` of its size; returns the new size. */
export function truncateFile(file: string, fraction: number): number {
  const size = Math.floor(statSync(file).size * Math.min(1, Math.max(0, fraction)));
  truncateSync(file, size);
  return size;
}

/** Deletes the log's WAL (a live writer keeps writing into the unlinked file). */
export function deleteWal(databaseFile: string): boolean {
  const wal = `${databaseFile}-wal`;
  if (!existsSync(wal)) return false;
  rmSync(wal);
  return true;
}

/**
 * Cuts the WAL back to a seeded frame boundary: the frames after it are the writes a power
 * loss would take with it (the lab syncs the WAL at checkpoints, not at every commit). Returns
 * the frames kept and lost.
 */
export function truncateWal(databaseFile: string, random: Random): { keptFrames: number; lostFrames: number } {
  const wal = `${databaseFile}-wal`;
  if (!existsSync(wal)) return { keptFrames: 0, lostFrames: 0 };
  const size = statSync(wal).size;
  if (size < 32) return { keptFrames: 0, lostFrames: 0 };
  const header = Buffer.alloc(32);
  const fd = openSync(wal, 'r');
  try {
    readSync(fd, header, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  const pageSize = header.readUInt32BE(8) === 1 ? 65_536 : header.readUInt32BE(8);
  const frameSize = 24 + pageSize;
  const frames = Math.floor((size - 32) / frameSize);
  const kept = frames === 0 ? 0 : random.int(0, frames - 1);
  truncateSync(wal, 32 + kept * frameSize);
  return { keptFrames: kept, lostFrames: frames - kept };
}

/** A full disk: the database may not grow past its current pages. Returns a function that frees the disk again. */
export function fillDisk(db: Database.Database): () => void {
  const before = db.pragma('max_page_count', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`);
  return () => {
    db.pragma(`max_page_count = ${before}`);
  };
}

const stallCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * A slow disk: blocks the calling (writer) thread for `ms`, as a slow write or sync would,
 * without spinning. The ingest gate calls it at every commit while the fault is on.
 */
export function diskStall(ms: number): void {
  if (ms > 0) Atomics.wait(stallCell, 0, 0, ms);
}
