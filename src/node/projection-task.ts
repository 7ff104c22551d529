import type { ParkedEvent } from '../core/projections/projection.ts';

/** One shard of one projection to fold over the task's range. */
export interface ShardFold {
  readonly projection: string;
  readonly shard: number;
  /** The shard's state to continue from, as JSON. */
  readonly stateJson: string;
  /** Positions an operator chose to skip (a halted projection resumed past its poison event). */
  readonly skip: readonly number[];
  /** Return the shard's state at every multiple of this inside the range (0: none). */
  readonly snapshotEvery: number;
}

/**
 * The message a projection worker receives: a range of positions, read once, and the shards
 * to fold over it (shards at the same checkpoint share one read of the log).
 */
export interface ProjectionTask {
  readonly dbPath: string;
  /** First position to fold (inclusive). */
  readonly fromPosition: number;
  /** Last position to fold (inclusive). */
  readonly toPosition: number;
  readonly folds: readonly ShardFold[];
}

export interface ShardFoldResult {
  readonly stateJson: string;
  /** Last position folded; fromPosition - 1 when the range was empty or the first event halted it. */
  readonly lastPosition: number;
  readonly applied: number;
  readonly parked: readonly ParkedEvent[];
  readonly halted?: ParkedEvent;
  /**
   * The state at each snapshot position inside the range, in order, as UTF-8 JSON: bytes cross
   * to the daemon's thread outside its JavaScript heap (strings of this size cost it as much
   * garbage collection as the inserts that store them), and are stored as text by SQLite.
   */
  readonly snapshots: readonly { readonly position: number; readonly state: Uint8Array }[];
}

/** One result per fold, in the task's order. */
export interface ProjectionTaskResult {
  readonly folds: readonly ShardFoldResult[];
}
