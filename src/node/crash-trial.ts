/**
 * Kill -9 trials: a load writer (a real child process) appends seeded batches to a real log
 * and reports each commit on stdout (`ack <position> <hash>`), written synchronously after the
 * commit returns, so a line on stdout is an acknowledgement. At a seeded moment the trial sends
 * SIGKILL, reopens the log (SQLite's WAL recovery, the store's tail check), and checks that
 * every acknowledged append is there with the hash it was acknowledged with, and that the chain
 * verifies. The writer is replaceable, so a test can prove the check catches a store that
 * drops an acknowledged event.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Acknowledged, CheckReport } from '../core/chaos/checkers.ts';
import { createRandom } from '../core/kernel/random.ts';
import { checkRunLog } from './chaos-checks.ts';
import { workerEntry } from './runtime.ts';
import { seededBatch } from './seeded-load.ts';
import { SqliteEventStore } from './sqlite-event-store.ts';

export interface LoadWriterConfig {
  readonly path: string;
  readonly headRecordPath?: string;
  readonly seed: number;
  /** Events per commit (default 50). */
  readonly batch?: number;
  /** Stop after this many events (default: never; the trial kills the writer). */
  readonly maxEvents?: number;
}

/** The writer's loop (the body of the load-writer process). `open` lets a test substitute a store. */
export function runLoadWriter(config: LoadWriterConfig, open: (config: LoadWriterConfig) => Pick<SqliteEventStore, 'appendBatch' | 'headPosition' | 'headHash' | 'closeFinished'> = defaultOpen): void {
  const store = open(config);
  const batch = config.batch ?? 50;
  writeSync(1, `ready ${store.headPosition()}\n`);
  for (let index = 0; config.maxEvents === undefined || index * batch < config.maxEvents; index++) {
    store.appendBatch(seededBatch(config.seed, index, batch));
    writeSync(1, `ack ${store.headPosition()} ${store.headHash()}\n`);
  }
  store.closeFinished();
}

function defaultOpen(config: LoadWriterConfig): SqliteEventStore {
  return new SqliteEventStore(config.path, { ...(config.headRecordPath === undefined ? {} : { headRecordPath: config.headRecordPath }), backgroundCheckpoints: true });
}

export interface CrashTrialOptions {
  readonly dir: string;
  readonly seed: number;
  /** The writer is killed between these many ms after it is ready (seeded). */
  readonly killAfterMs?: readonly [number, number];
  readonly batch?: number;
  /** Another writer entry (a test's faulty store); default the lab's load-writer. */
  readonly writer?: { readonly file: string; readonly execArgv: readonly string[] };
}

export interface CrashTrialResult {
  readonly seed: number;
  readonly killAfterMs: number;
  readonly acknowledged: number;
  readonly acknowledgedHead: number;
  readonly recoveredHead: number;
  /** Reopening the log after the kill (WAL recovery and the tail check). */
  readonly recoveryMs: number;
  /** Why the log could not be reopened for writing, if it could not. */
  readonly recoveryError: string | null;
  readonly lostAcknowledged: number;
  readonly checks: CheckReport;
}

/** One trial: start the writer, kill -9 it at a seeded moment, recover, check. */
export async function runCrashTrial(options: CrashTrialOptions): Promise<CrashTrialResult> {
  const dir = join(options.dir, `trial-${options.seed}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'events.sqlite');
  const random = createRandom(options.seed).split('crash-trial');
  const [low, high] = options.killAfterMs ?? [20, 400];
  const killAfterMs = random.int(low, high);
  const config: LoadWriterConfig = { path, headRecordPath: join(dir, 'head.json'), seed: options.seed, batch: options.batch ?? random.int(1, 200) };
  const entry = options.writer ?? (() => {
    const built = workerEntry('load-writer');
    return { file: fileURLToPath(built.url), execArgv: built.execArgv };
  })();
  const acknowledged: Acknowledged[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...entry.execArgv, entry.file, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('ready') && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        const match = /^ack (\d+) ([0-9a-f]{64})$/.exec(line);
        if (match !== null) acknowledged.push({ position: Number(match[1]), hash: match[2] as string });
        newline = buffered.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`load writer exited before the kill (${signal ?? _code}): ${stderr.trim().slice(0, 500)}`));
    });
  });
  const started = performance.now();
  let recoveredHead = 0;
  let recoveryError: string | null = null;
  try {
    const store = new SqliteEventStore(path);
    recoveredHead = store.headPosition();
    store.close();
  } catch (error) {
    // The store refused to open (its tail check found damage): a finding, and the checks still run.
    recoveryError = (error as Error).message;
  }
  const recoveryMs = performance.now() - started;
  const { report } = await checkRunLog(path, { acknowledged, projections: false });
  const lost = (report.anomalies['lost-acknowledged']?.count ?? 0) + (report.anomalies['unnamed-loss']?.count ?? 0) + (report.anomalies['altered-acknowledged']?.count ?? 0);
  return {
    seed: options.seed,
    killAfterMs,
    acknowledged: acknowledged.length,
    acknowledgedHead: acknowledged.at(-1)?.position ?? 0,
    recoveredHead,
    recoveryMs,
    recoveryError,
    lostAcknowledged: lost,
    checks: report,
  };
}
