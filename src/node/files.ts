import { copyFileSync, existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** Writes a file so that readers see the old or the new content, never a torn one. */
export function writeFileAtomic(path: string, content: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/**
 * Why `path` cannot take a new run's files: it is a file, a directory with files in it, or one
 * that cannot be read; undefined when it is absent or an empty directory.
 */
export function outDirRefusal(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    if (!statSync(path).isDirectory()) return 'is a file, not an output directory';
    return readdirSync(path).length === 0 ? undefined : 'output directory is not empty';
  } catch (error) {
    return `output directory cannot be read (${(error as Error).message})`;
  }
}

/**
 * Copies an SQLite file and its WAL when it has one with content (committed transactions not yet
 * checkpointed live there): the copy reads as the original does. The copy's shared-memory file
 * is left for SQLite to build.
 */
export function copyDatabaseFile(from: string, to: string): void {
  for (const suffix of ['-wal', '-shm']) rmSync(to + suffix, { force: true });
  copyFileSync(from, to);
  if (existsSync(`${from}-wal`) && statSync(`${from}-wal`).size > 0) copyFileSync(`${from}-wal`, `${to}-wal`);
}

/** Removes an SQLite file with its WAL and shared-memory files. */
export function removeDatabaseFile(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}
