/**
 * Sweeps: an experiment's debates played on a worker pool, every debate's events recorded in the
 * sweep's own event log, every result kept beside them, and the summary written as CSV and JSON.
 *
 * A sweep directory holds experiment.json (the experiment's text and hash), events.sqlite (the
 * debates' events and a `sweep_results` table) and, once complete, results.csv and results.json.
 * Running the same experiment into the same directory resumes it: finished debates are skipped,
 * and a debate whose events were written but whose result was not is played again (its events
 * have deterministic ids, so appending them again changes nothing). The summary is computed from
 * the results in (cell, replicate) order, so an interrupted sweep ends with the same CSV.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Piscina } from 'piscina';
import { parseExperiment, replicateSeed, resultsCsv, summariseCells, workOrder, type CellSummary, type Experiment, type ReplicateResult } from '../core/debate/experiment.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { asEventId, asStreamName } from '../core/kernel/ids.ts';
import { hashString32 } from '../core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../core/ports/event-store.ts';
import { outDirRefusal, writeFileAtomic } from './files.ts';
import { sha256Hex } from './hashing.ts';
import { workerEntry } from './runtime.ts';
import { parseYamlWith } from './scenario-loader.ts';
import { SqliteEventStore } from './sqlite-event-store.ts';
import type { SweepTask, SweepTaskResult } from './sweep-task.ts';

export interface SweepOptions {
  readonly outDir: string;
  readonly threads?: number;
  /** Debates per worker task. */
  readonly batchDebates?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops dispatching; debates in flight are finished and recorded. */
  readonly signal?: AbortSignal;
}

export interface SweepReport {
  readonly name: string;
  readonly outDir: string;
  readonly complete: boolean;
  readonly debates: number;
  readonly total: number;
  /** Debates played by this invocation (the rest were recorded before). */
  readonly played: number;
  readonly events: number;
  readonly wallMs: number;
  readonly summaries: readonly CellSummary[];
}

export function loadExperiment(text: string, sourceName: string): Experiment {
  return parseYamlWith(text, sourceName, parseExperiment, 'an experiment mapping');
}

function eventIdFor(salt: number, cell: number, replicate: number, index: number): string {
  const hex = (value: number) => (value >>> 0).toString(16).padStart(8, '0');
  return `${hex(cell)}${hex(replicate)}${hex(index)}${hex(salt)}`;
}

