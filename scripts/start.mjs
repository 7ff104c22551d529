#!/usr/bin/env node
// `npm start`: the desktop app. Builds when the build is missing or older than the sources,
// then starts Electron. Where the Electron binary is not installed and cannot be fetched (no
// network), it says so in one line and starts browser mode instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { buildIsCurrent, root } from './sources.mjs';
import { join } from 'node:path';

const electronDir = join(root, 'node_modules', 'electron');

function ensureBuilt() {
  if (buildIsCurrent(['out/renderer/index.html', 'out/main/index.js'])) return;
  process.stdout.write('Building AURA Lab…\n');
  const result = spawnSync(join(root, 'node_modules', '.bin', 'electron-vite'), ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The Electron binary's path, fetching it once if it is missing; undefined when that fails. */
function electronBinary() {
  if (!existsSync(electronDir)) return undefined;
  const pathFile = join(electronDir, 'path.txt');
  const installed = () => existsSync(pathFile) && existsSync(join(electronDir, 'dist', readFileSync(pathFile, 'utf8')));
  if (!installed()) {
    if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return undefined;
    const fetched = spawnSync(process.execPath, [join(electronDir, 'install.js')], { cwd: electronDir, stdio: 'ignore', timeout: 120_000 });
    if (fetched.status !== 0 || !installed()) return undefined;
  }
  return join(electronDir, 'dist', readFileSync(pathFile, 'utf8'));
}

ensureBuilt();
const electron = electronBinary();
if (electron === undefined) {
  process.stdout.write('The Electron binary is not installed and could not be fetched; starting AURA Lab in browser mode instead.\n');
  const serve = spawn(process.execPath, [join(root, 'bin', 'aura-lab.mjs'), 'serve', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  serve.on('exit', (code) => process.exit(code ?? 0));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => serve.kill(signal));
} else {
  const app = spawn(electron, [root], { cwd: root, stdio: 'inherit', env: { ...process.env, ELECTRON_RUN_AS_NODE: undefined } });
  app.on('exit', (code) => process.exit(code ?? 0));
}
