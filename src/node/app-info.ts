import { readFileSync } from 'node:fs';
import { packageRoot } from './runtime.ts';
import { join } from 'node:path';

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export const appVersion = readVersion();
