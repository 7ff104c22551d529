/**
 * Reads a scenario file (YAML, or JSON, which YAML accepts), keeping positions so that every
 * error names the file, the line, the column and the field.
 */
import { readFileSync, statSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { AuraError, formatIssue, type ErrorIssue } from '../core/kernel/errors.ts';
import { limits } from '../core/kernel/limits.ts';
import { validateScenario, type Scenario } from '../core/sim/scenario.ts';

export interface LoadedScenario {
  readonly file: string;
  readonly text: string;
  readonly scenario: Scenario;
}

/** A path as a person would type it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

export function readScenarioFile(file: string): LoadedScenario {
  const shown = displayPath(file);
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new AuraError('validation', `${shown}: not a file`, [{ path: [], message: 'not a file', file: shown }]);
    if (stat.size > limits.scenarioBytesMax) {
      throw new AuraError('limit', `${shown}: scenario file is ${stat.size} bytes; the limit is ${limits.scenarioBytesMax}`, [
        { path: [], message: `file is larger than ${limits.scenarioBytesMax} bytes`, file: shown },
      ]);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof AuraError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((error as Error).message);
    throw new AuraError(code === 'ENOENT' ? 'not_found' : 'validation', `${shown}: cannot read scenario: ${reason}`, [
      { path: [], message: `cannot read scenario: ${reason}`, file: shown },
    ]);
  }
  return { file, text, scenario: parseScenarioText(text, shown) };
}

/** Parses scenario text; `sourceName` is used in error messages. */
export function parseScenarioText(text: string, sourceName: string): Scenario {
  return parseYamlWith(text, sourceName, validateScenario, 'a scenario mapping');
}

/**
 * Parses YAML (or JSON) text and validates it; validation errors are located at the line and
 * column of the field they name.
 */
export function parseYamlWith<T>(text: string, sourceName: string, validate: (document: unknown) => T, expected: string): T {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const position = lineCounter.linePos(syntaxError.pos[0]);
    const issue: ErrorIssue = { path: [], message: `syntax error: ${syntaxError.message.split('\n')[0] ?? 'malformed document'}`, file: sourceName, line: position.line, column: position.col };
    throw new AuraError('validation', formatIssue(issue), [issue]);
  }
  const value: unknown = document.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) {
    const issue: ErrorIssue = { path: [], message: `the file is empty; expected ${expected}`, file: sourceName, line: 1, column: 1 };
    throw new AuraError('validation', formatIssue(issue), [issue]);
  }
  try {
    return validate(value);
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    const issues = error.issues.map((issue) => locate(issue, document, lineCounter, sourceName));
    const first = issues[0];
    const summary = first ? formatIssue(first) : `${sourceName}: ${error.message}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new AuraError('validation', `${summary}${more}`, issues);
  }
}

function locate(issue: ErrorIssue, document: Document, lineCounter: LineCounter, file: string): ErrorIssue {
  // Walk down the path as far as the document goes: a missing field points at its parent.
  for (let length = issue.path.length; length >= 0; length--) {
    const node: unknown = length === 0 ? document.contents : document.getIn(issue.path.slice(0, length), true);
    if (isNode(node) && (node as Node).range) {
      const range = (node as Node).range as [number, number, number];
      const position = lineCounter.linePos(range[0]);
      return { ...issue, file, line: position.line, column: position.col };
    }
  }
  return { ...issue, file, line: 1, column: 1 };
}
