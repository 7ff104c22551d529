import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';

/** Writes a file so that readers see the old or the new content, never a torn one. */
export function writeFileAtomic(path: string, content: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/** True when a path does not exist or is an empty directory. */
export function isAbsentOrEmptyDir(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false;
  }
}
