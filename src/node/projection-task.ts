/** The message a projection worker receives, and what it returns. */
export interface ProjectionTask {
  readonly dbPath: string;
  readonly projection: string;
  /** The state to continue from, as canonical JSON. */
  readonly stateJson: string;
  /** First position to fold (inclusive). */
  readonly fromPosition: number;
  /** Last position to fold (inclusive). */
  readonly toPosition: number;
}

export interface ProjectionTaskResult {
  readonly stateJson: string;
  /** Last position folded; fromPosition - 1 when the range was empty. */
  readonly lastPosition: number;
  readonly applied: number;
}
