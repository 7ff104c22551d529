/**
 * Typed errors for expected failures. Every error that crosses the API boundary is an
 * AuraError with a stable code; anything else is a bug and is reported as `internal`.
 */
export type ErrorCode =
  | 'validation' // input is malformed: a scenario field, an API payload
  | 'not_found' // a scenario, run or projection that does not exist
  | 'conflict' // the operation contradicts current state (a run already running)
  | 'concurrency' // an expected stream version did not match
  | 'limit' // a documented limit was exceeded
  | 'unavailable' // the engine is restarting or stopped
  | 'damaged' // stored data failed an integrity check
  | 'internal'; // a bug: an invariant failed

export interface ErrorIssue {
  /** Path of the offending field, e.g. ["workload", 0, "rate", "perSecond"]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** Where the field is in its source file, when it came from one (1-based). */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export class AuraError extends Error {
  override readonly name = 'AuraError';
  readonly code: ErrorCode;
  readonly issues: readonly ErrorIssue[];

  constructor(code: ErrorCode, message: string, issues: readonly ErrorIssue[] = []) {
    super(message);
    this.code = code;
    this.issues = issues;
  }
}

/** Thrown by assert(): an invariant of the program failed. Nobody catches it on purpose. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** One line: `file:line:column: field.path: message`. */
export function formatIssue(issue: ErrorIssue): string {
  const where = issue.file === undefined ? '' : `${issue.file}${issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`}: `;
  return `${where}${issue.path.length > 0 ? `${formatPath(issue.path)}: ` : ''}${issue.message}`;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(root)' : out;
}
