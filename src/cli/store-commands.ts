/** `aura-lab verify | backup | repair | restore <run>`: integrity and recovery of a run's event log. */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { AuraError } from '../core/kernel/errors.ts';
import { createBackup, listBackups } from '../node/backups.ts';
import { isFinding, problemsMax } from '../node/chain-check.ts';
import { positionRangesText, repairEventLog, type RepairReport } from '../node/repair.ts';
import { readRunEnds, runEndProblems, storedHashAt, withRunEnds } from '../node/run-ends.ts';
import { fileStamp, runFiles } from '../node/run-files.ts';
import { displayPath } from '../node/scenario-loader.ts';
import { SqliteEventStore } from '../node/sqlite-event-store.ts';
import type { VerifyReport } from '../node/verify.ts';
import { verifyEventLogParallel } from '../node/verify-parallel.ts';
import { CliError } from './context.ts';
import { ProgressBar } from './progress.ts';

interface RunLocation {
  readonly runDir: string;
  readonly eventLog: string;
}

/** A run directory, or an event log file inside one. Anything else is unusable input (exit 2). */
export function locate(target: string, allowMissingLog = false): RunLocation {
  const path = resolve(target);
  if (!existsSync(path)) throw new CliError(`${target}: no such run directory or event log`, 2);
  if (statSync(path).isDirectory()) {
    const eventLog = runFiles.eventLog(path);
    if (!allowMissingLog && !existsSync(eventLog) && !existsSync(runFiles.manifest(path))) throw new CliError(`${target}: not a run directory (no events.sqlite or manifest.json)`, 2);
    return { runDir: path, eventLog };
  }
  // A run's own events.sqlite is a damaged log whatever is in it; any other file must at least be SQLite.
  if (basename(path) !== 'events.sqlite' && !isSqliteFile(path)) throw new CliError(`${target}: not an event log (not an SQLite database)`, 2);
  return { runDir: dirname(path), eventLog: path };
}

function isSqliteFile(path: string): boolean {
  const header = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, header, 0, 16, 0) === 16 && header.toString('latin1') === 'SQLite format 3\u0000';
  } finally {
    closeSync(fd);
  }
}

export async function verifyCommand(target: string, json: boolean): Promise<number> {
  const location = locate(target);
  if (!existsSync(location.eventLog)) throw new CliError(`${displayPath(location.eventLog)}: the run has no event log`, 2);
  const ends = readRunEnds(location.runDir);
  const bar = new ProgressBar(`verify ${displayPath(location.eventLog)}`);
  let report: VerifyReport;
  try {
    // This process does nothing else: its thread checks slices too.
    report = await verifyEventLogParallel(location.eventLog, { onCallerThread: true, onProgress: (checked, total) => bar.update(total > 0 ? checked / total : 1, `${checked.toLocaleString('en')} events`) });
  } catch (error) {
    bar.done();
    if (error instanceof AuraError) throw new CliError(error.message, 2);
    throw error;
  }
  bar.done();
  // The head record and a completed run's manifest say where the log ended: a shorter or different log lost events.
  if (ends.recordDamaged !== undefined) process.stderr.write(`aura-lab: ${displayPath(runFiles.headRecord(location.runDir))} was not used: ${ends.recordDamaged}\n`);
  const { problems, endProblems, firstBadPosition } = withRunEnds(ends, location.eventLog, report);
  const ok = problems.length === 0;
  const eventsPerSecond = report.wallMs > 0 ? Math.round((report.events / report.wallMs) * 1000) : null;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...report, ok, problems, firstBadPosition, onlyDeclaredLosses: report.onlyDeclaredLosses && endProblems.length === 0, eventsPerSecond })}\n`);
  } else if (ok) {
    process.stdout.write(`intact: ${report.events.toLocaleString('en')} events, hash chain and database verified in ${(report.wallMs / 1000).toFixed(2)} s${report.chainCheck === 'native' ? '' : ' (chain check in JavaScript: `npm run build` with a C compiler makes it about twice as fast)'}\n  head ${report.headPosition} ${report.headHash}\n`);
  } else if (report.onlyDeclaredLosses && endProblems.length === 0) {
    // Nothing is wrong but what earlier repairs could not recover: not whole (exit 1), nothing to repair.
    process.stdout.write(`lost: ${report.declaredLost.length.toLocaleString('en')} position(s) earlier repairs declared lost (${positionRangesText(report.declaredLost)}); the other ${(report.events - report.declaredLost.length).toLocaleString('en')} events, the hash chain and the database verify\n`);
  } else {
    // The findings, then the losses earlier repairs declared in one line (they may be many).
    const findings = problems.filter(isFinding);
    const lines = [`damaged: first bad position ${firstBadPosition ?? '(none: the database structure)'}`];
    for (const problem of findings.slice(0, 10)) lines.push(`  ${problem.position === null ? '-' : problem.position}: ${problem.kind}: ${problem.detail}`);
    // A report lists at most problemsMax: past that there are at least as many more.
    if (findings.length > 10) lines.push(`  … and ${findings.length >= problemsMax ? 'at least ' : ''}${findings.length - 10} more`);
    if (report.declaredLost.length > 0) lines.push(`  and ${report.declaredLost.length.toLocaleString('en')} position(s) earlier repairs declared lost: ${positionRangesText(report.declaredLost)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return ok ? 0 : 1;
}

