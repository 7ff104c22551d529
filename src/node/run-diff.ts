/**
 * Diff of two runs: where their logs first diverge and their metrics side by side. The chain
 * hash at a position covers the whole prefix, so equal hashes at p mean equal logs up to p and
 * the first divergence is found by binary search in O(log n) lookups.
 */
import type Database from 'better-sqlite3';
import { readRunManifest } from './run-manifest.ts';
import { runFiles } from './run-files.ts';
import { EventReader } from './event-reader.ts';
import { framingOfRow } from './sqlite-event-store.ts';
import { framingSide } from './replay.ts';
import { openDatabase } from './sqlite-schema.ts';

export interface RunMetrics {
  readonly runId: string;
  readonly scenario: string;
  readonly seed: number;
  readonly events: number;
  readonly headHash: string;
  readonly virtualDurationUs: number;
  readonly eventsPerVirtualSecond: number;
  readonly byType: Record<string, number>;
  /** Requests (RequestCompleted): count, failed (ok false), availability, latency percentiles from the payloads. */
  readonly requests: { readonly count: number; readonly failed: number; readonly availability: number | null; readonly p95LatencyMs: number | null; readonly p99LatencyMs: number | null };
  readonly actions: number;
  readonly forkOf: { readonly runId: string; readonly at: number } | null;
}

export interface DiffSide {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly type: string;
  readonly virtualTimeUs: number;
  readonly payload: string;
}

export interface RunDiff {
  readonly identical: boolean;
  /** Positions 1..sharedPrefix are the same in both logs. */
  readonly sharedPrefix: number;
  readonly firstDivergence: { readonly position: number; readonly a: DiffSide | null; readonly b: DiffSide | null } | null;
  readonly a: RunMetrics;
  readonly b: RunMetrics;
}

interface OpenRun {
  readonly dir: string;
  readonly db: Database.Database;
  readonly reader: EventReader;
  readonly head: number;
  readonly hashAt: Database.Statement<[number], { hash: string }>;
}

function open(dir: string): OpenRun {
  const db = openDatabase(runFiles.eventLog(dir), { readonly: true });
  return {
    dir,
    db,
    reader: new EventReader(db),
    head: (db.prepare('SELECT coalesce(max(position), 0) AS head FROM events').get() as { head: number }).head,
    hashAt: db.prepare('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?'),
  };
}

function side(run: OpenRun, position: number): DiffSide | null {
  const row = run.reader.rawAt(position);
  if (row === undefined) return null;
  const { id: _id, schemaVersion: _schemaVersion, ...fields } = framingSide(framingOfRow(run.reader, row));
  return fields;
}

function percentile(sorted: number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? null;
}

function metrics(run: OpenRun): RunMetrics {
  const manifest = readRunManifest(run.dir);
  const byType: Record<string, number> = {};
  for (const row of run.db.prepare('SELECT t.name AS name, count(*) AS n FROM events e JOIN event_types t ON t.type_id = e.type_id GROUP BY e.type_id ORDER BY t.name').all() as { name: string; n: number }[]) byType[row.name] = row.n;
  const duration = (run.db.prepare('SELECT coalesce(max(virtual_time_us), 0) AS d FROM events').get() as { d: number }).d;
  const requests = run.db
    .prepare("SELECT json_extract(e.payload, '$.ok') AS ok, json_extract(e.payload, '$.latencyMs') AS latency FROM events e JOIN event_types t ON t.type_id = e.type_id WHERE t.name = 'RequestCompleted'")
    .raw(true)
    .all() as [unknown, unknown][];
  let failed = 0;
  const latencies: number[] = [];
  for (const [ok, latency] of requests) {
    if (ok === 0 || ok === 'false') failed += 1;
    if (typeof latency === 'number') latencies.push(latency);
  }
  latencies.sort((x, y) => x - y);
  const hash = run.head === 0 ? '0'.repeat(64) : (run.hashAt.get(run.head)?.hash ?? '');
  return {
    runId: manifest.runId,
    scenario: manifest.scenario.name,
    seed: manifest.seed,
    events: run.head,
    headHash: hash,
    virtualDurationUs: duration,
    eventsPerVirtualSecond: duration > 0 ? Math.round((run.head / duration) * 1_000_000 * 10) / 10 : 0,
    byType,
    requests: {
      count: requests.length,
      failed,
      availability: requests.length === 0 ? null : (requests.length - failed) / requests.length,
      p95LatencyMs: percentile(latencies, 0.95),
      p99LatencyMs: percentile(latencies, 0.99),
    },
    actions: manifest.actions.length,
    forkOf: manifest.forkOf === undefined ? null : { runId: manifest.forkOf.runId, at: manifest.forkOf.at },
  };
}

export function diffRuns(dirA: string, dirB: string): RunDiff {
  const a = open(dirA);
  const b = open(dirB);
  try {
    const same = (position: number): boolean => {
      const left = a.hashAt.get(position)?.hash;
      return left !== undefined && left === b.hashAt.get(position)?.hash;
    };
    // The largest p with equal hashes at p (0 if none): hashes chain, so equality is a prefix.
    let low = 0;
    let high = Math.min(a.head, b.head);
    while (low < high) {
      const middle = low + Math.ceil((high - low) / 2);
      if (same(middle)) low = middle;
      else high = middle - 1;
    }
    const identical = low === a.head && low === b.head;
    const position = low + 1;
    return {
      identical,
      sharedPrefix: low,
      firstDivergence: identical ? null : { position, a: side(a, position), b: side(b, position) },
      a: metrics(a),
      b: metrics(b),
    };
  } finally {
    a.db.close();
    b.db.close();
  }
}
