/**
 * Full verification of an event log: SQLite's integrity_check, then every event's position,
 * stream version and chain hash. Reports the first bad position and what is wrong there.
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { genesisHashHex } from '../core/events/encoding.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { EventReader } from './event-reader.ts';
import { chainHash, framingOfRow } from './sqlite-event-store.ts';
import { checkSchema } from './sqlite-schema.ts';

export type ProblemKind = 'integrity' | 'missing_position' | 'chain' | 'stream_version' | 'unreadable' | 'head';

export interface VerifyProblem {
  readonly position: number | null;
  readonly kind: ProblemKind;
  readonly detail: string;
}

export interface VerifyReport {
  readonly file: string;
  readonly ok: boolean;
  /** Events read and checked. */
  readonly events: number;
  readonly headPosition: number;
  readonly headHash: string;
  readonly integrityCheck: readonly string[];
  readonly firstBadPosition: number | null;
  /** The first problems found (at most 100), in log order. */
  readonly problems: readonly VerifyProblem[];
  readonly wallMs: number;
}

const problemsMax = 100;

/**
 * Verifies the log at `path`. Throws AuraError('not_found') when there is no file to verify;
 * a file that is there but unreadable is a damaged log, reported as such.
 */
export function verifyEventLog(path: string, onProgress?: (checked: number, total: number) => void): VerifyReport {
  const started = performance.now();
  if (!existsSync(path) || !statSync(path).isFile()) throw new AuraError('not_found', `${path}: no event log there`);
  const problems: VerifyProblem[] = [];
  const report = (problem: VerifyProblem): void => {
    if (problems.length < problemsMax) problems.push(problem);
  };
  let db: Database.Database | undefined;
  let events = 0;
  let headPosition = 0;
  let headHash = genesisHashHex;
  let integrityCheck: string[] = [];
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    checkSchema(db, path);
    integrityCheck = (db.pragma('integrity_check(100)') as { integrity_check: string }[]).map((row) => row.integrity_check);
    if (!(integrityCheck.length === 1 && integrityCheck[0] === 'ok')) {
      for (const line of integrityCheck) report({ position: null, kind: 'integrity', detail: line });
    }
    const reader = new EventReader(db);
    const total = (db.prepare('SELECT MAX(position) AS head FROM events').get() as { head: number | null }).head ?? 0;
    const versions = new Map<number, number>();
    let previous = genesisHashHex;
    let expected = 1;
    for (const row of reader.rawRange(1, Number.MAX_SAFE_INTEGER)) {
      const position = row[0];
      if (position !== expected) {
        report({ position: expected, kind: 'missing_position', detail: `positions ${expected}..${position - 1} are missing` });
        previous = ''; // the chain cannot be followed across a hole
      }
      const stored = row[10];
      let framing: string | undefined;
      try {
        framing = framingOfRow(reader, row);
      } catch (error) {
        report({ position, kind: 'unreadable', detail: (error as Error).message });
      }
      if (framing !== undefined && previous !== '' && chainHash(previous, framing) !== stored) {
        report({ position, kind: 'chain', detail: 'the event does not match its hash (its content, or the hash before it, changed)' });
      }
      const streamVersion = (versions.get(row[1]) ?? 0) + 1;
      if (row[2] !== streamVersion) report({ position, kind: 'stream_version', detail: `stream version ${row[2]}, expected ${streamVersion}` });
      versions.set(row[1], row[2]);
      previous = stored;
      headPosition = position;
      headHash = stored;
      expected = position + 1;
      events += 1;
      if (onProgress !== undefined && (events & 0xffff) === 0) onProgress(events, total);
    }
    const streams = db.prepare('SELECT stream_id, name, version FROM streams').all() as { stream_id: number; name: string; version: number }[];
    for (const stream of streams) {
      const seen = versions.get(stream.stream_id) ?? 0;
      if (seen !== stream.version) report({ position: null, kind: 'head', detail: `stream ${stream.name} says version ${stream.version}, its events end at ${seen}` });
    }
    onProgress?.(events, total);
  } catch (error) {
    if (error instanceof AuraError && error.code === 'validation') throw error;
    report({ position: headPosition + 1, kind: 'unreadable', detail: (error as Error).message });
  } finally {
    db?.close();
  }
  const positioned = problems.filter((problem) => problem.position !== null).map((problem) => problem.position as number);
  return {
    file: path,
    ok: problems.length === 0,
    events,
    headPosition,
    headHash,
    integrityCheck,
    firstBadPosition: positioned.length > 0 ? Math.min(...positioned) : null,
    problems,
    wallMs: Math.round(performance.now() - started),
  };
}
