/**
 * Where the lab's entry points are. From a source checkout the lab runs its TypeScript through
 * tsx; from a build (`npm run build`) every entry is a sibling .js file in out/main.
 */
import { fileURLToPath } from 'node:url';

const here = import.meta.url;

/** True when this module is TypeScript source (run through tsx), false in a build. */
export const runningFromSource = here.endsWith('.ts');

export type EntryName = 'host' | 'projection-worker' | 'cli';

const sourceEntries: Record<EntryName, string> = {
  host: '../host/main.ts',
  'projection-worker': '../workers/projection-worker.ts',
  cli: '../cli/main.ts',
};

/** The file URL of an entry point, for child processes and worker threads. */
export function entryUrl(name: EntryName): URL {
  const relativePath = runningFromSource ? sourceEntries[name] : `./${name}.js`;
  return new URL(relativePath, here);
}

export function entryPath(name: EntryName): string {
  return fileURLToPath(entryUrl(name));
}

/** Node arguments a child process or worker thread needs to run this lab's entries. */
export function childExecArgv(): string[] {
  if (!runningFromSource) return [];
  return ['--import', import.meta.resolve('tsx')];
}

/** The repository (or installed package) root: where scenarios/ and out/ live. */
export function packageRoot(): string {
  return fileURLToPath(new URL(runningFromSource ? '../../' : '../../', here));
}
