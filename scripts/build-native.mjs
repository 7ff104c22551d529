#!/usr/bin/env node
// Builds the hash chain's SQLite extension (src/native/aura-chain.c: the chain check and the
// batched appends' chain link) into out/native, against the sqlite3ext.h of the SQLite that
// better-sqlite3 bundles. Part of `npm run build` (and so of `npm ci`). Without a C compiler it
// says so and exits 0: verification and batched appends then run in JavaScript, the same bytes,
// slower. `--require` (npm test) makes a library that is
// not built, or does not load into better-sqlite3, exit 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'src', 'native', 'aura-chain.c');
const include = join(root, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');
const suffix = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';
const output = join(root, 'out', 'native', `aura-chain.${suffix}`);
const required = process.argv.includes('--require');

function giveUp(reason) {
  process.stderr.write(`build-native: ${reason}; \`aura-lab verify\` and batched appends will run the chain in JavaScript (same bytes and reports, slower)\n`);
  process.exit(required ? 1 : 0);
}

/** Loads the library into a fresh better-sqlite3 connection in a child process (a bad library must not take this one down). */
function loads(file) {
  const check = `const D = require(${JSON.stringify(join(root, 'node_modules', 'better-sqlite3'))}); const db = new D(':memory:'); db.loadExtension(${JSON.stringify(file)}); db.close();`;
  const result = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' });
  return result.status === 0 ? undefined : (result.stderr.trim().split('\n').find((line) => line.includes('Error')) ?? `exit ${result.status}`);
}

if (process.platform === 'win32') giveUp('not built on Windows');
if (!existsSync(join(include, 'sqlite3ext.h'))) giveUp(`no sqlite3ext.h in ${include} (run npm ci first)`);
const newest = Math.max(statSync(source).mtimeMs, statSync(join(include, 'sqlite3ext.h')).mtimeMs, statSync(import.meta.filename).mtimeMs);
if (!(existsSync(output) && statSync(output).mtimeMs >= newest)) {
  mkdirSync(join(root, 'out', 'native'), { recursive: true });
  // CC may carry arguments of its own ("ccache gcc"); the library is written beside its place, then renamed into it.
  const [compiler, ...compilerArgs] = (process.env.CC || 'cc').trim().split(/\s+/);
  const partial = `${output}.${process.pid}.tmp`;
  // SHA256_* stay undefined here and bind, when SQLite loads the library, to the OpenSSL that Node exports.
  const args = [...compilerArgs, '-O2', '-Wall', '-Wextra', '-fPIC', '-shared', '-I', include, source, '-o', partial];
  if (process.platform === 'darwin') args.unshift('-undefined', 'dynamic_lookup');
  const result = spawnSync(compiler, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error !== undefined) giveUp(`no C compiler (${compiler}: ${result.error.message})`);
  if (result.status !== 0) {
    rmSync(partial, { force: true });
    giveUp(`${compiler} failed (exit ${result.status})`);
  }
  renameSync(partial, output);
  process.stdout.write(`build-native: ${output}\n`);
}
if (required) {
  const failure = loads(output);
  if (failure !== undefined) giveUp(`${output} does not load: ${failure}`);
}
