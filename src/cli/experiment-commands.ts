/**
 * `aura-lab experiment run|export|import`: chaos experiments on a scenario's virtual timeline,
 * and their Chaos Toolkit form. `run` exits 0 when the hypothesis held, 1 when it deviated, the
 * method aborted or the steady state did not hold before it, 2 on unusable input; `import`
 * exits 1 when anything did not map.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { exportChaosToolkit, importChaosToolkit } from '../core/chaos/chaostoolkit.ts';
import type { JournalEntry, ProbeResult } from '../core/chaos/experiment.ts';
import { AuraError, formatIssue } from '../core/kernel/errors.ts';
import { formatDurationUs } from '../core/sim/duration.ts';
import { parseExperimentText, runExperimentFile, type ExperimentRunReport } from '../node/chaos-experiment.ts';
import { writeFileAtomic } from '../node/files.ts';
import { fileStamp } from '../node/run-files.ts';
import { displayPath } from '../node/scenario-loader.ts';
import { CliError, dataDir, scenariosDir } from './context.ts';

export const experimentUsage = `  aura-lab experiment run <file> [--seed N] [--out DIR] [--json]
      Run a chaos experiment (steady-state hypothesis, faults on the virtual timeline,
      rollbacks) on its scenario; writes DIR (a new run under AURA_LAB_HOME/runs by
      default): the run's log, manifest and journal.json. Exit 0 the hypothesis held,
      1 deviated, aborted or failed, 2 unusable input.
  aura-lab experiment export <file>
      Print the experiment as a Chaos Toolkit experiment (JSON).
  aura-lab experiment import <ctk.json> [--out FILE]
      Map a Chaos Toolkit experiment onto an AURA Lab one (YAML, or JSON for FILE.json);
      every part that does not map is named by JSON pointer. Exit 1 if anything did not map.`;

function parseSeed(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new CliError(`--seed: expected a non-negative integer, got ${JSON.stringify(value)}`, 2);
  return Number(value);
}

function one(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) throw new CliError(`experiment ${command}: expected one ${what}; see aura-lab --help`, 2);
  return positionals[0];
}

/** Every issue of a validation error on stderr, one line each; exit 2. */
function reportInput(error: unknown): number {
  if (!(error instanceof AuraError)) throw error;
  const lines = error.issues.length > 0 ? error.issues.map(formatIssue) : [error.message];
  process.stderr.write(`${lines.join('\n')}\n`);
  return 2;
}

export function experimentCommand(argv: string[]): number {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'run': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false } } });
      const file = one(positionals, 'experiment file', 'run');
      const seed = parseSeed(values.seed);
      return runCommand(file, seed, values.out, values.json);
    }
    case 'export': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
      return exportCommand(one(positionals, 'experiment file', 'export'));
    }
    case 'import': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' } } });
      return importCommand(one(positionals, 'Chaos Toolkit experiment (JSON)', 'import'), values.out);
    }
    case undefined:
      throw new CliError('experiment: expected run, export or import; see aura-lab --help', 2);
    default:
      throw new CliError(`experiment: unknown subcommand ${JSON.stringify(sub)}; expected run, export or import`, 2);
  }
}

