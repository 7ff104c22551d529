/**
 * Online backups of a run's event log, with SQLite's backup API: the log stays writable while
 * pages are copied. Each backup is a standalone database in <run>/backups, named by the head
 * position it holds, with a sidecar JSON describing it. Old backups are pruned, newest kept.
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeFileAtomic } from './files.ts';
import type { SqliteEventStore } from './sqlite-event-store.ts';

export interface BackupInfo {
  readonly file: string;
  readonly headPosition: number;
  readonly headHash: string;
  readonly createdAtMs: number;
  readonly bytes: number;
  /**
   * SHA-256 of the backup file as written. A repair trusts a backup whose file still has this
   * digest without re-verifying every event it holds (see repair.ts).
   */
  readonly sha256?: string;
}

/** SHA-256 of a file, read in 64 KiB chunks (the event loop keeps turning meanwhile). */
export function fileDigest(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 16 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

const backupPattern = /^events-(\d+)\.sqlite$/;

/** Copies the live log to backupsDir; returns what the backup holds. */
export async function createBackup(store: SqliteEventStore, backupsDir: string, nowMs: number, keep = 3, onProgress?: (fraction: number) => void): Promise<BackupInfo> {
  mkdirSync(backupsDir, { recursive: true });
  const temporary = join(backupsDir, `.incoming-${process.pid}-${nowMs}.sqlite`);
  await store.backup(temporary, onProgress);
  const db = new Database(temporary, { readonly: true });
  let head: { position: number; hash: string } | undefined;
  try {
    head = db.prepare('SELECT position, lower(hex(hash)) AS hash FROM events ORDER BY position DESC LIMIT 1').get() as { position: number; hash: string } | undefined;
  } finally {
    db.close();
    // Opening the copy made empty -wal and -shm files beside it: they belong to nothing now.
    for (const suffix of ['-wal', '-shm']) rmSync(temporary + suffix, { force: true });
  }
  const headPosition = head?.position ?? 0;
  const file = join(backupsDir, `events-${headPosition}.sqlite`);
  const sha256 = await fileDigest(temporary);
  renameSync(temporary, file);
  const info: BackupInfo = { file, headPosition, headHash: head?.hash ?? '0'.repeat(64), createdAtMs: nowMs, bytes: statSync(file).size, sha256 };
  writeFileAtomic(`${file}.json`, `${JSON.stringify(info, null, 2)}\n`);
  pruneBackups(backupsDir, keep);
  return info;
}

/** Backups in a directory, newest (highest head) first. */
export function listBackups(backupsDir: string): BackupInfo[] {
  if (!existsSync(backupsDir)) return [];
  return readdirSync(backupsDir)
    .map((name) => ({ name, match: backupPattern.exec(name) }))
    .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ name, match }) => {
      const file = join(backupsDir, name);
      const guessed: BackupInfo = { file, headPosition: Number(match[1]), headHash: '', createdAtMs: 0, bytes: 0 };
      try {
        // What the backup's record says, where it says it well; the file is the one listed.
        const recorded = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as Partial<BackupInfo> | null;
        if (typeof recorded !== 'object' || recorded === null || !Number.isSafeInteger(recorded.headPosition)) return guessed;
        return { ...guessed, ...recorded, file };
      } catch {
        return guessed;
      }
    })
    .sort((a, b) => b.headPosition - a.headPosition);
}

function pruneBackups(backupsDir: string, keep: number): void {
  for (const backup of listBackups(backupsDir).slice(keep)) {
    rmSync(backup.file, { force: true });
    rmSync(`${backup.file}.json`, { force: true });
  }
}
