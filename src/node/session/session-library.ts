/**
 * What a lab puts in its shared session from its own files, and takes back out: a scenario file
 * (validated as a scenario first), a chaos experiment file (validated with its scenario), a drill
 * note, and a session scenario saved as a local file (`<scenariosDir>/session/<name>.yaml`) so that
 * it can be run. The engine (session.* methods) and the CLI (`aura-lab session add-scenario |
 * add-plan | note`) both use these, so they refuse the same inputs with the same typed errors
 * (file, line and field named), before anything is written.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AuraError } from '../../core/kernel/errors.ts';
import { readExperimentFile } from '../chaos-experiment.ts';
import { writeFileAtomic } from '../files.ts';
import { parseScenarioText, readScenarioFile } from '../scenario-loader.ts';
import { checkKey, validateAnnotation, validateDrillNote, type Annotation, type DrillNote } from './session-doc.ts';

/** A named text to put in the session (a scenario or a chaos plan). */
export interface LibraryText {
  readonly name: string;
  readonly text: string;
}

/** Where session scenarios are saved, under the scenarios directory. */
export const sessionScenariosSubdir = 'session';

/** An entry's name: `name`, or the file's base name without its extension; `validation` on the `name` field when it is not a session key. */
export function entryName(name: string | undefined, file: string): string {
  const chosen = name ?? basename(file).replace(/\.[^.]+$/, '');
  try {
    return checkKey(chosen, 'name');
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    throw new AuraError('validation', `${error.message}, got ${JSON.stringify(chosen.slice(0, 200))}${name === undefined ? ' (from the file name: give a name)' : ''}`, [{ path: ['name'], message: error.message }]);
  }
}

/** A scenario file as a session entry: refused (file, line, field) unless it is a valid scenario. */
export function scenarioForSession(file: string, name?: string): LibraryText {
  const chosen = entryName(name, file);
  return { name: chosen, text: readScenarioFile(file).text };
}

/** A chaos experiment file as a session chaos plan: refused unless it loads and fits its scenario. */
export function chaosPlanForSession(file: string, scenariosDir: string, name?: string): LibraryText {
  const chosen = entryName(name, file);
  return { name: chosen, text: readExperimentFile(file, { scenariosDir }).text };
}

/** An annotation checked as the user gave it (a position that is not one, an empty text: validation, naming the field). */
export function annotationFor(runId: string, positionText: string, text: string, author: string, createdAtMs = Date.now()): { id: string; annotation: Annotation } {
  const notPosition = `expected a position (a positive integer), got ${JSON.stringify(positionText)}`;
  if (!/^[1-9]\d*$/.test(positionText)) throw new AuraError('validation', `position: ${notPosition}`, [{ path: ['position'], message: notPosition }]);
  if (text.trim() === '') throw new AuraError('validation', 'text: an annotation needs some text', [{ path: ['text'], message: 'an annotation needs some text' }]);
  const annotation = validateAnnotation({ runId, position: Number(positionText), author, text, createdAtMs }, []);
  return { id: `a-${randomBytes(8).toString('hex')}`, annotation };
}

/**
 * A drill note, checked (`validation` naming drillId, author or text). Any drill id the session's
 * validator accepts is taken: a drill of this lab's catalogue, a drill run, or a drill only a
 * peer has (notes travel to labs whose catalogues differ).
 */
export function drillNoteFor(drillId: string, text: string, author: string, createdAtMs = Date.now()): { id: string; note: DrillNote } {
  if (text.trim() === '') throw new AuraError('validation', 'text: a drill note needs some text', [{ path: ['text'], message: 'empty' }]);
  const note = validateDrillNote({ drillId, author, text, createdAtMs }, []);
  return { id: `n-${randomBytes(8).toString('hex')}`, note };
}

/**
 * Saves a session scenario as `<scenariosDir>/session/<name>.yaml` (a `:` in the name becomes `_`),
 * after checking that its text is a valid scenario. The same content already there is fine;
 * another file of that name is never overwritten (`conflict`). Returns the path relative to the
 * scenarios directory (what run.start takes).
 */
export function saveSessionScenario(scenariosDir: string, name: string, text: string): { file: string; written: boolean } {
  checkKey(name, 'scenario name');
  parseScenarioText(text, `session scenario ${name}`);
  const file = `${sessionScenariosSubdir}/${name.replaceAll(':', '_')}.yaml`;
  const path = join(scenariosDir, file);
  if (existsSync(path)) {
    if (readFileSync(path, 'utf8') === text) return { file, written: false };
    throw new AuraError('conflict', `${file} exists in the scenarios directory with other content; it is not overwritten`);
  }
  mkdirSync(join(scenariosDir, sessionScenariosSubdir), { recursive: true });
  writeFileAtomic(path, text);
  return { file, written: true };
}
