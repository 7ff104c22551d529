/**
 * Every limit of the lab in one place (units last). A limit exceeded by input is a typed
 * `limit` or `validation` error; a limit exceeded by the program is a bug.
 */
export const limits = {
  /** Largest scenario file the loader reads. */
  scenarioBytesMax: 1_000_000,
  /** Longest virtual duration of one run: 24 hours. */
  runDurationUsMax: 24 * 3600 * 1_000_000,
  /** Workload generators per scenario. */
  generatorsMax: 64,
  /** Event types per generator. */
  eventTypesPerGeneratorMax: 64,
  /** Streams per generator. */
  streamsPerGeneratorMax: 100_000,
  /** Events per virtual second per generator. */
  ratePerSecondMax: 1_000_000,
  /** Fields of a generated payload. */
  payloadFieldsMax: 64,
  /** Largest encoded event (payload and metadata) the store accepts. */
  eventBytesMax: 64 * 1024,
  /** Events one group commit may hold; a larger queue commits in several transactions. */
  groupCommitEventsMax: 10_000,
  /** Events a read returns at most. */
  readEventsMax: 100_000,
  /** Longest stream name and event type name. */
  streamNameLengthMax: 256,
  eventTypeLengthMax: 128,
  /** Events checked at every open of a store (the tail of the hash chain). */
  tailCheckEvents: 1_000,
  /** A run's log is backed up online every this many events. */
  backupEveryEvents: 250_000,
  /** A run records a state hash (log and kernel) every this many events, for replays. */
  checkpointEveryEvents: 10_000,
  /** Projections keep a snapshot of their state every this many events (time travel folds from it). */
  snapshotEveryEvents: 10_000,
  /** Events the kernel hands to the store in one batch. */
  appendBatchEventsMax: 5_000,
  /** Events a projection worker folds in one task. */
  projectionBatchEventsMax: 5_000,
  /** Largest API message accepted from a client. */
  apiMessageBytesMax: 1_000_000,
  /** Runs the engine keeps open at once. */
  concurrentRunsMax: 4,
  /** Speed factor bounds for real-time mode. */
  speedFactorMin: 0.01,
  speedFactorMax: 10_000,
} as const;
