/**
 * Drill files (scenarios/drills/*.yaml): read, validated with file:line:column errors like
 * scenario files, and listed for the CLI and the drill console.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { validateDrill, type DrillDefinition } from '../core/chaos/drill.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { displayPath, parseYamlWith } from './scenario-loader.ts';

export interface LoadedDrill {
  readonly file: string;
  readonly definition: DrillDefinition;
}

export function readDrillFile(file: string): LoadedDrill {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AuraError('not_found', `${displayPath(file)}: cannot read drill: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return { file, definition: parseYamlWith(text, displayPath(file), validateDrill, 'a drill mapping') };
}

/** Every drill in `dir` (sorted by file name); broken files throw with their location. */
export function listDrills(dir: string): LoadedDrill[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort()
    .map((name) => readDrillFile(join(dir, name)));
}

/** A drill by name (its `drill:` field or its file name without extension). */
export function findDrill(dir: string, name: string): LoadedDrill {
  const drills = listDrills(dir);
  const found = drills.find((item) => item.definition.drill === name || basename(item.file).replace(/\.ya?ml$/, '') === name);
  if (found === undefined) throw new AuraError('not_found', `no drill named ${JSON.stringify(name)} in ${displayPath(dir)} (drills: ${drills.map((item) => item.definition.drill).join(', ') || 'none'})`);
  return found;
}
