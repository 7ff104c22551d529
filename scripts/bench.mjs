#!/usr/bin/env node
// `npm run bench -- <area> [options]`: runs test/bench/<area>.bench.ts and prints its JSON
// report on stdout (progress goes to stderr). Areas: see test/bench/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const benchDir = join(root, 'test', 'bench');
const areas = readdirSync(benchDir).filter((file) => file.endsWith('.bench.ts')).map((file) => file.replace('.bench.ts', ''));
const [area, ...rest] = process.argv.slice(2);
if (area === undefined || !areas.includes(area)) {
  process.stderr.write(`usage: npm run bench -- <area> [options]\nareas: ${areas.join(', ')}\n`);
  process.exit(2);
}
const file = join(benchDir, `${area}.bench.ts`);
if (!existsSync(file)) process.exit(2);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', file, ...rest], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
