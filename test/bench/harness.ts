/** Shared pieces of the benchmarks: machine description, medians, percentiles, progress, output. */
import { cpus, totalmem } from 'node:os';
import Database from 'better-sqlite3';
import { parseArgs } from 'node:util';

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
  /** What the figure means on this machine, printed under it (an absolute target that the machine's own baseline sets out of reach, say). */
  readonly note?: string;
}

export function target(name: string, measured: number, comparison: '>=' | '<=', targetValue: number, unit: string, note?: string): Target & { met: boolean } {
  return { name, measured, target: targetValue, comparison, unit, ...(note === undefined ? {} : { note }), met: comparison === '>=' ? measured >= targetValue : measured <= targetValue };
}

export function report(area: string, body: Record<string, unknown>, targets: (Target & { met: boolean })[]): void {
  const out = { area, machine: machine(), ...body, targets, allTargetsMet: targets.every((item) => item.met) };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  for (const item of targets) process.stderr.write(`${item.met ? 'MET ' : 'MISS'} ${item.name}: ${item.measured} ${item.unit} (target ${item.comparison} ${item.target})\n${item.note === undefined ? '' : `     ${item.note}\n`}`);
}

/**
 * A benchmark's options: whole-number counts (`--events 300000` or `--events=300000`; the given
 * fallback when absent) and flags (`--no-drills`). An unknown option, or a count that is not a
 * whole number >= 1, ends the benchmark with exit 2 and a message naming it, before anything runs.
 */
export function benchOptions<C extends string, F extends string = never>(counts: Record<C, number>, flags: readonly F[] = []): Record<C, number> & Record<F, boolean> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of Object.keys(counts)) options[name] = { type: 'string' };
  for (const name of flags) options[name] = { type: 'boolean' };
  const refuse = (message: string): never => {
    process.stderr.write(`npm run bench: ${message}\n`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    values = parseArgs({ args: process.argv.slice(2), options, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    refuse((error as Error).message.split('\n')[0] as string);
  }
  const result: Record<string, number | boolean> = {};
  for (const [name, fallback] of Object.entries(counts) as [string, number][]) {
    const text = values[name];
    if (text === undefined) result[name] = fallback;
    else if (typeof text === 'string' && /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) >= 1) result[name] = Number(text);
    else refuse(`--${name} takes a whole number >= 1, not ${JSON.stringify(text)}`);
  }
  for (const name of flags) result[name] = values[name] === true;
  return result as Record<C, number> & Record<F, boolean>;
}
