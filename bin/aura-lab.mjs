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

/** The built CLI when it and every entry it starts (the host, the workers) are at least as new as the sources. */
function currentBuild() {
  const out = join(root, 'out', 'main');
  const entries = ['cli', 'host', 'load-writer', 'projection-worker', 'chain-worker', 'sweep-worker'].map((name) => join(out, `${name}.js`));
  let oldest;
  try {
    oldest = Math.min(...entries.map((file) => statSync(file).mtimeMs));
  } catch {
    return undefined;
  }
  let sources = 0;
  try {
    sources = newestMs(join(root, 'src'));
  } catch {
    // No sources beside the build (an installed package): the build is what there is.
  }
  return oldest >= sources ? entries[0] : undefined;
}

const built = currentBuild();
if (built !== undefined) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
