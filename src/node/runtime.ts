/**
 * Where the lab's entry points are. From a source checkout the lab runs its TypeScript through
 * tsx; from a build (`npm run build`) every entry is a sibling .js file in out/main.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = import.meta.url;

/** True when this module is TypeScript source (run through tsx), false in a build. */
export const runningFromSource = here.endsWith('.ts');

export type EntryName = 'host' | 'load-writer' | 'projection-worker' | 'chain-worker' | 'sweep-worker' | 'cli';

const sourceEntries: Record<EntryName, string> = {
  host: '../host/main.ts',
  'load-writer': '../host/load-writer.ts',
  'projection-worker': '../workers/projection-worker.ts',
  'chain-worker': '../workers/chain-worker.ts',
  'sweep-worker': '../workers/sweep-worker.ts',
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

let buildIsCurrent: boolean | undefined;

/** The newest modification time under src/ (0 when there are no sources, as in a package). */
export function newestSourceMs(): number {
  const newest = (dir: string): number => {
    let latest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }
    return latest;
  };
  try {
    return newest(join(packageRoot(), 'src'));
  } catch {
    return 0;
  }
}

/** True when out/main holds a build at least as new as every source file. */
function currentBuild(): boolean {
  if (buildIsCurrent !== undefined) return buildIsCurrent;
  const root = packageRoot();
  try {
    const built = statSync(join(root, 'out', 'main', 'host.js')).mtimeMs;
    buildIsCurrent = built >= newestSourceMs();
  } catch {
    buildIsCurrent = false;
  }
  return buildIsCurrent;
}

/**
 * A worker thread's entry and the Node arguments it needs. From source, a worker starts from
 * the build when the build is current (about 100 ms, against 700 ms through tsx, which starts
 * its compiler in every thread), and from the TypeScript source otherwise.
 */
export function workerEntry(name: EntryName): { url: URL; execArgv: string[] } {
  if (runningFromSource && currentBuild()) return { url: new URL(`../../out/main/${name}.js`, here), execArgv: [] };
  return { url: entryUrl(name), execArgv: childExecArgv() };
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
