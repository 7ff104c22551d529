/**
 * `npm run bench -- chaos`: robustness figures, from real faults.
 *
 * - kill -9: 200 seeded trials; a load-writer process appends under load and is killed with
 *   SIGKILL at a seeded moment; the log is reopened and every acknowledged append checked.
 *   Baseline in the same run: opening the same logs after a clean close.
 * - byte flips: 200 seeded corruptions (1-6 bits each) of a 4,000-event log with a backup;
 *   each is verified (detection), repaired, and compared with the original position by
 *   position: every event back, or its position named lost. Flips that land in bytes that
 *   carry nothing (free space, slack in a page) are proven harmless by the same comparison.
 * - drills: each of the four drills once, automatic recovery, with its scorecard figures.
 *   `--trials N` changes the trial counts; `--no-drills` skips the drills.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCrashTrial } from '../../src/node/crash-trial.ts';
import { findDrill } from '../../src/node/drill-loader.ts';
import { repairEventLog } from '../../src/node/repair.ts';
import { runFiles } from '../../src/node/run-files.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { runDrill } from '../../src/host/drills/run-drill.ts';
import { flipTrialRun, writeFlipBase } from '../support/flip-trials.ts';
import { benchOptions, median, percentile, progress, report, round, target } from './harness.ts';

const options = benchOptions({ trials: 200 }, ['no-drills']);
const trials = options.trials;
const withDrills = !options['no-drills'];
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'aura-bench-chaos-'));

async function killTrials(): Promise<Record<string, unknown> & { lost: number; recoveries: number[]; cleanOpens: number[] }> {
  const tick = progress(`${trials} kill -9 trials`);
  const recoveries: number[] = [];
  const cleanOpens: number[] = [];
  let lost = 0;
  let acknowledged = 0;
  let failedChecks = 0;
  const heads: number[] = [];
  for (let seed = 1; seed <= trials; seed++) {
    const result = await runCrashTrial({ dir: join(dir, 'kill'), seed });
    lost += result.lostAcknowledged;
    acknowledged += result.acknowledged;
    if (!result.checks.ok) failedChecks += 1;
    recoveries.push(result.recoveryMs);
    heads.push(result.recoveredHead);
    // Baseline: the same log opened again, now cleanly closed.
    const path = join(dir, 'kill', `trial-${seed}`, 'events.sqlite');
    const started = performance.now();
    new SqliteEventStore(path).close();
    cleanOpens.push(performance.now() - started);
    rmSync(join(dir, 'kill', `trial-${seed}`), { recursive: true, force: true });
    tick(seed, trials);
  }
  return { trials, acknowledgements: acknowledged, lost, recoveries, cleanOpens, failedChecks, medianEventsAtKill: median(heads) };
}

type Row = { position: number; hash: string };

function hashes(path: string): Map<number, string> {
  const db = new Database(path, { readonly: true });
  try {
    return new Map((db.prepare('SELECT position, lower(hex(hash)) AS hash FROM events').all() as Row[]).map((row) => [row.position, row.hash]));
  } finally {
    db.close();
  }
}

async function flipTrials(): Promise<Record<string, number>> {
  const base = join(dir, 'flip-base');
  await writeFlipBase(base);
  const pristine = hashes(runFiles.eventLog(base));
  const tick = progress(`${trials} byte-flip trials`);
  const counts = { trials, damaging: 0, detected: 0, harmless: 0, undetectedDamage: 0, repairedExactly: 0, reportedExactly: 0, wrongReport: 0 };
  const verifyMs: number[] = [];
  const repairMs: number[] = [];
  for (let seed = 1; seed <= trials; seed++) {
    const run = join(dir, 'flip', String(seed));
    flipTrialRun(base, run, seed);
    let started = performance.now();
    let diagnosis;
    try {
      diagnosis = verifyEventLog(runFiles.eventLog(run));
    } catch {
      diagnosis = undefined;
    }
    verifyMs.push(performance.now() - started);
    const detected = diagnosis === undefined || !diagnosis.ok;
    started = performance.now();
    const repair = await repairEventLog(runFiles.eventLog(run), { backupsDir: runFiles.backups(run), headRecordPath: runFiles.headRecord(run), nowMs: seed, ...(diagnosis === undefined ? {} : { diagnosis }) });
    if (detected) repairMs.push(performance.now() - started);
    const after = hashes(runFiles.eventLog(run));
    const named = new Set(repair.lostPositions);
    let unnamed = 0;
    for (const [position, hash] of pristine) if (after.get(position) !== hash && !named.has(position)) unnamed += 1;
    for (const position of after.keys()) if (!pristine.has(position)) unnamed += 1;
    if (detected) {
      counts.damaging += 1;
      counts.detected += 1;
      if (unnamed > 0) counts.wrongReport += 1;
      else if (named.size === 0) counts.repairedExactly += 1;
      else counts.reportedExactly += 1;
    } else if (unnamed === 0) {
      counts.harmless += 1;
    } else {
      counts.damaging += 1;
      counts.undetectedDamage += 1;
    }
    rmSync(run, { recursive: true, force: true });
    tick(seed, trials);
  }
  return { ...counts, medianVerifyMs: round(median(verifyMs), 1), medianRepairMs: round(median(repairMs), 1) };
}

async function drills(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of ['complete-failure', 'database-corruption', 'network-partition', 'performance-degradation']) {
    const tick = progress(`drill ${name}`);
    const loaded = findDrill(join(root, 'scenarios', 'drills'), name);
    const drillReport = await runDrill(loaded, { dir: join(dir, 'drills', name), scenariosDir: join(root, 'scenarios'), onProgress: (_stage, fraction) => tick(Math.round(fraction * 100), 100) });
    out[name] = { passed: drillReport.scorecard.passed, score: drillReport.scorecard.score, measurements: drillReport.scorecard.measurements };
  }
  return out;
}

async function main(): Promise<void> {
  try {
    const kill = await killTrials();
    const flips = await flipTrials();
    const drillResults = withDrills ? await drills() : {};
    const sortedRecoveries = [...kill.recoveries].sort((a, b) => a - b);
    const damaging = flips.damaging ?? 0;
    report(
      'chaos',
      {
        parameters: { trials, withDrills },
        results: {
          killTrials: { ...kill, recoveries: undefined, cleanOpens: undefined, medianRecoveryMs: round(median(kill.recoveries), 1), p95RecoveryMs: round(percentile(sortedRecoveries, 0.95), 1), baselineMedianCleanOpenMs: round(median(kill.cleanOpens), 1) },
          flipTrials: flips,
          drills: drillResults,
        },
      },
      [
        target('acknowledged events lost in kill -9 trials', kill.lost, '<=', 0, 'events'),
        target('damaging byte flips detected', damaging === 0 ? 100 : round(((flips.detected ?? 0) / damaging) * 100, 1), '>=', 100, '%'),
        target('detected flips repaired or reported exactly', (flips.detected ?? 0) === 0 ? 100 : round((((flips.repairedExactly ?? 0) + (flips.reportedExactly ?? 0)) / (flips.detected ?? 1)) * 100, 1), '>=', 100, '%'),
        ...Object.entries(drillResults).map(([name, value]) => target(`drill ${name}: lab targets met`, (value as { passed: boolean }).passed ? 1 : 0, '>=', 1, 'passed')),
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
