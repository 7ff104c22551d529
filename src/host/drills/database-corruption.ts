/**
 * Drill: database corruption. A real run writes a large log (1,000,000 events by default) with
 * online backups; a pristine copy is kept aside; then seeded bits are flipped in the log file's
 * pages. The lab's scrub (parallel verification) detects the damage, and the repair rebuilds the
 * log from the newest trustworthy backup plus every later event that verifies. The exact
 * checker compares the repaired log with the pristine copy position by position: each event
 * must be back with its hash, or be named lost by the repair.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Anomaly, CheckResult } from '../../core/chaos/checkers.ts';
import { createRandom } from '../../core/kernel/random.ts';
import { checkRunLog } from '../../node/chaos-checks.ts';
import { repairEventLog } from '../../node/repair.ts';
import { runFiles } from '../../node/run-files.ts';
import { flipBytes } from '../../node/storage-faults.ts';
import { verifyEventLogParallel } from '../../node/verify-parallel.ts';
import type { RunSummary, ServerMessage } from '../../shared/api.ts';
import { ApiClient } from '../../shared/client.ts';
import { EngineSupervisor } from '../engine-supervisor.ts';
import { awaitTrainee, numberParam, stringParam, type DrillContext, type DrillOutcome } from './context.ts';

/** Runs a scenario to the end in a real engine; returns its summary and what it acknowledged. */
async function writeLog(context: DrillContext, scenario: string, backupEveryEvents: number): Promise<{ summary: RunSummary; acknowledged: { position: number; hash: string }[] }> {
  const supervisor = new EngineSupervisor({ dataDir: join(context.dir, 'engine'), scenariosDir: context.scenariosDir, restart: false, backupEveryEvents });
  const client = new ApiClient((message) => link.send(message));
  const acknowledged: { position: number; hash: string }[] = [];
  let runId = '';
  let finished: ((summary: RunSummary) => void) | undefined;
  const done = new Promise<RunSummary>((resolve) => (finished = resolve));
  const link = supervisor.connect((message: ServerMessage) => {
    client.handle(message);
    if (message.type !== 'push') return;
    if ((message.topic === 'run.progress' || message.topic === 'run.finished') && message.data.runId === runId) {
      if (message.data.headPosition > 0) acknowledged.push({ position: message.data.headPosition, hash: message.data.headHash });
      context.progress('writing the log', Math.min(1, message.data.virtualTimeUs / Math.max(1, message.data.durationUs)) * 0.5);
      if (message.topic === 'run.finished') finished?.(message.data);
    }
  });
  try {
    await supervisor.start();
    const started = await client.request('run.start', { scenario, seed: context.seed, speed: 'max' });
    runId = started.runId;
    const summary = await done;
    if (summary.status !== 'completed') throw new Error(`the run writing the drill's log ended ${summary.status}: ${summary.error ?? ''}`);
    return { summary, acknowledged };
  } finally {
    link.close();
    await supervisor.stop();
  }
}

/** Every pristine event is in the repaired log with its hash, or its position was named lost. */
function compareWithPristine(repaired: string, pristine: string, namedLost: ReadonlySet<number>): CheckResult {
  const db = new Database(repaired, { readonly: true });
  try {
    db.prepare('ATTACH DATABASE ? AS p').run(pristine);
    const differing = db
      .prepare('SELECT p.position AS position FROM p.events p LEFT JOIN main.events m ON m.position = p.position WHERE m.hash IS NOT p.hash ORDER BY p.position')
      .all() as { position: number }[];
    const checked = (db.prepare('SELECT count(*) AS n FROM p.events').get() as { n: number }).n;
    const anomalies: Anomaly[] = differing.filter((row) => !namedLost.has(row.position)).map((row) => ({ class: 'unnamed-loss', detail: `position ${row.position} differs from the original and nobody said so`, positions: [row.position] }));
    return { check: 'every original event back or named lost', ok: anomalies.length === 0, checked, anomalies };
  } finally {
    db.close();
  }
}

