/** Shared pieces of the benchmarks: machine description, medians, percentiles, progress, output. */
import { cpus, totalmem } from 'node:os';
import Database from 'better-sqlite3';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly sqlite: string;
  readonly platform: string;
}

export function machine(): Machine {
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    sqlite,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function percentile(sorted: Float64Array | readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A progress line on stderr (the JSON report owns stdout). */
export function progress(label: string): (done: number, total: number) => void {
  const started = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const fraction = total > 0 ? done / total : 1;
    const elapsed = (now - started) / 1000;
    const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : 0;
    process.stderr.write(`\r${label}: ${(fraction * 100).toFixed(0).padStart(3)}%  ETA ${eta.toFixed(1)} s   `);
    if (done >= total) process.stderr.write('\n');
  };
}

export interface Target {
  readonly name: string;
  readonly measured: number;
  readonly target: number;
  readonly comparison: '>=' | '<=';
  readonly unit: string;
}

export function target(name: string, measured: number, comparison: '>=' | '<=', targetValue: number, unit: string): Target & { met: boolean } {
  return { name, measured, target: targetValue, comparison, unit, met: comparison === '>=' ? measured >= targetValue : measured <= targetValue };
}

export function report(area: string, body: Record<string, unknown>, targets: (Target & { met: boolean })[]): void {
  const out = { area, machine: machine(), ...body, targets, allTargetsMet: targets.every((item) => item.met) };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  for (const item of targets) process.stderr.write(`${item.met ? 'MET ' : 'MISS'} ${item.name}: ${item.measured} ${item.unit} (target ${item.comparison} ${item.target})\n`);
}

/**
 * A whole-number option (`--events 300000`): its value, or the fallback when it is not given. A
 * value that is not a whole number of at least `minimum` ends the benchmark with exit 2 and a
 * message naming the option, before anything runs.
 */
export function countOption(args: readonly string[], name: string, fallback: number, minimum = 1): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const text = args[at + 1];
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) {
    process.stderr.write(`npm run bench: ${name} takes a whole number >= ${minimum}, not ${text === undefined ? 'nothing' : JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}
