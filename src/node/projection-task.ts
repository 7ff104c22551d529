import type { ParkedEvent } from '../core/projections/projection.ts';

/** The message a projection worker receives: fold one shard of one projection over a range. */
export interface ProjectionTask {
  readonly dbPath: string;
  readonly projection: string;
  readonly shard: number;
  /** The shard's state to continue from, as canonical JSON. */
  readonly stateJson: string;
  /** First position to fold (inclusive). */
  readonly fromPosition: number;
  /** Last position to fold (inclusive). */
  readonly toPosition: number;
  /** Positions an operator chose to skip (a halted projection resumed past its poison event). */
  readonly skip: readonly number[];
}

export interface ProjectionTaskResult {
  readonly stateJson: string;
  /** Last position folded; fromPosition - 1 when the range was empty or the first event halted it. */
  readonly lastPosition: number;
  readonly applied: number;
  readonly parked: readonly ParkedEvent[];
  readonly halted?: ParkedEvent;
}
