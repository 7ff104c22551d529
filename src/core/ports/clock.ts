/**
 * Wall-clock time, for telemetry and pacing only. The logical log never depends on it: the
 * simulation advances on virtual time.
 */
export interface Clock {
  /** Monotonic milliseconds, for measuring durations. */
  monotonicMs(): number;
  /** Milliseconds since the Unix epoch, for naming and display. */
  epochMs(): number;
}