function runCommand(file: string, seed: number | undefined, out: string | undefined, json: boolean): number {
  const path = resolve(file);
  const stem = basename(path, extname(path));
  const outDir = resolve(out ?? join(dataDir(), 'runs', `${stem}-${fileStamp(Date.now())}`));
  let report: ExperimentRunReport;
  try {
    report = runExperimentFile(path, { outDir, scenariosDir: scenariosDir(), ...(seed === undefined ? {} : { seed }) });
  } catch (error) {
    if (error instanceof AuraError && error.code === 'conflict') throw new CliError(error.message, 2);
    return reportInput(error);
  }
  const { journal } = report;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...journal, runDir: report.runDir, journalFile: report.journalFile, wallMs: Math.round(report.wallMs) })}\n`);
  } else {
    const lines = [
      `experiment ${JSON.stringify(journal.experiment)}: ${journal.status}${journal.reason === undefined ? '' : ` (${journal.reason})`}`,
      `  scenario    ${journal.scenario}, seed ${journal.seed}, ${formatDurationUs(journal.durationUs)} of virtual time, warm-up ${formatDurationUs(journal.warmupUs)}`,
      '  before      ' + probeLine(journal.steadyStateBefore),
      '  after       ' + (journal.steadyStateAfter.length === 0 ? '(not checked)' : probeLine(journal.steadyStateAfter)),
      ...journal.run.filter((entry) => entry.kind !== 'probe').map((entry) => `  ${formatDurationUs(entry.atUs).padEnd(10)}  ${describe(entry)}`),
      `  probes      ${journal.run.filter((entry) => entry.kind === 'probe' && entry.phase === 'method').length} checks during the method, ${journal.run.filter((entry) => entry.kind === 'probe' && entry.phase === 'method' && !entry.ok).length} out of tolerance`,
      `  rollbacks   ${journal.rollbacksRun ? 'run' : 'not run'}`,
      `  events      ${journal.events.toLocaleString('en')}${journal.log === null ? '' : `, head hash ${journal.log.headHash}`}`,
      `  wall time   ${(report.wallMs / 1000).toFixed(2)} s`,
      ...(report.runDir === undefined ? [] : [`  written to  ${displayPath(report.runDir)} (journal.json, events.sqlite, manifest.json)`]),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return journal.status === 'completed' ? 0 : 1;
}

function probeLine(results: readonly ProbeResult[]): string {
  return results.map((result) => `${result.probe} ${round(result.value)} ${result.ok ? 'ok' : `OUT of [${result.tolerance.min ?? '-inf'}, ${result.tolerance.max ?? 'inf'}]`}`).join(', ');
}

function describe(entry: JournalEntry): string {
  switch (entry.kind) {
    case 'fault':
      return `fault ${entry.faultId} ${entry.phase}${entry.factor === undefined ? '' : ` (x${round(entry.factor)})`}`;
    case 'rollback':
      return `rollback ${String(entry.action.kind)}${entry.faultId === undefined ? '' : ` ${entry.faultId}`}`;
    case 'abort':
      return `abort: ${entry.probe} out of tolerance ${entry.failures} checks in a row`;
    case 'probe':
      return `probe ${entry.probe} ${round(entry.value)}`;
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function exportCommand(file: string): number {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`${file}: no such experiment file`, 2);
  }
  try {
    const experiment = parseExperimentText(text, displayPath(path));
    process.stdout.write(`${JSON.stringify(exportChaosToolkit(experiment), null, 2)}\n`);
    return 0;
  } catch (error) {
    return reportInput(error);
  }
}

function importCommand(file: string, out: string | undefined): number {
  const path = resolve(file);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(error as Error).message})`}`, 2);
  }
  // Unusable input, like a file that is not JSON: nothing in it could map.
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CliError(`${file}: not a Chaos Toolkit experiment (a JSON object), but ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}`, 2);
  }
  const result = importChaosToolkit(json);
  const asJson = out !== undefined && extname(out).toLowerCase() === '.json';
  const text = asJson ? `${JSON.stringify(result.document, null, 2)}\n` : stringify(result.document, { lineWidth: 0 });
  if (out === undefined) process.stdout.write(text);
  else {
    const target = resolve(out);
    if (existsSync(target)) throw new CliError(`${displayPath(target)}: already exists; an import never overwrites a file`, 2);
    writeFileAtomic(target, text);
    process.stderr.write(`written to ${displayPath(target)}\n`);
  }
  for (const item of result.unmapped) process.stderr.write(`unmapped ${item.path || '(root)'}: ${item.reason}\n`);
  for (const issue of result.issues) process.stderr.write(`incomplete: ${formatIssue(issue)}\n`);
  return result.unmapped.length > 0 || result.issues.length > 0 ? 1 : 0;
}
