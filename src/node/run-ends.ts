/**
 * Where a run's own files say its event log ends, against a verification of the log: the head
 * record (head.json, rewritten after every commit: the last event acknowledged) and, for a
 * completed run, the manifest. A log that ends before either, or holds another event there, has
 * lost acknowledged events (its WAL deleted, an older copy of it put back) that its chain alone
 * cannot show: every event it still holds links. The repair reads the same record (repair.ts).
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { findingsFirst, firstBadPositionOf, type VerifyProblem } from './chain-check.ts';
import { readHeadRecordState, type HeadRecord } from './head-record.ts';
import { runFiles } from './run-files.ts';

export interface RunEnds {
  /** The head record's position and hash, when there is a readable one. */
  readonly record: HeadRecord | undefined;
  /** Why the head record there could not be used (it fails its check), if it could not. */
  readonly recordDamaged: string | undefined;
  /** A completed run's manifest: where its log ended. */
  readonly completed: HeadRecord | undefined;
}

/**
 * Read before the log is verified: a writer still appending has then committed every position
 * its record names by the time the verification reads the log.
 */
export function readRunEnds(runDir: string): RunEnds {
  let completed: HeadRecord | undefined;
  try {
    const manifest = JSON.parse(readFileSync(runFiles.manifest(runDir), 'utf8')) as { status?: unknown; headPosition?: unknown; headHash?: unknown } | null;
    if (manifest?.status === 'completed' && typeof manifest.headPosition === 'number') completed = { headPosition: manifest.headPosition, headHash: typeof manifest.headHash === 'string' ? manifest.headHash : '' };
  } catch {
    // No manifest, or not JSON: it says nothing here (verification reads only the log).
  }
  const read = readHeadRecordState(runFiles.headRecord(runDir));
  return { record: read.state === 'ok' ? read.record : undefined, recordDamaged: read.state === 'damaged' ? read.detail : undefined, completed };
}

/**
 * What the log at `eventLog`, verified to end at `head` (position and hash, with the
 * verification's problems), lacks of what `ends` say. Nothing for a log the verification could
 * not read at all: its own findings say why.
 */
export function runEndProblems(ends: RunEnds, eventLog: string, head: HeadRecord & { readonly problems: readonly VerifyProblem[] }): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const { record, completed } = ends;
  if (head.headPosition === 0 && head.problems.length > 0) return problems;
  if (record !== undefined && record.headPosition > head.headPosition) {
    problems.push({ position: head.headPosition + 1, kind: 'head', detail: `the head record says the log reached ${record.headPosition} (${short(record.headHash)}), the file ends at ${head.headPosition}: ${positions(head.headPosition + 1, record.headPosition)} acknowledged and not in it` });
  } else if (record !== undefined && record.headPosition >= 1) {
    // (A hole there is verification's own finding.)
    const stored = storedHashAt(eventLog, record.headPosition);
    if (stored !== undefined && stored !== record.headHash) problems.push({ position: record.headPosition, kind: 'head', detail: `the head record names another event at ${record.headPosition} (${short(record.headHash)}; the file holds ${short(stored)})` });
  }
  if (completed !== undefined && head.headPosition === completed.headPosition && head.headHash !== completed.headHash) {
    problems.push({ position: head.headPosition, kind: 'head', detail: `the manifest names another last event at ${head.headPosition} (${short(completed.headHash)}; the file holds ${short(head.headHash)})` });
  } else if (completed !== undefined && head.headPosition !== completed.headPosition) {
    problems.push({ position: Math.min(head.headPosition, completed.headPosition) + 1, kind: 'head', detail: `the manifest says the log ends at ${completed.headPosition} (${short(completed.headHash)}), the file ends at ${head.headPosition}` });
  }
  return problems;
}

/**
 * A verification's problems with those of `runEndProblems` among them: findings in position
 * order (the database's, with none, last, as the report lists them), then the losses earlier
 * repairs declared (there may be many: a reader shown the first few sees the findings). The
 * first bad position is the first finding's (null when the findings are the database's alone);
 * with no findings, the first declared loss.
 */
export function withRunEnds(ends: RunEnds, eventLog: string, report: HeadRecord & { readonly problems: readonly VerifyProblem[] }): { problems: VerifyProblem[]; endProblems: VerifyProblem[]; firstBadPosition: number | null } {
  const endProblems = runEndProblems(ends, eventLog, report);
  const problems = [...report.problems, ...endProblems].sort(findingsFirst(Number.MAX_SAFE_INTEGER));
  return { problems, endProblems, firstBadPosition: firstBadPositionOf(problems) };
}

function short(hash: string): string {
  return `${hash.slice(0, 12) || '?'}…`;
}

function positions(from: number, to: number): string {
  return from === to ? `position ${from} was` : `positions ${from}-${to} were`;
}

/** The stored hash of the event at `position` in the log at `file`, as hex; undefined when there is none or the file cannot be read. */
export function storedHashAt(file: string, position: number): string | undefined {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT lower(hex(hash)) FROM events WHERE position = ?').pluck().get(position) as string | undefined) ?? undefined;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}
