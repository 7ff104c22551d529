/**
 * What every drill runner gets and returns. A runner strikes real processes and files, times
 * detection and recovery on the wall clock, and runs the checkers afterwards. In trainer mode
 * (a game day) nothing recovers by itself: the runner waits for the trainee's runbook actions.
 */
import type { CheckReport } from '../../core/chaos/checkers.ts';
import type { Measurements, RunbookAction } from '../../core/chaos/drill.ts';
import { AuraError } from '../../core/kernel/errors.ts';

export type DrillMode = 'auto' | 'trainer';

export type TimelineKind = 'fault' | 'symptom' | 'alert' | 'action' | 'detected' | 'recovered' | 'check' | 'hint' | 'note';

export interface TimelineEntry {
  /** Milliseconds since the drill started. */
  readonly atMs: number;
  readonly kind: TimelineKind;
  readonly text: string;
  /** Not shown to a trainee until the debrief (the faults themselves, in trainer mode). */
  readonly hidden?: boolean;
}

/** The trainee's side of a game day: the runner waits here for a runbook action. */
export interface Trainee {
  waitForAction(allowed: readonly RunbookAction[]): Promise<RunbookAction>;
}

export interface DrillContext {
  readonly dir: string;
  readonly seed: number;
  readonly mode: DrillMode;
  readonly scenariosDir: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Milliseconds since the drill started. */
  now(): number;
  record(kind: TimelineKind, text: string, hidden?: boolean): void;
  progress(stage: string, fraction: number): void;
  readonly trainee: Trainee | undefined;
}

export interface DrillOutcome {
  readonly measurements: Measurements;
  readonly checks: CheckReport;
  readonly details: Readonly<Record<string, unknown>>;
}

/** A runner parameter, with a default, checked: errors name `params.<name>`. */
export function numberParam(context: DrillContext, name: string, fallback: number, min: number, max: number): number {
  const value = context.params[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new AuraError('validation', `params.${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(value)}`, [{ path: ['params', name], message: `expected a number in [${min}, ${max}]` }]);
  }
  return value;
}

export function stringParam(context: DrillContext, name: string, fallback: string): string {
  const value = context.params[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) throw new AuraError('validation', `params.${name}: expected a non-empty string`, [{ path: ['params', name], message: 'expected a non-empty string' }]);
  return value;
}

/** Waits for the trainee, records the action, and returns it with its time. */
export async function awaitTrainee(context: DrillContext, allowed: readonly RunbookAction[]): Promise<{ action: RunbookAction; atMs: number }> {
  if (context.trainee === undefined) throw new AuraError('internal', 'trainer mode without a trainee');
  for (;;) {
    const action = await context.trainee.waitForAction(allowed);
    const atMs = context.now();
    context.record('action', `trainee: ${action}`);
    if (allowed.includes(action)) return { action, atMs };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
