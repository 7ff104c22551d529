/**
 * Runs a drill: dispatches to its runner, keeps the timeline, scores the measurements against
 * the drill's targets, and returns the report the CLI prints, the drill console shows and the
 * debrief is written from. Hints are released to the trainee on their schedule.
 */
import { mkdirSync } from 'node:fs';
import type { CheckReport } from '../../core/chaos/checkers.ts';
import { scoreDrill, type DrillKind, type RunbookAction, type Scorecard } from '../../core/chaos/drill.ts';
import { AuraError } from '../../core/kernel/errors.ts';
import type { LoadedDrill } from '../../node/drill-loader.ts';
import { completeFailure } from './complete-failure.ts';
import type { DrillContext, DrillMode, DrillOutcome, TimelineEntry, Trainee } from './context.ts';
import { databaseCorruption } from './database-corruption.ts';
import { networkPartition } from './network-partition.ts';
import { performanceDegradation } from './performance-degradation.ts';

const runners: Record<DrillKind, (context: DrillContext) => Promise<DrillOutcome>> = {
  'complete-failure': completeFailure,
  'database-corruption': databaseCorruption,
  'network-partition': networkPartition,
  'performance-degradation': performanceDegradation,
};

export interface DrillReport {
  readonly drill: string;
  readonly title: string;
  readonly file: string;
  readonly mode: DrillMode;
  readonly seed: number;
  readonly scorecard: Scorecard;
  readonly checks: CheckReport;
  readonly timeline: readonly TimelineEntry[];
  readonly details: Readonly<Record<string, unknown>>;
  readonly runbook: readonly RunbookAction[];
  readonly wallMs: number;
}

export interface RunDrillOptions {
  readonly dir: string;
  readonly scenariosDir: string;
  readonly seed?: number;
  readonly mode?: DrillMode;
  readonly trainee?: Trainee;
  readonly onProgress?: (stage: string, fraction: number) => void;
  readonly onTimeline?: (entry: TimelineEntry) => void;
}

export async function runDrill(loaded: LoadedDrill, options: RunDrillOptions): Promise<DrillReport> {
  const definition = loaded.definition;
  const mode = options.mode ?? 'auto';
  if (mode === 'trainer' && options.trainee === undefined) throw new AuraError('validation', 'trainer mode needs a trainee (the drill console)');
  const seed = options.seed ?? definition.seed ?? 1;
  mkdirSync(options.dir, { recursive: true });
  const started = performance.now();
  const timeline: TimelineEntry[] = [];
  const now = (): number => Math.round(performance.now() - started);
  const record = (kind: TimelineEntry['kind'], text: string, hidden?: boolean): void => {
    const entry: TimelineEntry = { atMs: now(), kind, text, ...(hidden === true ? { hidden } : {}) };
    timeline.push(entry);
    options.onTimeline?.(entry);
  };
  const hintTimers = mode === 'trainer' ? (definition.hints ?? []).map((hint) => setTimeout(() => record('hint', hint.text), hint.after)) : [];
  record('note', `${definition.title}: ${mode === 'trainer' ? 'game day (nothing recovers by itself)' : 'automatic recovery'}, seed ${seed}`);
  try {
    const outcome = await runners[definition.kind]({
      dir: options.dir,
      seed,
      mode,
      scenariosDir: options.scenariosDir,
      params: definition.params ?? {},
      now,
      record,
      progress: (stage, fraction) => options.onProgress?.(stage, fraction),
      trainee: options.trainee,
    });
    const scorecard = scoreDrill(definition, outcome.measurements, seed, mode);
    record('note', `score ${scorecard.score}: ${scorecard.passed ? 'every lab target met' : 'lab targets missed'}`);
    options.onProgress?.('done', 1);
    return { drill: definition.drill, title: definition.title, file: loaded.file, mode, seed, scorecard, checks: outcome.checks, timeline, details: outcome.details, runbook: definition.runbook, wallMs: now() };
  } finally {
    for (const timer of hintTimers) clearTimeout(timer);
  }
}
