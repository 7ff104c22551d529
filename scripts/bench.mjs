#!/usr/bin/env node
// `npm run bench -- <area> [options]`: runs test/bench/<area>.bench.ts and prints its JSON
// report on stdout (progress goes to stderr). Areas: see test/bench/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { buildIsCurrent, root } from './sources.mjs';
import { join } from 'node:path';

const benchDir = join(root, 'test', 'bench');
const areas = readdirSync(benchDir).filter((file) => file.endsWith('.bench.ts')).map((file) => file.replace('.bench.ts', ''));
const [area, ...rest] = process.argv.slice(2);
if (area === undefined || !areas.includes(area)) {
  process.stderr.write(`usage: npm run bench -- <area> [options]\nareas: ${areas.join(', ')}\n`);
  process.exit(2);
}
const file = join(benchDir, `${area}.bench.ts`);
if (!existsSync(file)) process.exit(2);

// Worker threads start from the build when it is current (src/node/runtime.ts); a stale build
// would make them start through tsx, 0.6 s slower each, and skew the figures. Build first.
if (!buildIsCurrent(['out/main/host.js'])) {
  process.stderr.write('building first (the build is older than the sources)…\n');
  const build = spawnSync(join(root, 'node_modules', '.bin', 'electron-vite'), ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// The native chain check (verification) is built when missing or older than its source.
spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', file, ...rest], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
