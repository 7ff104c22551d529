/**
 * Telemetry tables in a run's database: wall-clock measurements (latencies) and what was derived
 * from them, kept apart from the events table so that measuring never changes what is replayed.
 */
import type Database from 'better-sqlite3';
import type { HistogramSummary } from '../core/kernel/histogram.ts';

export interface TelemetrySecondRow {
  readonly second: number;
  readonly events: number;
  readonly requests: Readonly<Record<string, { readonly total: number; readonly bad: number }>>;
  readonly latency: HistogramSummary;
}

export interface TelemetryAlertRow {
  readonly rule: string;
  readonly kind: 'threshold' | 'burn_rate';
  readonly firedAtUs: number;
  readonly resolvedAtUs: number | null;
  readonly detail: string;
  readonly logged: boolean;
}

export interface StoredTelemetry {
  readonly seconds: TelemetrySecondRow[];
  readonly alerts: TelemetryAlertRow[];
  /** Whole-run latency percentiles for the latency SLOs: percentile -> ms. */
  readonly overall: { readonly summary: HistogramSummary; readonly percentiles: Readonly<Record<string, number>> };
}

export function createTelemetryTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS telemetry_seconds (second INTEGER PRIMARY KEY, events INTEGER NOT NULL, requests TEXT NOT NULL, latency TEXT NOT NULL) STRICT;
    CREATE TABLE IF NOT EXISTS telemetry_alerts (rule TEXT NOT NULL, kind TEXT NOT NULL, fired_at_us INTEGER NOT NULL, resolved_at_us INTEGER, detail TEXT NOT NULL, logged INTEGER NOT NULL) STRICT;
    CREATE TABLE IF NOT EXISTS telemetry_summary (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  `);
}

export function writeTelemetry(db: Database.Database, telemetry: StoredTelemetry): void {
  createTelemetryTables(db);
  db.transaction(() => {
    db.exec('DELETE FROM telemetry_seconds; DELETE FROM telemetry_alerts; DELETE FROM telemetry_summary;');
    const second = db.prepare('INSERT INTO telemetry_seconds (second, events, requests, latency) VALUES (?, ?, ?, ?)');
    for (const row of telemetry.seconds) second.run(row.second, row.events, JSON.stringify(row.requests), JSON.stringify(row.latency));
    const alert = db.prepare('INSERT INTO telemetry_alerts (rule, kind, fired_at_us, resolved_at_us, detail, logged) VALUES (?, ?, ?, ?, ?, ?)');
    for (const row of telemetry.alerts) alert.run(row.rule, row.kind, row.firedAtUs, row.resolvedAtUs, row.detail, row.logged ? 1 : 0);
    db.prepare("INSERT INTO telemetry_summary (key, value) VALUES ('overall', ?)").run(JSON.stringify(telemetry.overall));
  })();
}

/** The telemetry a finished run stored; undefined when it has none (a log from an older version). */
export function readTelemetry(db: Database.Database): StoredTelemetry | undefined {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'telemetry_summary'").get() === undefined) return undefined;
  const overall = db.prepare<[], { value: string }>("SELECT value FROM telemetry_summary WHERE key = 'overall'").get();
  if (overall === undefined) return undefined;
  return {
    seconds: (db.prepare('SELECT second, events, requests, latency FROM telemetry_seconds ORDER BY second').all() as { second: number; events: number; requests: string; latency: string }[]).map((row) => ({
      second: row.second,
      events: row.events,
      requests: JSON.parse(row.requests) as TelemetrySecondRow['requests'],
      latency: JSON.parse(row.latency) as HistogramSummary,
    })),
    alerts: (db.prepare('SELECT rule, kind, fired_at_us, resolved_at_us, detail, logged FROM telemetry_alerts ORDER BY fired_at_us, rule').all() as { rule: string; kind: string; fired_at_us: number; resolved_at_us: number | null; detail: string; logged: number }[]).map((row) => ({
      rule: row.rule,
      kind: row.kind === 'burn_rate' ? 'burn_rate' : 'threshold',
      firedAtUs: row.fired_at_us,
      resolvedAtUs: row.resolved_at_us,
      detail: row.detail,
      logged: row.logged === 1,
    })),
    overall: JSON.parse(overall.value) as StoredTelemetry['overall'],
  };
}
