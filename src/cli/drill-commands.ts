/**
 * `aura-lab drill <name>`: runs one of the disaster-recovery drills in scenarios/drills for
 * real, prints its scorecard (or the whole report as JSON), writes the debrief as Markdown and
 * HTML beside the drill's files, and exits 0 only if every lab target was met.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuraError, formatIssue } from '../core/kernel/errors.ts';
import { findDrill, listDrills } from '../node/drill-loader.ts';
import { outDirRefusal } from '../node/files.ts';
import { displayPath } from '../node/scenario-loader.ts';
import { debriefHtml, debriefMarkdown, formatTarget } from '../host/drills/debrief.ts';
import { runDrill, type DrillReport } from '../host/drills/run-drill.ts';
import { CliError, dataDir, scenariosDir } from './context.ts';
import { ProgressBar } from './progress.ts';

export interface DrillCommandOptions {
  readonly name: string | undefined;
  readonly json: boolean;
  readonly seed?: number;
  readonly out?: string;
  readonly list: boolean;
}

function drillsDir(): string {
  return join(scenariosDir(), 'drills');
}

export function scorecardText(report: DrillReport): string {
  const card = report.scorecard;
  const width = Math.max(...card.targets.map((target) => target.label.length));
  const lines = [`${report.title} (${report.drill}, seed ${report.seed}): score ${card.score} / 100, ${card.passed ? 'PASSED: every lab target met' : 'FAILED: lab targets missed'}`];
  for (const target of card.targets) {
    const seed = target.seed === null ? '' : `, seed ${target.comparison} ${formatTarget(target, target.seed)}`;
    lines.push(`  ${target.metLab ? 'ok  ' : 'MISS'} ${target.label.padEnd(width)}  ${formatTarget(target).padStart(9)}   lab ${target.comparison} ${formatTarget(target, target.lab)}${seed}`);
  }
  const m = card.measurements;
  const shown = (value: number | undefined, unit: string): string => (value === undefined ? '-' : Number.isFinite(value) ? `${Math.round(value * 10) / 10}${unit}` : 'never');
  lines.push(`  time to detect ${shown(m.timeToDetectMs, ' ms')}, time to recover ${shown(m.timeToRecoverMs, ' ms')}, availability ${m.availability === undefined ? '-' : `${(m.availability * 100).toFixed(1)}%`}, p95 ${shown(m.p95Ms, ' ms')}, throughput ${shown(m.throughputPerSecond, ' events/s')}`);
  const anomalies = Object.entries(report.checks.anomalies).map(([name, count]) => `${name} ${count.count}`);
  lines.push(`  anomalies: ${anomalies.length === 0 ? 'none' : anomalies.join(', ')}; acknowledged events lost ${shown(m.lostAcknowledged, '')}`);
  return lines.join('\n');
}

export async function drillCommand(options: DrillCommandOptions): Promise<number> {
  try {
    if (options.list) {
      const drills = listDrills(drillsDir());
      if (options.json) process.stdout.write(`${JSON.stringify(drills.map((item) => ({ drill: item.definition.drill, title: item.definition.title, description: item.definition.description, file: item.file })), null, 2)}\n`);
      else for (const item of drills) process.stdout.write(`${item.definition.drill.padEnd(26)} ${item.definition.description}\n`);
      return 0;
    }
    if (options.name === undefined) throw new CliError('drill: expected a drill name (see aura-lab drill --list)', 2);
    const loaded = findDrill(drillsDir(), options.name);
    const drillsHome = join(dataDir(), 'drills');
    mkdirSync(drillsHome, { recursive: true });
    const dir = options.out === undefined ? mkdtempSync(join(drillsHome, `${loaded.definition.drill}-`)) : resolve(options.out);
    // A drill writes its runs, report and debrief there: never over another's.
    const refusal = options.out === undefined ? undefined : outDirRefusal(dir);
    if (refusal !== undefined) throw new CliError(`${displayPath(dir)}: ${refusal}; a drill never overwrites another run`, 2);
    const bar = options.json ? undefined : new ProgressBar(loaded.definition.drill);
    const report = await runDrill(loaded, {
      dir,
      scenariosDir: scenariosDir(),
      mode: 'auto',
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      onProgress: (stage, fraction) => bar?.update(fraction, stage),
    });
    bar?.done();
    writeFileSync(join(dir, 'debrief.md'), debriefMarkdown(report));
    writeFileSync(join(dir, 'debrief.html'), debriefHtml(report));
    writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify({ ...report, dir }, null, 2)}\n`);
    else process.stdout.write(`${scorecardText(report)}\n  debrief: ${join(dir, 'debrief.md')}\n`);
    return report.scorecard.passed ? 0 : 1;
  } catch (error) {
    if (error instanceof AuraError && (error.code === 'validation' || error.code === 'not_found')) {
      throw new CliError(error.issues.length > 0 && error.issues[0]?.file !== undefined ? error.issues.map(formatIssue).join('\n') : error.message, 2);
    }
    throw error;
  }
}
