#!/usr/bin/env node
// Builds the chain check's SQLite extension (src/native/aura-verify.c) into out/native, against
// the sqlite3ext.h of the SQLite that better-sqlite3 bundles. Part of `npm run build` (and so of
// `npm ci`). Without a C compiler it says so and exits 0: verification then runs its chain
// check in JavaScript, the same check, slower. `--require` makes a failed build exit 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'src', 'native', 'aura-verify.c');
const include = join(root, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');
const suffix = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';
const output = join(root, 'out', 'native', `aura-verify.${suffix}`);
const required = process.argv.includes('--require');

function giveUp(reason) {
  process.stderr.write(`build-native: ${reason}; \`aura-lab verify\` will check the chain in JavaScript (same report, about 3x slower)\n`);
  process.exit(required ? 1 : 0);
}

if (process.platform === 'win32') giveUp('not built on Windows');
if (!existsSync(join(include, 'sqlite3ext.h'))) giveUp(`no sqlite3ext.h in ${include} (run npm ci first)`);
if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) process.exit(0);

mkdirSync(join(root, 'out', 'native'), { recursive: true });
const compiler = process.env.CC || 'cc';
// SHA256 stays undefined here and binds, when SQLite loads the library, to the OpenSSL that Node exports.
const args = ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', '-I', include, source, '-o', output];
if (process.platform === 'darwin') args.unshift('-undefined', 'dynamic_lookup');
const result = spawnSync(compiler, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error !== undefined) giveUp(`no C compiler (${compiler}: ${result.error.message})`);
if (result.status !== 0) giveUp(`${compiler} failed (exit ${result.status})`);
process.stdout.write(`build-native: ${output}\n`);
