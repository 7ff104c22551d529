/** `aura-lab replay`, `diff` and `schema`: reproducibility checks and the scenario format. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadExperiment, runSweep, type SweepReport } from '../node/sweep.ts';
import { bundleExtension, bundleRunId, exportRun, importRun, type ExportResult, type ImportResult } from '../node/run-bundle.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { scenarioSchema } from '../core/sim/scenario.ts';
import { formatDurationUs } from '../core/sim/duration.ts';
import { replayRun, type EventSide, type ReplayReport } from '../node/replay.ts';
import { diffRuns, type DiffSide, type RunDiff, type RunMetrics } from '../node/run-diff.ts';
import { runFiles } from '../node/run-files.ts';
import { displayPath } from '../node/scenario-loader.ts';
import { CliError, dataDir } from './context.ts';
import { ProgressBar } from './progress.ts';
import { locate } from './store-commands.ts';

function runDir(target: string): string {
  const location = locate(target);
  if (!existsSync(location.eventLog)) throw new CliError(`${displayPath(location.eventLog)}: the run has no event log`, 2);
  if (!existsSync(runFiles.manifest(location.runDir))) throw new CliError(`${displayPath(location.runDir)}: the run has no manifest.json`, 2);
  return location.runDir;
}

function asCliError(error: unknown): never {
  if (error instanceof AuraError) throw new CliError(error.message, 2);
  throw error;
}

/** Exit 0 identical, 1 diverged, 2 unusable input. */
export function replayCommand(target: string, json: boolean): number {
  const dir = runDir(target);
  const bar = new ProgressBar(`replay ${displayPath(dir)}`);
  let report: ReplayReport;
  try {
    report = replayRun(dir, { onProgress: (checked, total) => bar.update(total > 0 ? checked / total : 1, `${checked.toLocaleString('en')} events`) });
  } catch (error) {
    bar.done();
    asCliError(error);
  }
  bar.done();
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (report.identical) {
    process.stdout.write(
      `identical: ${report.events.toLocaleString('en')} events re-executed from the manifest, ${report.checkpointsChecked} checkpoints matched in ${(report.wallMs / 1000).toFixed(2)} s\n  head ${report.events} ${report.headHash}\n`,
    );
  } else {
    const divergence = report.divergence;
    const lines = [`diverged at position ${divergence?.position ?? '?'}: ${divergence?.detail ?? ''}`];
    if (divergence?.expected !== undefined || divergence?.recorded !== undefined) {
      lines.push(...sideBySide('re-executed', divergence.expected, 'recorded', divergence.recorded));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.identical ? 0 : 1;
}

type Side = Pick<EventSide, 'position' | 'stream' | 'version' | 'type' | 'virtualTimeUs' | 'payload'>;

function sideBySide(leftName: string, left: Side | null | undefined, rightName: string, right: Side | null | undefined): string[] {
  const rows: [string, (side: Side) => string][] = [
    ['stream', (side) => `${side.stream} v${side.version}`],
    ['type', (side) => side.type],
    ['virtual time', (side) => formatDurationUs(side.virtualTimeUs)],
    ['payload', (side) => side.payload],
  ];
  const lines = [`  ${''.padEnd(13)}${leftName.padEnd(44)}${rightName}`];
  for (const [name, value] of rows) {
    const a = left == null ? '(nothing)' : value(left);
    const b = right == null ? '(nothing)' : value(right);
    lines.push(`  ${name.padEnd(13)}${(a.length > 42 ? `${a.slice(0, 41)}…` : a).padEnd(44)}${b.length > 60 ? `${b.slice(0, 59)}…` : b}${a === b ? '' : '   <'}`);
  }
  return lines;
}

/** Exit 0 identical logs, 1 different, 2 unusable input. */
export function diffCommand(targetA: string, targetB: string, json: boolean): number {
  const a = runDir(targetA);
  const b = runDir(targetB);
  let diff: RunDiff;
  try {
    diff = diffRuns(a, b);
  } catch (error) {
    asCliError(error);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(diff)}\n`);
    return diff.identical ? 0 : 1;
  }
  const lines: string[] = [];
  if (diff.identical) lines.push(`identical: both logs hold the same ${diff.sharedPrefix.toLocaleString('en')} events`);
  else {
    lines.push(`first divergence at position ${diff.firstDivergence?.position ?? '?'} (positions 1..${diff.sharedPrefix} are the same)`);
    lines.push(...sideBySide('A', diff.firstDivergence?.a as DiffSide | null, 'B', diff.firstDivergence?.b as DiffSide | null));
  }
  lines.push('', ...metricsTable(diff.a, diff.b));
  process.stdout.write(`${lines.join('\n')}\n`);
  return diff.identical ? 0 : 1;
}

function metricsTable(a: RunMetrics, b: RunMetrics): string[] {
  const percent = (value: number | null): string => (value === null ? '-' : `${(value * 100).toFixed(3)}%`);
  const rows: [string, string, string][] = [
    ['run', a.runId, b.runId],
    ['scenario, seed', `${a.scenario}, ${a.seed}`, `${b.scenario}, ${b.seed}`],
    ['forked from', a.forkOf === null ? '-' : `${a.forkOf.runId} at ${a.forkOf.at}`, b.forkOf === null ? '-' : `${b.forkOf.runId} at ${b.forkOf.at}`],
    ['events', a.events.toLocaleString('en'), b.events.toLocaleString('en')],
    ['virtual time', formatDurationUs(a.virtualDurationUs), formatDurationUs(b.virtualDurationUs)],
    ['events / virtual s', String(a.eventsPerVirtualSecond), String(b.eventsPerVirtualSecond)],
    ['operator actions', String(a.actions), String(b.actions)],
    ['requests', String(a.requests.count), String(b.requests.count)],
    ['availability', percent(a.requests.availability), percent(b.requests.availability)],
    ['request p95 (ms)', String(a.requests.p95LatencyMs ?? '-'), String(b.requests.p95LatencyMs ?? '-')],
    ['request p99 (ms)', String(a.requests.p99LatencyMs ?? '-'), String(b.requests.p99LatencyMs ?? '-')],
  ];
  for (const type of [...new Set([...Object.keys(a.byType), ...Object.keys(b.byType)])].sort()) {
    rows.push([`  ${type}`, String(a.byType[type] ?? 0), String(b.byType[type] ?? 0)]);
  }
  return [`${'metric'.padEnd(22)}${'A'.padEnd(48)}B`, ...rows.map(([name, left, right]) => `${name.padEnd(22)}${left.padEnd(48)}${right}${left === right ? '' : '   <'}`)];
}

/** The scenario format as JSON Schema (draft 2020-12), for editors. */
export function schemaCommand(): number {
  const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'https://aura-lab.local/scenario.schema.json', title: 'AURA Lab scenario', ...scenarioSchema.jsonSchema() };
  process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
  return 0;
}

/** `aura-lab export <run> [--out FILE]`: the run as one file. */
export function exportCommand(target: string, out: string | undefined, json: boolean): number {
  const dir = runDir(target);
  const file = resolve(out ?? `${basename(dir)}${bundleExtension}`);
  let result: ExportResult;
  try {
    result = exportRun(dir, file);
  } catch (error) {
    asCliError(error);
  }
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`exported ${result.runId}: ${result.events.toLocaleString('en')} events, ${(result.bytes / 1e6).toFixed(1)} MB\n  written to ${displayPath(result.file)}\n`);
  return 0;
}

/** `aura-lab import <file> [--out DIR]`: a bundle back as a run directory, verified first. */
export async function importCommand(file: string, out: string | undefined, json: boolean): Promise<number> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`${file}: no such file`, 2);
  const bar = new ProgressBar(`import ${displayPath(path)}`);
  let result: ImportResult;
  try {
    const runId = bundleRunId(path);
    const dir = resolve(out ?? join(dataDir(), 'runs', runId));
    result = await importRun(path, dir, (checked, total) => bar.update(total > 0 ? checked / total : 1, `${checked.toLocaleString('en')} events verified`));
  } catch (error) {
    bar.done();
    if (error instanceof AuraError && error.code === 'damaged') throw new CliError(error.message, 1);
    asCliError(error);
  }
  bar.done();
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`imported ${result.runId}: ${result.events.toLocaleString('en')} events, hash chain verified\n  head ${result.headHash}\n  written to ${displayPath(result.runDir)}\n`);
  return 0;
}

/** `aura-lab sweep <experiment> [--out DIR] [--threads N]`: exit 0 complete, 130 stopped, 2 bad input. */
export async function sweepCommand(file: string, out: string | undefined, threads: number | undefined, json: boolean): Promise<number> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`${file}: no such experiment file`, 2);
  const text = readFileSync(path, 'utf8');
  let name: string;
  try {
    name = loadExperiment(text, displayPath(path)).name;
  } catch (error) {
    asCliError(error);
  }
  const outDir = resolve(out ?? join(dataDir(), 'sweeps', name));
  const bar = new ProgressBar(`sweep ${name}`);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let report: SweepReport;
  try {
    report = await runSweep(text, displayPath(path), { outDir, onProgress: (done, total) => bar.update(total > 0 ? done / total : 1, `${done.toLocaleString('en')} / ${total.toLocaleString('en')} debates`), signal: stop.signal, ...(threads === undefined ? {} : { threads }) });
  } catch (error) {
    bar.done();
    asCliError(error);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  bar.done();
  if (json) {
    const { summaries, ...rest } = report;
    process.stdout.write(`${JSON.stringify({ ...rest, cells: summaries.length })}\n`);
  } else if (report.complete) {
    process.stdout.write(`sweep ${report.name}: ${report.debates.toLocaleString('en')} debates (${report.played.toLocaleString('en')} played now) in ${(report.wallMs / 1000).toFixed(1)} s\n  results: ${displayPath(join(outDir, 'results.csv'))} and results.json\n`);
  } else {
    process.stdout.write(`sweep ${report.name} stopped at ${report.debates.toLocaleString('en')} of ${report.total.toLocaleString('en')} debates; run the same command to resume\n`);
  }
  return report.complete ? 0 : 130;
}
