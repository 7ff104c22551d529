#!/usr/bin/env node
// The `aura-lab` command. It runs the build (out/main/cli.js, `npm run build`) when that is at
// least as new as every source file, and otherwise the TypeScript CLI through tsx (a source
// checkout being edited); the engine host and worker threads it starts follow the same rule
// (src/node/runtime.ts). The build starts in about a third of the time.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`aura-lab: Node.js >= 20.19 is required; this is ${process.version}\n`);
  process.exit(1);
}

const root = fileURLToPath(new URL('..', import.meta.url));

function newestMs(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestMs(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function currentBuild() {
  const built = join(root, 'out', 'main', 'cli.js');
  try {
    return statSync(built).mtimeMs >= newestMs(join(root, 'src')) ? built : undefined;
  } catch {
    return undefined;
  }
}

const built = currentBuild();
if (built !== undefined) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