export async function backupCommand(target: string, json: boolean): Promise<number> {
  const location = locate(target);
  // A backup is of a log that is there: opening a missing one would make an empty log to back up.
  if (!existsSync(location.eventLog)) throw new CliError(`${displayPath(location.eventLog)}: the run has no event log to back up`, 2);
  let store: SqliteEventStore;
  try {
    store = new SqliteEventStore(location.eventLog);
  } catch (error) {
    if (error instanceof AuraError && error.code !== 'damaged') throw new CliError(error.message, 2);
    throw new CliError(`${displayPath(location.eventLog)}: ${(error as Error).message}; run aura-lab repair first`, 1);
  }
  const bar = new ProgressBar('backup');
  try {
    const info = await createBackup(store, runFiles.backups(location.runDir), Date.now(), 3, (fraction) => bar.update(fraction, ''));
    bar.done();
    if (json) process.stdout.write(`${JSON.stringify(info)}\n`);
    else process.stdout.write(`backed up ${info.headPosition.toLocaleString('en')} events to ${displayPath(info.file)}\n`);
    return 0;
  } finally {
    store.closeFinished();
  }
}

export async function repairCommand(target: string, options: { json: boolean; backupFile?: string; force: boolean }): Promise<number> {
  const location = locate(target, true);
  // Nothing there to repair from: no log, no backup, no head record (a repair would only make an empty log).
  const sources = [location.eventLog, runFiles.headRecord(location.runDir), ...(options.backupFile === undefined ? [] : [resolve(options.backupFile)])];
  if (!sources.some((file) => existsSync(file)) && listBackups(runFiles.backups(location.runDir)).length === 0) {
    throw new CliError(`${target}: nothing to repair from (no event log, backup or head record there)`, 2);
  }
  const ends = readRunEnds(location.runDir);
  const now = Date.now();
  const bar = new ProgressBar('repair');
  let report: RepairReport;
  try {
    report = await repairEventLog(location.eventLog, {
      backupsDir: runFiles.backups(location.runDir),
      headRecordPath: runFiles.headRecord(location.runDir),
      nowMs: now,
      reportPath: runFiles.repairReport(location.runDir, fileStamp(now)),
      force: options.force,
      ...(options.backupFile === undefined ? {} : { backupFile: resolve(options.backupFile) }),
      onProgress: (stage, fraction) => bar.update(fraction, stage),
      parallel: true,
      ...(ends.completed === undefined ? {} : { knownEnd: ends.completed }),
    });
  } catch (error) {
    bar.done();
    if (error instanceof AuraError) throw new CliError(error.message, 2);
    throw error;
  }
  bar.done();
  // A file with nothing readable and nothing that says what it held: its losses cannot be named (not whole: exit 1).
  const unknownContent = report.repaired && report.recoveredHead === 0 && report.knownHead === null && report.backupUsed === null && report.damagedCopy !== null && report.diagnosis.problems.length > 0;
  // Still not what the run acknowledged (its head record or manifest names another event where the log holds one): nothing here to rebuild it from.
  const unmatched = runEndProblems(ends, location.eventLog, { headPosition: report.recoveredHead, headHash: storedHashAt(location.eventLog, report.recoveredHead) ?? '', problems: [] });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...report, unmatchedEnd: unmatched.map((problem) => problem.detail) })}\n`);
  } else if (unmatched.length > 0 && !report.repaired) {
    process.stdout.write(`not repaired: ${unmatched.map((problem) => problem.detail).join('; ')}; no backup or event of this log holds what it names (is this the run's own log?)\n`);
  } else if (!report.repaired) {
    const declared = report.diagnosis.declaredLost;
    process.stdout.write(
      declared.length === 0
        ? `intact: nothing to repair (${report.recoveredHead.toLocaleString('en')} events)\n`
        : `nothing to repair: ${report.recoveredHead.toLocaleString('en')} events verify; ${declared.length} position(s) an earlier repair declared lost stay lost (${positionRangesText(declared)})\n`,
    );
  } else {
    const lostNow = new Set(report.lostPositions);
    const declaredBefore = report.diagnosis.declaredLost.filter((position) => !lostNow.has(position));
    const backup = report.backupUsed === null ? '' : `backup ${displayPath(report.backupUsed.file)} (${report.backupUsed.headPosition})`;
    const source =
      report.method === 'patch'
        ? `its bad rows replaced in place${backup === '' ? '' : `, from ${backup} where it holds them`}`
        : backup === ''
          ? 'from the events that still verified (no usable backup)'
          : `from ${backup} plus the events that still verified`;
    const lines = [
      `repaired: ${report.recoveredHead.toLocaleString('en')} events in the log, ${source}`,
      report.lostPositions.length === 0
        ? unknownContent
          ? '  nothing could be read from the damaged file, and no head record or backup says how many events it held: what it lost cannot be named'
          : '  nothing was lost'
        : `  lost ${report.lostPositions.length} position(s): ${report.lostRanges.join(', ')}`,
      ...(declaredBefore.length > 0 ? [`  ${declaredBefore.length} position(s) an earlier repair declared lost stay lost (${positionRangesText(declaredBefore)})`] : []),
      ...report.headerMended.map((field) => `  file header put right: its ${field} had a flipped bit`),
      ...report.schemaMended.map((name) => `  schema put right: the row of ${name} had a flipped bit`),
      ...report.namesMended.map((mended) => `  ${mended.table === 'streams' ? 'stream' : 'event type'} name put right: ${JSON.stringify(mended.damaged)} is ${JSON.stringify(mended.name)} again`),
      `  the damaged file is kept as ${report.damagedCopy === null ? '(none: it was missing)' : displayPath(report.damagedCopy)}`,
      ...unmatched.map((problem) => `  still not what the run acknowledged: ${problem.detail}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.lostPositions.length === 0 && !unknownContent && unmatched.length === 0 ? 0 : 1;
}
