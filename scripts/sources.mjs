// Shared by the npm scripts: is the build older than the sources?
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');

export function newestMs(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestMs(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** True when every file in `builtFiles` exists and is at least as new as every file under src/. */
export function buildIsCurrent(builtFiles) {
  const sources = newestMs(join(root, 'src'));
  return builtFiles.every((file) => existsSync(join(root, file)) && statSync(join(root, file)).mtimeMs >= sources);
}