export async function runSweep(text: string, sourceName: string, options: SweepOptions): Promise<SweepReport> {
  const started = performance.now();
  // One parse: the document goes to the workers as JSON, the experiment stays here.
  const { document, experiment } = parseYamlWith(text, sourceName, (parsed) => ({ document: parsed, experiment: parseExperiment(parsed) }), 'an experiment mapping');
  const hash = sha256Hex(text);
  const experimentFile = join(options.outDir, 'experiment.json');
  if (existsSync(experimentFile)) {
    const recorded = JSON.parse(readFileSync(experimentFile, 'utf8')) as { sha256?: string; name?: string };
    if (recorded.sha256 !== hash) throw new AuraError('conflict', `${options.outDir} holds another experiment (${recorded.name ?? '?'}); a sweep resumes only the same experiment text`);
  } else {
    const refusal = outDirRefusal(options.outDir);
    if (refusal !== undefined) throw new AuraError('conflict', `${options.outDir}: ${refusal}${refusal.endsWith('not empty') ? ' and holds no experiment' : ''}; a sweep never writes over other files`);
  }
  mkdirSync(options.outDir, { recursive: true });
  const replicateSeeds = Array.from({ length: experiment.replicates }, (_, replicate) => replicateSeed(experiment.seed, replicate));
  if (!existsSync(experimentFile)) {
    writeFileAtomic(experimentFile, `${JSON.stringify({ format: 'aura-lab-sweep', name: experiment.name, sha256: hash, source: sourceName, text, cells: experiment.cells.length, replicates: experiment.replicates, replicateSeeds }, null, 2)}\n`);
  }
  const store = new SqliteEventStore(join(options.outDir, 'events.sqlite'), { backgroundCheckpoints: true });
  const db = store.db;
  db.exec('CREATE TABLE IF NOT EXISTS sweep_results (cell INTEGER NOT NULL, replicate INTEGER NOT NULL, seed INTEGER NOT NULL, result TEXT NOT NULL, PRIMARY KEY (cell, replicate)) STRICT');
  const saveResult = db.prepare('INSERT OR REPLACE INTO sweep_results (cell, replicate, seed, result) VALUES (?, ?, ?, ?)');
  const done = new Set((db.prepare('SELECT cell, replicate FROM sweep_results').all() as { cell: number; replicate: number }[]).map((row) => `${row.cell}/${row.replicate}`));
  const total = experiment.cells.length * experiment.replicates;
  const pending = [...workOrder(experiment)].filter((item) => !done.has(`${item.cell}/${item.replicate}`));
  const experimentJson = JSON.stringify(document);
  const salt = hashString32(hash);
  const threads = options.threads ?? 2;
  const entry = workerEntry('sweep-worker');
  const pool = new Piscina<SweepTask, SweepTaskResult>({ filename: entry.url.href, execArgv: entry.execArgv, minThreads: threads, maxThreads: threads });
  const batch = options.batchDebates ?? 100;
  let played = 0;
  let next = 0;
  options.onProgress?.(done.size, total);
  const record = (result: SweepTaskResult): void => {
    const appends: StreamAppend[] = result.results.map((item, index) => ({
      stream: asStreamName(`debate-c${item.cell}-r${item.replicate}`),
      expected: anyVersion,
      events: (result.events[index] ?? []).map((event, position) => ({
        id: asEventId(eventIdFor(salt, item.cell, item.replicate, position)),
        type: event.type,
        schemaVersion: 1,
        payload: { ...event.payload, cell: item.cell, replicate: item.replicate },
        metadata: { virtualTimeUs: item.replicate * 1_000_000 },
      })),
    }));
    store.appendBatch(appends);
    db.transaction(() => {
      for (const item of result.results) saveResult.run(item.cell, item.replicate, item.seed, JSON.stringify(item));
    })();
    played += result.results.length;
    options.onProgress?.(done.size + played, total);
  };
  try {
    // Keep every worker busy with one task queued behind it; record results as they come.
    const lane = async (): Promise<void> => {
      while (next < pending.length && options.signal?.aborted !== true) {
        const items = pending.slice(next, next + batch).map((item) => ({ ...item, seed: replicateSeeds[item.replicate] as number }));
        next += items.length;
        record(await pool.run({ experimentJson, items }));
        // A turn of the event loop between results: workers' replies arriving back to back kept
        // it in one message drain for a whole sweep, and a stop signal went unheard until the end.
        await yieldToEventLoop();
      }
    };
    await Promise.all(Array.from({ length: threads * 2 }, lane));
  } finally {
    await pool.destroy();
  }
  const results = (db.prepare('SELECT result FROM sweep_results ORDER BY cell, replicate').all() as { result: string }[]).map((row) => JSON.parse(row.result) as ReplicateResult);
  const events = store.headPosition();
  const complete = results.length === total;
  const summaries = summariseCells(experiment, results);
  store.close();
  if (complete) {
    writeFileAtomic(join(options.outDir, 'results.csv'), resultsCsv(experiment, summaries));
    writeFileAtomic(join(options.outDir, 'results.json'), `${JSON.stringify({ name: experiment.name, description: experiment.description, seed: experiment.seed, replicates: experiment.replicates, replicateSeeds, grid: experiment.grid, cells: summaries }, null, 2)}\n`);
  }
  return { name: experiment.name, outDir: options.outDir, complete, debates: results.length, total, played, events, wallMs: Math.round(performance.now() - started), summaries };
}

export interface SweepEntry {
  readonly name: string;
  readonly dir: string;
  readonly cells: number;
  readonly replicates: number;
  readonly complete: boolean;
}

/** Sweep directories under `root`, newest first; unreadable ones are left out. */
export function listSweeps(root: string): SweepEntry[] {
  if (!existsSync(root)) return [];
  const entries: (SweepEntry & { mtimeMs: number })[] = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    try {
      const experiment = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as { name: string; cells: number; replicates: number };
      entries.push({ name: experiment.name, dir, cells: experiment.cells, replicates: experiment.replicates, complete: existsSync(join(dir, 'results.json')), mtimeMs: statSync(dir).mtimeMs });
    } catch {
      // Not a sweep directory.
    }
  }
  return entries.sort((a, b) => b.mtimeMs - a.mtimeMs).map(({ mtimeMs: _mtime, ...entry }) => entry);
}

/** A completed sweep's results.json (NaN summaries, for cells without replicates, as null). */
export function readSweepResults(dir: string): { name: string; description: string; replicates: number; grid: { path: string; values: unknown[] }[]; cells: CellSummary[] } {
  const file = join(dir, 'results.json');
  if (!existsSync(file)) throw new AuraError('not_found', `no completed sweep at ${dir} (results.json is written when the sweep completes)`);
  return JSON.parse(readFileSync(file, 'utf8')) as { name: string; description: string; replicates: number; grid: { path: string; values: unknown[] }[]; cells: CellSummary[] };
}