export async function databaseCorruption(context: DrillContext): Promise<DrillOutcome> {
  const scenario = stringParam(context, 'scenario', 'million.yaml');
  const flips = numberParam(context, 'flips', 4, 1, 1_000);
  const backupEveryEvents = numberParam(context, 'backupEveryEvents', 250_000, 1_000, 10_000_000);
  const trainer = context.mode === 'trainer';
  context.progress('writing the log', 0);
  const { summary, acknowledged } = await writeLog(context, scenario, backupEveryEvents);
  const runDir = summary.outDir;
  const path = runFiles.eventLog(runDir);
  const pristine = join(context.dir, 'pristine.sqlite');
  copyFileSync(path, pristine);
  context.record('note', `log written: ${summary.headPosition.toLocaleString('en-US')} events, backups every ${backupEveryEvents.toLocaleString('en-US')}`);

  const random = createRandom(context.seed).split('database-corruption');
  const faultAt = context.now();
  const flipped = flipBytes(path, random, flips);
  context.record('fault', `flipped ${flipped.length} bits at offsets ${flipped.map((flip) => flip.offset).join(', ')}`, trainer);

  context.progress('scrubbing', 0.55);
  const diagnosis = await verifyEventLogParallel(path);
  const detectedAt = context.now();
  context.record(trainer ? 'alert' : 'detected', diagnosis.ok ? 'scrub: the log verifies (the flips hit no event data)' : `scrub: log damaged, first bad position ${diagnosis.firstBadPosition} (${diagnosis.problems.length} problems)`);
  let acknowledgedAt = detectedAt;
  if (trainer) {
    const { atMs } = await awaitTrainee(context, ['repair-log', 'restore-backup']);
    acknowledgedAt = atMs;
  }
  context.progress('repairing', 0.7);
  const report = await repairEventLog(path, { backupsDir: runFiles.backups(runDir), headRecordPath: runFiles.headRecord(runDir), nowMs: Date.now(), diagnosis, parallel: true, reportPath: runFiles.repairReport(runDir, String(Date.now())) });
  const recoveredAt = context.now();
  context.record('recovered', report.repaired ? `repaired (${report.method}; backup ${report.backupUsed === null ? 'none' : `at ${report.backupUsed.headPosition}`}); lost: ${report.lostRanges.join(', ') || 'nothing'}` : 'nothing to repair');

  context.progress('checking', 0.85);
  const namedLost = new Set(report.lostPositions);
  const exact = compareWithPristine(path, pristine, namedLost);
  const { report: checks } = await checkRunLog(path, { acknowledged, namedLost, parallel: true, projections: false, extra: [exact] });
  rmSync(pristine, { force: true });
  context.record('check', checks.ok ? 'checkers: no anomaly' : `checkers: ${checks.anomalyTotal} anomalies`);
  const realProblems = checks.anomalyTotal - (checks.anomalies['lost-acknowledged']?.count ?? 0) - (checks.anomalies['stream-version-gap']?.count ?? 0);
  return {
    measurements: {
      timeToDetectMs: detectedAt - faultAt,
      timeToRecoverMs: recoveredAt - acknowledgedAt,
      recoveryMs: recoveredAt - faultAt,
      // Every event of a finished run was acknowledged: each lost position is an acknowledged loss.
      lostAcknowledged: report.lostPositions.length,
      unnamedLoss: checks.anomalies['unnamed-loss']?.count ?? 0,
      anomalies: realProblems,
      throughputPerSecond: Math.round(summary.headPosition / Math.max(0.001, (diagnosis.wallMs + report.wallMs) / 1_000)),
    },
    checks,
    details: { events: summary.headPosition, method: report.method, flipped, firstBadPosition: diagnosis.firstBadPosition, lostPositions: report.lostPositions, backupUsed: report.backupUsed, verifyMs: diagnosis.wallMs, repairMs: report.wallMs, runDir },
  };
}
