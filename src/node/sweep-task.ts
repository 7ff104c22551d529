import type { DebateEvent } from '../core/debate/events.ts';
import type { ReplicateResult } from '../core/debate/experiment.ts';

/** The message a sweep worker receives: debates of one experiment to play. */
export interface SweepTask {
  /** The experiment document as JSON text (the same text for every task of a sweep). */
  readonly experimentJson: string;
  readonly items: readonly { readonly cell: number; readonly replicate: number; readonly seed: number }[];
}

export interface SweepTaskResult {
  readonly results: readonly ReplicateResult[];
  readonly events: readonly (readonly DebateEvent[])[];
}
