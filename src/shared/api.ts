/**
 * The one API contract between the UI (or the CLI) and the engine: requests with their
 * results, and the updates the engine pushes. The engine validates every incoming message
 * against these schemas; a malformed one gets a typed error reply, never a crash.
 */
import { z } from 'zod';

export const errorCodes = ['validation', 'not_found', 'conflict', 'concurrency', 'limit', 'unavailable', 'damaged', 'internal'] as const;

export const apiErrorSchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  issues: z
    .array(
      z.object({
        path: z.array(z.union([z.string(), z.number()])),
        message: z.string(),
        file: z.string().optional(),
        line: z.number().optional(),
        column: z.number().optional(),
      }),
    )
    .default([]),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a run id');
const seed = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const runStatuses = ['running', 'completed', 'stopped', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof runStatuses)[number];

export const runSummarySchema = z.object({
  runId,
  scenario: z.string(),
  seed,
  status: z.enum(runStatuses),
  outDir: z.string(),
  /** Events appended so far (lifecycle events included). */
  events: z.number().int(),
  /** Events counted in the store by SQL when the run ended; null while it runs. */
  storeCount: z.number().int().nullable(),
  headPosition: z.number().int(),
  /** SHA-256 of the last event in the hash chain, hex. */
  headHash: z.string(),
  virtualTimeUs: z.number(),
  durationUs: z.number(),
  wallMs: z.number(),
  /** True while the operator has the run paused. */
  paused: z.boolean().default(false),
  speed: z.union([z.number(), z.literal('max')]).default('max'),
  error: z.string().optional(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

export const scenarioEntrySchema = z.object({
  file: z.string(),
  name: z.string(),
  description: z.string(),
  durationUs: z.number(),
  seed,
  projections: z.array(z.string()),
  error: z.string().optional(),
});
export type ScenarioEntry = z.infer<typeof scenarioEntrySchema>;

/** A run found on disk (its manifest) or live in this engine, for the event log browser. */
export const runHistoryEntrySchema = z.object({
  runId,
  scenario: z.string(),
  seed,
  status: z.enum(runStatuses),
  outDir: z.string(),
  /** Events in the log: the manifest's count for a finished run, the live head otherwise. */
  events: z.number().int(),
  headPosition: z.number().int(),
  headHash: z.string(),
  /** True while this engine is writing the run. */
  live: z.boolean(),
});
export type RunHistoryEntry = z.infer<typeof runHistoryEntrySchema>;

/** Which events the browser shows. Empty or absent fields match everything. */
export const eventFilterSchema = z
  .object({
    types: z.array(z.string().min(1).max(128)).max(64).optional(),
    streams: z.array(z.string().min(1).max(256)).max(64).optional(),
    /** Streams whose category (the name up to the first dash) is this. */
    category: z.string().min(1).max(256).optional(),
  })
  .strict();
export type EventFilter = z.infer<typeof eventFilterSchema>;

export const browsedEventSchema = z.object({
  position: z.number().int(),
  stream: z.string(),
  version: z.number().int(),
  id: z.string(),
  type: z.string(),
  schemaVersion: z.number().int(),
  virtualTimeUs: z.number(),
  causationId: z.string().optional(),
  correlationId: z.string().optional(),
  /** The payload, parsed from its stored JSON (its raw text when that is not JSON: see payloadError). */
  payload: z.unknown(),
  payloadError: z.string().optional(),
});
export type BrowsedEvent = z.infer<typeof browsedEventSchema>;

/** Events one events.read returns at most. */
export const eventPageMax = 500;

/** lost: the log verifies but for events earlier repairs declared lost (tombstones; `problems` names them): not whole, nothing left to repair. */
export const verificationStates = ['running', 'intact', 'lost', 'damaged', 'failed'] as const;
export type VerificationState = (typeof verificationStates)[number];

export const verificationSchema = z.object({
  runId,
  /** failed: the verification itself could not run (see error); it says nothing about the log. */
  state: z.enum(verificationStates),
  checked: z.number().int(),
  total: z.number().int(),
  firstBadPosition: z.number().int().nullable(),
  /** Positions earlier repairs declared lost (tombstones), however many. */
  declaredLost: z.number().int(),
  /** The first problems found (at most 10): findings in log order (the database's last), then losses earlier repairs declared. */
  problems: z.array(z.object({ position: z.number().int().nullable(), kind: z.string(), detail: z.string() })).max(10),
  wallMs: z.number(),
  error: z.string().optional(),
});
export type Verification = z.infer<typeof verificationSchema>;

/** speed: a real-time factor (1 = real time, 10 = ten virtual seconds per second) or 'max'. */
const speed = z.union([z.literal('max'), z.number().min(0.01).max(10_000)]);

const parkedEventSchema = z.object({ position: z.number().int(), error: z.string() });
const compareReportSchema = z.object({
  projection: z.string(),
  at: z.number().int(),
  equal: z.boolean(),
  liveVersion: z.number().int(),
  shadowVersion: z.number().int(),
  differences: z.array(z.string()),
  swapped: z.boolean(),
});

export const projectionStatuses = ['catching_up', 'live', 'halted', 'stalled', 'failed'] as const;

const diffSideSchema = z.object({ position: z.number().int(), stream: z.string(), version: z.number().int(), type: z.string(), virtualTimeUs: z.number(), payload: z.string() });
const runMetricsSchema = z.object({
  runId: z.string(),
  scenario: z.string(),
  seed: z.number(),
  events: z.number().int(),
  headHash: z.string(),
  virtualDurationUs: z.number(),
  eventsPerVirtualSecond: z.number(),
  byType: z.record(z.string(), z.number()),
  requests: z.object({ count: z.number(), failed: z.number(), availability: z.number().nullable(), p95LatencyMs: z.number().nullable(), p99LatencyMs: z.number().nullable() }),
  actions: z.number().int(),
  forkOf: z.object({ runId: z.string(), at: z.number().int() }).nullable(),
});

const summarySchema = z.object({ n: z.number().int(), mean: z.number().nullable(), std: z.number().nullable(), ciLow: z.number().nullable(), ciHigh: z.number().nullable() });

export const timelineSchema = z.object({
  runId: z.string(),
  durationUs: z.number(),
  headPosition: z.number().int(),
  live: z.boolean(),
  buckets: z.array(z.object({ startUs: z.number(), endUs: z.number(), events: z.number().int(), firstPosition: z.number().int().nullable(), lastPosition: z.number().int().nullable() })),
  actions: z.array(z.object({ position: z.number().int(), type: z.string(), virtualTimeUs: z.number(), detail: z.string() })),
});

const latencySummarySchema = z.object({ count: z.number(), p50Ms: z.number(), p95Ms: z.number(), p99Ms: z.number(), maxMs: z.number() });

/** The kinds of fault `chaos.inject` puts into a live run. */
export const injectFaultKinds = ['load-spike', 'worker-kill', 'engine-kill'] as const;
export type InjectFaultKind = (typeof injectFaultKinds)[number];

/** A fault to inject into a live run now (`chaos.inject`). */
export const injectFaultSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('load-spike'),
      /** A workload generator of the run's scenario. */
      generator: z.string().min(1).max(128),
      /** The generator's whole rate is multiplied by this (1 < factor <= 100). */
      factor: z.number().gt(1).max(100),
      /** Virtual time the spike lasts ("10s", "500ms", "1m"); then the previous rate comes back. */
      duration: z.string().regex(/^(?:\d+(?:\.\d+)?(?:us|ms|s|m|h))+$/, 'a duration such as 10s, 500ms or 1m'),
    })
    .strict(),
  /** Terminates one projection worker thread; the pool replaces it and the daemon retries its task. */
  z.object({ kind: z.literal('worker-kill') }).strict(),
  /** The engine host answers, then kills itself with SIGKILL; the supervisor restarts it. */
  z.object({ kind: z.literal('engine-kill') }).strict(),
]);
export type InjectFault = z.infer<typeof injectFaultSchema>;

/**
 * A fault's window of virtual time on a run, for the charts' bands: injected with `chaos.inject`
 * (source `injected`), or from the log's FaultInjected / FaultCleared events (source `log`).
 * endUs null: still open (a log fault not cleared yet), or an instant (a kill).
 */
export const faultWindowSchema = z.object({
  faultId: z.string(),
  kind: z.string(),
  detail: z.string(),
  startUs: z.number(),
  endUs: z.number().nullable(),
  source: z.enum(['injected', 'log']),
});
export type FaultWindow = z.infer<typeof faultWindowSchema>;

export const telemetrySchema = z.object({
  runId: z.string(),
  /** One row per virtual second that has passed (from `fromSecond`). */
  seconds: z.array(
    z.object({
      second: z.number().int(),
      events: z.number().int(),
      /** Append-to-projected latency of the events of this virtual second (wall-clock telemetry). */
      latency: latencySummarySchema,
      requests: z.number().int(),
      failedRequests: z.number().int(),
      /** Good requests / requests as a fraction (0..1), per the first availability SLO; null without requests. */
      availability: z.number().nullable(),
    }),
  ),
  /**
   * Seconds 0..finalSeconds-1 are final: every live projection has passed them, so their latency
   * will not change (all of them once the run has ended).
   */
  finalSeconds: z.number().int(),
  /** Over the whole run so far. */
  latency: latencySummarySchema,
  slos: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['latency', 'availability']),
      objective: z.string(),
      /** Latency SLOs: the percentile in ms; availability SLOs: good requests in percent (0..100). */
      value: z.number().nullable(),
      met: z.boolean().nullable(),
      /** Error budget left, 1 = untouched, 0 = spent, negative = overspent; null for latency SLOs. */
      budgetLeft: z.number().nullable(),
    }),
  ),
  alerts: z.array(
    z.object({
      rule: z.string(),
      kind: z.enum(['threshold', 'burn_rate']),
      firedAtUs: z.number(),
      resolvedAtUs: z.number().nullable(),
      detail: z.string(),
      /** True when the alert is in the logical log (rules on logical metrics); false for wall-clock ones. */
      logged: z.boolean(),
    }),
  ),
  /**
   * The run's fault windows (injected with chaos.inject, and the log's FaultInjected/FaultCleared),
   * in order of start, for the bands on the run's charts. Always sent by this engine; absent in
   * telemetry from before it.
   */
  faults: z.array(faultWindowSchema).optional(),
});

export const projectionHealthSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  status: z.enum(projectionStatuses),
  checkpoint: z.number().int(),
  lagEvents: z.number().int(),
  lagMs: z.number(),
  shards: z.number().int(),
  parked: z.number().int(),
  halted: parkedEventSchema.nullable(),
  error: z.string().nullable(),
  latency: z.object({ count: z.number(), p50Ms: z.number(), p95Ms: z.number(), p99Ms: z.number(), maxMs: z.number() }),
  rebuild: z.object({ checkpoint: z.number().int(), lagEvents: z.number().int(), swap: z.boolean() }).nullable(),
  catchUp: z.object({ from: z.number().int(), to: z.number().int(), folded: z.number().int(), parts: z.number().int() }).nullable(),
  lastCompare: compareReportSchema.nullable(),
  stalls: z.number().int(),
  lastStall: z.object({ detectedAfterMs: z.number(), recoveredAfterMs: z.number().nullable() }).nullable(),
});
export type ProjectionHealthView = z.infer<typeof projectionHealthSchema>;

const projectionName = z.string().min(1).max(64);

/** Runbook actions a drill's trainee may take (the drill model's list, kept equal by a type check in the drill manager). */
export const drillRunbookActions = ['restart-engine', 'restore-backup', 'repair-log', 'rebuild-projection', 'heal-partition', 'shed-load', 'acknowledge-alert'] as const;
export type DrillRunbookAction = (typeof drillRunbookActions)[number];
export const drillModes = ['auto', 'trainer'] as const;
export const drillStatuses = ['running', 'passed', 'failed', 'error'] as const;
export const drillTimelineKinds = ['fault', 'symptom', 'alert', 'action', 'detected', 'recovered', 'check', 'hint', 'note'] as const;
const drillId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a drill id');
const drillName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a drill name');

export const drillTimelineEntrySchema = z.object({
  /** Milliseconds since the drill started. */
  atMs: z.number(),
  kind: z.enum(drillTimelineKinds),
  text: z.string(),
  /** A fault kept from the trainee until the end (sent only once the drill has finished). */
  hidden: z.boolean().optional(),
});
export type DrillTimelineEntry = z.infer<typeof drillTimelineEntrySchema>;

const drillComparison = z.enum(['<=', '>=']);

export const drillTargetResultSchema = z.object({
  metric: z.string(),
  label: z.string(),
  unit: z.string(),
  comparison: drillComparison,
  /** null: not measured (or never reached). */
  value: z.number().nullable(),
  lab: z.number(),
  seed: z.number().nullable(),
  metLab: z.boolean(),
  metSeed: z.boolean(),
  weight: z.number(),
});
export type DrillTargetResult = z.infer<typeof drillTargetResultSchema>;

export const drillScorecardSchema = z.object({
  drill: z.string(),
  title: z.string(),
  seed: z.number(),
  mode: z.enum(drillModes),
  /** Every lab target met. */
  passed: z.boolean(),
  /** 0-100. */
  score: z.number(),
  targets: z.array(drillTargetResultSchema),
  /** Every figure measured (null: not finite, such as a recovery that never came). */
  measurements: z.record(z.string(), z.number().nullable()),
});
export type DrillScorecard = z.infer<typeof drillScorecardSchema>;

export const drillStateSchema = z.object({
  drillId,
  drill: z.string(),
  title: z.string(),
  mode: z.enum(drillModes),
  seed: z.number().int(),
  status: z.enum(drillStatuses),
  stage: z.string(),
  /** 0..1 */
  fraction: z.number(),
  elapsedMs: z.number(),
  /**
   * What happened so far. In trainer mode, while the drill runs, entries marked hidden (the
   * faults themselves) are left out: the trainee sees symptoms, alerts, hints and their own
   * actions. Once the drill has finished every entry is sent.
   */
  timeline: z.array(drillTimelineEntrySchema),
  /** The runbook actions the drill is waiting for (trainer mode), null when it waits for none. */
  awaiting: z.array(z.string()).nullable(),
  runbook: z.array(z.string()),
  scorecard: drillScorecardSchema.nullable(),
  checks: z
    .object({
      ok: z.boolean(),
      /** Anomalies found, by class. */
      anomalies: z.record(z.string(), z.number().int()),
      /** Each checker: what it checked and how many anomalies it found. */
      results: z.array(z.object({ check: z.string(), ok: z.boolean(), checked: z.number(), anomalies: z.number().int() })),
    })
    .nullable(),
  error: z.string().optional(),
});
export type DrillState = z.infer<typeof drillStateSchema>;

export const drillInfoSchema = z.object({
  drill: z.string(),
  kind: z.string(),
  title: z.string(),
  description: z.string(),
  seed: z.number().int(),
  runbook: z.array(z.string()),
  targets: z.array(z.object({ metric: z.string(), label: z.string(), unit: z.string(), comparison: drillComparison, lab: z.number(), seed: z.number().nullable(), weight: z.number() })),
});
export type DrillInfo = z.infer<typeof drillInfoSchema>;

/** A fault of the chaos catalogue; `layer` is where it strikes (engine, storage, network, agents, load, ...). */
export const chaosFaultSchema = z.object({ kind: z.string(), layer: z.string(), title: z.string(), mechanism: z.string(), recovery: z.string() });
export type ChaosFault = z.infer<typeof chaosFaultSchema>;

// ---- shared session (an Automerge document the engine host holds; see README "Shared sessions") ----
// Neither the session's document id nor any invite token is ever part of these answers, except
// the invite that session.invite makes on request.

const sessionSectionCounts = z.object({ scenarios: z.number().int(), annotations: z.number().int(), chaosPlans: z.number().int(), drillNotes: z.number().int(), runs: z.number().int() });

/** Where the local copy stands: peers connected, and local changes that no peer has yet. */
export const sessionStatusSchema = z.object({
  /** This host accepts peers (`serve --share`). */
  sharing: z.boolean(),
  /** Peers connected now (joined peers and the host this lab joined). */
  peers: z.number().int(),
  /** Peers that have every local change. */
  peersUpToDate: z.number().int(),
  /** Local changes no connected peer has acknowledged (every local change while alone). */
  changesNotOnAnyPeer: z.number().int(),
  /** ms since epoch of the last acknowledgement from a peer; null: never. */
  lastSyncMs: z.number().nullable(),
});
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

export const sessionAnnotationSchema = z.object({ id: z.string(), runId: z.string(), position: z.number().int(), author: z.string(), text: z.string(), createdAtMs: z.number() });
export type SessionAnnotation = z.infer<typeof sessionAnnotationSchema>;

/** A peer's cursor on the run timeline (an ephemeral message; dropped after 10 s without one). */
export const presenceEntrySchema = z.object({ name: z.string(), runId: z.string().optional(), position: z.number().int().optional(), seenMs: z.number() });
export type PresenceEntry = z.infer<typeof presenceEntrySchema>;

/** A run summary in the session (its manifest and report in brief), and whether this lab has the run. */
export const sessionRunSchema = z.object({
  runId: z.string(),
  scenarioName: z.string(),
  scenarioSha256: z.string(),
  seed: z.number().int(),
  headPosition: z.number().int(),
  /** SHA-256 of the run's last event (its hash chain's head), hex. */
  headHash: z.string(),
  status: z.string(),
  /** The report in brief, when the run has one. */
  verdict: z.string().optional(),
  summary: z.string().optional(),
  /** This lab has the run under its data directory (or runs it): nothing to fetch. */
  local: z.boolean(),
});
export type SessionRun = z.infer<typeof sessionRunSchema>;

export const sessionChaosPlanSchema = z.object({ name: z.string(), author: z.string(), updatedAtMs: z.number(), sha256: z.string(), chars: z.number().int() });
export type SessionChaosPlan = z.infer<typeof sessionChaosPlanSchema>;

export const sessionViewSchema = z.object({
  title: z.string(),
  counts: sessionSectionCounts,
  /** Scenario names in the session's library (their texts: session.text). */
  scenarios: z.array(z.string()),
  /** Oldest first. */
  annotations: z.array(sessionAnnotationSchema),
  /** By name (their texts: session.text). */
  chaosPlans: z.array(sessionChaosPlanSchema),
  /** Oldest first. */
  drillNotes: z.array(z.object({ id: z.string(), drillId: z.string(), author: z.string(), text: z.string(), createdAtMs: z.number() })),
  /** By run id. */
  runs: z.array(sessionRunSchema),
  /** Entries from peers that failed validation and are left out. */
  rejected: z.number().int(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const sessionSectionNames = ['scenarios', 'annotations', 'chaosPlans', 'drillNotes', 'runs'] as const;
export type SessionSectionName = (typeof sessionSectionNames)[number];

/** One change in the session's history. `heads` is the point right after it (for session.viewAt). */
export const sessionChangeSchema = z.object({
  /** The author's Automerge actor, shortened to 8 hex digits (one per lab copy, not a person). */
  actor: z.string(),
  seq: z.number().int(),
  /** Wall-clock time the author's machine recorded, ms since epoch (0: none). */
  timeMs: z.number(),
  message: z.string().nullable(),
  heads: z.array(z.string()),
});
export type SessionChange = z.infer<typeof sessionChangeSchema>;

/** Entry keys per section that differ between a past point and now (at most 200 listed per kind). */
const sessionSectionDiffSchema = z.object({ added: z.array(z.string()), changed: z.array(z.string()), removed: z.array(z.string()), more: z.number().int() });
export const sessionDiffSchema = z.object({
  titleChanged: z.boolean(),
  scenarios: sessionSectionDiffSchema,
  annotations: sessionSectionDiffSchema,
  chaosPlans: sessionSectionDiffSchema,
  drillNotes: sessionSectionDiffSchema,
  runs: sessionSectionDiffSchema,
});
export type SessionDiff = z.infer<typeof sessionDiffSchema>;

/** Heads of a point in the session's history (base58 change hashes, as session.history gives them). */
const sessionHeads = z.array(z.string().min(1).max(128).regex(/^[1-9A-HJ-NP-Za-km-z]+$/, 'a change hash (base58)')).min(1).max(64);

/** A chaos experiment file of this lab; `error`: why it does not load (it cannot be shared then). */
export const chaosPlanFileSchema = z.object({ file: z.string(), title: z.string(), scenario: z.string(), error: z.string().optional() });
export type ChaosPlanFile = z.infer<typeof chaosPlanFileSchema>;

/** A session entry's name (scenario, chaos plan): the session's validators check it (`validation` on `name`). */
const sessionEntryName = z.string().min(1).max(1_024);
/** A file of the engine's scenarios directory (relative to it), or absolute, as run.start takes it. */
const scenariosDirFile = z.string().min(1).max(4096);

/** A finished transfer of a peer's run: the bundle's bytes and SHA-256, and the verified log. */
export const sessionFetchedRunSchema = z.object({
  runId: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  events: z.number().int(),
  headHash: z.string(),
  /** Every chain link and the manifest's head checked before the run was kept. */
  verified: z.literal(true),
  transferMs: z.number(),
  importMs: z.number(),
});
export type SessionFetchedRun = z.infer<typeof sessionFetchedRunSchema>;

export const methods = {
  'engine.info': {
    params: z.object({}).strict(),
    result: z.object({
      pid: z.number().int(),
      version: z.string(),
      nodeVersion: z.string(),
      sqliteVersion: z.string(),
      dataDir: z.string(),
      scenariosDir: z.string(),
      projectionThreads: z.number().int(),
    }),
  },
  /** The scenarios directory's scenario files, and those saved from the session (`session/<name>.yaml`). */
  'scenarios.list': {
    params: z.object({}).strict(),
    result: z.object({ scenarios: z.array(scenarioEntrySchema) }),
  },
  'run.start': {
    params: z
      .object({
        /** A scenario file: relative to the engine's scenarios directory, or absolute. */
        scenario: z.string().min(1).max(4096),
        seed: seed.optional(),
        speed: speed.default('max'),
        /** Where to write the run; defaults to a new directory under the data directory. */
        outDir: z.string().min(1).max(4096).optional(),
      })
      .strict(),
    result: z.object({ runId, outDir: z.string(), seed, scenario: z.string(), durationUs: z.number() }),
  },
  'run.stop': {
    params: z.object({ runId }).strict(),
    result: runSummarySchema,
  },
  /** Pauses generation (recorded in the log as RunPaused). */
  'run.pause': {
    params: z.object({ runId }).strict(),
    result: runSummarySchema,
  },
  /** Resumes generation (recorded as RunResumed). */
  'run.resume': {
    params: z.object({ runId }).strict(),
    result: runSummarySchema,
  },
  /** While paused: appends the next `events` events. */
  'run.step': {
    params: z.object({ runId, events: z.number().int().min(1).max(5_000).default(1) }).strict(),
    result: runSummarySchema,
  },
  /** Changes the pacing (not recorded: it changes no event). */
  'run.speed': {
    params: z.object({ runId, speed }).strict(),
    result: runSummarySchema,
  },
  /** Changes a scenario parameter from now on (recorded as ParameterChanged): `workload.<generator>.rate[.<field>]`. */
  'run.set': {
    params: z.object({ runId, path: z.string().min(1).max(256), value: z.unknown() }).strict(),
    result: runSummarySchema,
  },
  /** A what-if fork: a new run sharing the first `at` events of a recorded run, then differing by `set`. */
  'run.fork': {
    params: z
      .object({
        /** A run id (this engine's or under the data directory) or a run directory. */
        from: z.string().min(1).max(4096),
        at: z.number().int().min(1),
        set: z.array(z.object({ path: z.string().min(1).max(256), value: z.unknown() }).strict()).max(32).default([]),
        speed: speed.default('max'),
        outDir: z.string().min(1).max(4096).optional(),
      })
      .strict(),
    result: z.object({ runId, outDir: z.string(), seed, scenario: z.string(), durationUs: z.number(), forkOf: z.object({ runId: z.string(), at: z.number().int() }) }),
  },
  /** Where two runs' logs first diverge, and their metrics side by side. */
  'runs.diff': {
    params: z.object({ a: z.string().min(1).max(4096), b: z.string().min(1).max(4096) }).strict(),
    result: z.object({
      identical: z.boolean(),
      sharedPrefix: z.number().int(),
      firstDivergence: z
        .object({
          position: z.number().int(),
          a: diffSideSchema.nullable(),
          b: diffSideSchema.nullable(),
        })
        .nullable(),
      a: runMetricsSchema,
      b: runMetricsSchema,
    }),
  },
  'run.get': {
    params: z.object({ runId }).strict(),
    result: runSummarySchema,
  },
  'run.backup': {
    params: z.object({ runId }).strict(),
    /** An online backup of a live run's log (null when the run had finished and none was taken). */
    result: z.object({
      backup: z.object({ file: z.string(), headPosition: z.number().int(), headHash: z.string(), createdAtMs: z.number(), bytes: z.number() }).nullable(),
    }),
  },
  'projections.list': {
    params: z.object({ runId }).strict(),
    result: z.object({ projections: z.array(projectionHealthSchema), live: z.boolean() }),
  },
  'projections.state': {
    params: z.object({ runId, name: projectionName }).strict(),
    result: z.object({ checkpoint: z.number().int(), state: z.unknown() }),
  },
  'projections.parked': {
    params: z.object({ runId, name: projectionName }).strict(),
    result: z.object({ events: z.array(parkedEventSchema) }),
  },
  'projections.rebuild': {
    params: z.object({ runId, name: projectionName }).strict(),
    result: z.object({ started: z.literal(true) }),
  },
  'projections.compare': {
    params: z.object({ runId, name: projectionName }).strict(),
    result: z.object({ started: z.literal(true) }),
  },
  'projections.resume': {
    params: z.object({ runId, name: projectionName }).strict(),
    result: z.object({ resumed: z.literal(true) }),
  },
  'run.list': {
    params: z.object({}).strict(),
    result: z.object({ runs: z.array(runSummarySchema) }),
  },
  'store.count': {
    params: z.object({ runId }).strict(),
    result: z.object({ count: z.number().int(), headPosition: z.number().int() }),
  },
  /** Runs under the data directory (newest first) and the runs of this engine session. */
  'runs.history': {
    params: z.object({}).strict(),
    result: z.object({ runs: z.array(runHistoryEntrySchema) }),
  },
  /**
   * A page of a run's events that match the filter. Page by position (`fromPosition`, the
   * position after the last one you have) when scrolling, by `offset` (the index among matching
   * events) when jumping; neither reads from the start. `offset` in the result is the index of
   * the first event returned: always known except for a filtered read by position, where it is
   * counted only when `locate` is set (a scan).
   */
  'events.read': {
    params: z
      .object({
        runId,
        fromPosition: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
        offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        limit: z.number().int().min(1).max(eventPageMax),
        filter: eventFilterSchema.optional(),
        locate: z.boolean().optional(),
      })
      .strict()
      .refine((params) => params.fromPosition === undefined || params.offset === undefined, { message: 'give fromPosition or offset, not both', path: ['offset'] }),
    result: z.object({
      events: z.array(browsedEventSchema),
      /** Events that match the filter, up to headPosition. */
      total: z.number().int(),
      offset: z.number().int().nullable(),
      headPosition: z.number().int(),
    }),
  },
  'events.facets': {
    params: z.object({ runId }).strict(),
    result: z.object({
      types: z.array(z.object({ name: z.string(), count: z.number().int() })),
      categories: z.array(z.object({ name: z.string(), count: z.number().int() })),
      /** Number of streams. */
      streams: z.number().int(),
      headPosition: z.number().int(),
    }),
  },
  /** Starts a full verification on a worker thread; progress and result come as `events.verified`. */
  'events.verify': {
    params: z.object({ runId }).strict(),
    result: verificationSchema,
  },
  /**
   * A run's timeline: event density in `buckets` equal slices of its virtual time (for the
   * scrubber), and the operator actions on it. Live runs and finished ones.
   */
  'run.timeline': {
    params: z.object({ runId, buckets: z.number().int().min(1).max(2_000).default(200) }).strict(),
    result: timelineSchema,
  },
  /**
   * A projection's state as of a position (time travel): the nearest snapshot at or before it
   * plus a fold of the events after it. `virtualTimeUs` is the time of the event at `position`.
   */
  'run.stateAt': {
    params: z.object({ runId, position: z.number().int().min(0), projection: projectionName }).strict(),
    result: z.object({ position: z.number().int(), virtualTimeUs: z.number(), projection: z.string(), state: z.unknown(), foldedEvents: z.number().int() }),
  },
  /** Sweeps under the data directory (sweeps/<name>), newest first, with their progress. */
  'sweeps.list': {
    params: z.object({}).strict(),
    result: z.object({ sweeps: z.array(z.object({ name: z.string(), dir: z.string(), cells: z.number().int(), replicates: z.number().int(), complete: z.boolean() })) }),
  },
  /** A completed sweep's results (results.json): per cell, its parameters and summaries. */
  'sweeps.results': {
    params: z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a sweep name') }).strict(),
    result: z.object({
      name: z.string(),
      description: z.string(),
      replicates: z.number().int(),
      grid: z.array(z.object({ path: z.string(), values: z.array(z.unknown()) })),
      cells: z.array(
        z.object({
          cell: z.number().int(),
          parameters: z.record(z.string(), z.unknown()),
          accuracy: summarySchema,
          consensusRate: summarySchema,
          rounds: summarySchema,
          messages: summarySchema,
        }),
      ),
    }),
  },
  /** Every run of this engine session in the Prometheus text format (served at /metrics in browser mode). */
  'metrics.prometheus': {
    params: z.object({}).strict(),
    result: z.object({ text: z.string() }),
  },
  /** A run's telemetry: series per virtual second, SLO status and alerts. */
  'telemetry.get': {
    params: z.object({ runId, fromSecond: z.number().int().min(0).default(0) }).strict(),
    result: telemetrySchema,
  },
  /** The disaster-recovery drills (scenarios/drills). */
  'drills.list': {
    params: z.object({}).strict(),
    result: z.object({ drills: z.array(drillInfoSchema) }),
  },
  /** Starts a drill in the engine; one at a time (`conflict` while another runs). Progress comes as `drill.progress`. */
  'drill.start': {
    params: z.object({ drill: drillName, mode: z.enum(drillModes), seed: z.number().int().min(0).max(4_294_967_295).optional() }).strict(),
    result: z.object({ drillId }),
  },
  /** A drill of this engine session (the running one, or one of the last 20 finished). */
  'drill.get': {
    params: z.object({ drillId }).strict(),
    result: drillStateSchema,
  },
  /**
   * A game-day trainee's runbook action. Every action is recorded in the timeline, wrong ones
   * too; `accepted` says whether the drill took it as its recovery. `conflict` unless the drill
   * runs in trainer mode.
   */
  'drill.action': {
    params: z.object({ drillId, action: z.enum(drillRunbookActions) }).strict(),
    result: z.object({ accepted: z.boolean() }),
  },
  /** Gives up a game day: the actions it waits for are refused, and the drill ends as an error. */
  'drill.abort': {
    params: z.object({ drillId }).strict(),
    result: z.object({ aborted: z.boolean() }),
  },
  /** A finished drill's debrief (`conflict` while it runs or when it ended in an error). */
  'drill.debrief': {
    params: z.object({ drillId, format: z.enum(['markdown', 'html']) }).strict(),
    result: z.object({ text: z.string() }),
  },
  /** Every fault the lab can inject, with its layer, mechanism and runbook recovery. */
  'chaos.catalogue': {
    params: z.object({}).strict(),
    result: z.object({ faults: z.array(chaosFaultSchema) }),
  },
  /**
   * Injects a fault into a live run now. A load spike is two ordinary `set` operator actions (the
   * spiked rate now, the previous rate back once virtual time passes start + duration), recorded
   * in the log and the manifest, so replays stay exact. `not_found`: no such run or generator;
   * `conflict`: the run is not live (or a spike on that generator is still on).
   */
  'chaos.inject': {
    params: z.object({ runId, fault: injectFaultSchema }).strict(),
    result: z.object({ faultId: z.string(), kind: z.enum(injectFaultKinds), startUs: z.number(), endUs: z.number().nullable(), detail: z.string() }),
  },
  /** The chaos experiment files of the scenarios directory (`chaos/*.yaml`), each checked against its scenario. */
  'chaos.plans': {
    params: z.object({}).strict(),
    result: z.object({ plans: z.array(chaosPlanFileSchema) }),
  },
  /** The shared session's content (only valid entries; never its document id). */
  'session.get': {
    params: z.object({}).strict(),
    result: sessionViewSchema,
  },
  /** Annotates a run position in the session; the session's validators check it (`validation`). */
  'session.annotate': {
    params: z.object({ runId: z.string().max(1_024), position: z.number(), text: z.string().max(100_000), author: z.string().max(1_024).optional() }).strict(),
    result: z.object({ id: z.string() }),
  },
  'session.status': {
    params: z.object({}).strict(),
    result: sessionStatusSchema,
  },
  /** A new invite (carries a secret token: show it only to whom it is for). `conflict` unless sharing. */
  'session.invite': {
    /** expiresInMs: the invite admits no new connection after that long (1 s to 365 days); none: it never expires. */
    params: z.object({ kind: z.enum(['read-write', 'read-only']), expiresInMs: z.number().int().min(1_000).max(365 * 24 * 3_600_000).optional() }).strict(),
    result: z.object({ invite: z.string() }),
  },
  /**
   * Joins another host's session: this lab's session becomes that one (the previous one is kept
   * on disk beside it) and keeps syncing with that host, across engine restarts.
   */
  'session.join': {
    params: z.object({ invite: z.string().min(1).max(2_048) }).strict(),
    result: z.object({ title: z.string() }),
  },
  /** Broadcasts this user's cursor to the session's peers (ephemeral: nothing is stored). */
  'session.presence': {
    params: z.object({ name: z.string().min(1).max(64), runId: runId.optional(), position: z.number().int().min(0).optional() }).strict(),
    result: z.object({}),
  },
  /** The session's changes, newest first (`offset` of them skipped), and how many there are. */
  'session.history': {
    params: z.object({ offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0), limit: z.number().int().min(1).max(500).default(100) }).strict(),
    result: z.object({ total: z.number().int(), changes: z.array(sessionChangeSchema) }),
  },
  /**
   * The session as it was at `heads` (a change of session.history), what differs now (entries
   * added, changed or removed since, per section), and how many changes came after.
   * `not_found`: no such point in this session's history.
   */
  'session.viewAt': {
    params: z.object({ heads: sessionHeads }).strict(),
    result: z.object({ view: sessionViewSchema, diff: sessionDiffSchema, changesSince: z.number().int() }),
  },
  /** A scenario's or a chaos plan's text in the session. `not_found`: no such entry. */
  'session.text': {
    params: z.object({ section: z.enum(['scenarios', 'chaosPlans']), name: z.string().min(1).max(128) }).strict(),
    result: z.object({ section: z.enum(['scenarios', 'chaosPlans']), name: z.string(), text: z.string(), sha256: z.string() }),
  },
  /**
   * Puts a scenario file of this lab in the session's library under `name` (default: the file's
   * base name without extension), replacing an entry of that name. The file is validated as a
   * scenario first: `validation` with its file, line and field; `not_found`: no such file.
   */
  'session.putScenario': {
    params: z.object({ name: sessionEntryName.optional(), scenario: scenariosDirFile }).strict(),
    result: z.object({ name: z.string(), sha256: z.string() }),
  },
  /** Takes a scenario out of the session's library. `not_found`: none of that name. */
  'session.removeScenario': {
    params: z.object({ name: sessionEntryName }).strict(),
    result: z.object({ name: z.string() }),
  },
  /**
   * Saves a session scenario as `<scenariosDir>/session/<name>.yaml` so that run.start can run it
   * (`file`: relative to the scenarios directory). The text is validated as a scenario first
   * (`validation`); `not_found`: no such scenario in the session; `conflict`: a different file of
   * that name exists (it is never overwritten; the same content is fine: `written` false).
   */
  'session.saveScenario': {
    params: z.object({ name: sessionEntryName }).strict(),
    result: z.object({ name: z.string(), file: z.string(), written: z.boolean() }),
  },
  /**
   * Puts a chaos experiment file (e.g. `chaos/load-spike.yaml`, see chaos.plans) in the session's
   * chaos plans under `name` (default: the file's base name), after loading it and checking it
   * against its scenario: `validation` with its file, line and field; `not_found`: no such file.
   */
  'session.putChaosPlan': {
    params: z.object({ name: sessionEntryName.optional(), file: scenariosDirFile, author: z.string().max(1_024).optional() }).strict(),
    result: z.object({ name: z.string(), sha256: z.string() }),
  },
  /** Takes a chaos plan out of the session. `not_found`: none of that name. */
  'session.removeChaosPlan': {
    params: z.object({ name: sessionEntryName }).strict(),
    result: z.object({ name: z.string() }),
  },
  /**
   * Adds a note on a drill to the session. `drillId`: any id the session's validator accepts (a
   * drill of the catalogue, as drills.list names it, a drill run's id, or a drill only a peer
   * has); `validation` names drillId, text (empty or too long) or author.
   */
  'session.addDrillNote': {
    params: z.object({ drillId: z.string().max(1_024), text: z.string().max(100_000), author: z.string().max(1_024).optional() }).strict(),
    result: z.object({ id: z.string() }),
  },
  /**
   * Puts a run of this lab in the session (its manifest and report in brief), so that peers see
   * it and can fetch it. `not_found`: no such run; `conflict`: it is still running.
   */
  'session.addRun': {
    params: z.object({ runId }).strict(),
    result: z.object({ runId: z.string() }),
  },
  /**
   * Fetches a run from the host this lab joined (over the session's authenticated channel),
   * verifies its SHA-256 and its whole hash chain, and keeps it under the data directory as a
   * local run; progress comes as `session.fetchProgress`. `not_found`: the peer has no such run;
   * `conflict`: this lab has not joined a host, already has the run, or is fetching it;
   * `damaged`: the bundle failed verification (nothing is kept); `unavailable`: the peer is unreachable.
   */
  'session.fetchRun': {
    params: z.object({ runId }).strict(),
    result: sessionFetchedRunSchema,
  },
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = z.input<Methods[M]['params']>;
export type ResultOf<M extends MethodName> = z.infer<Methods[M]['result']>;

export const engineStates = ['starting', 'ready', 'restarting', 'stopped'] as const;
export type EngineState = (typeof engineStates)[number];

export const pushes = {
  /** Sent by the engine supervisor, not the engine: the engine process's lifecycle. */
  'engine.status': z.object({
    state: z.enum(engineStates),
    pid: z.number().int().nullable(),
    restarts: z.number().int(),
    reason: z.string().optional(),
  }),
  'run.progress': runSummarySchema,
  'run.finished': runSummarySchema,
  'projection.updated': z.object({
    runId,
    projection: z.string(),
    checkpoint: z.number().int(),
    /** The projection's state, as JSON. */
    state: z.unknown(),
  }),
  'projections.health': z.object({ runId, headPosition: z.number().int(), projections: z.array(projectionHealthSchema) }),
  'events.verified': verificationSchema,
  /** A drill's state: at most every 200 ms while it runs, on every timeline entry, and at its end. */
  'drill.progress': drillStateSchema,
  /** The session changed (a local or a remote change); at most 5 a second. */
  'session.changed': z.object({ status: sessionStatusSchema, counts: sessionSectionCounts }),
  /** Peers' cursors, whenever one moves, arrives or leaves. */
  'session.presence': z.object({ peers: z.array(presenceEntrySchema) }),
  /** A session.fetchRun in progress: bytes downloaded, then events verified; at most 10 a second. */
  'session.fetchProgress': z.object({ runId, stage: z.enum(['download', 'verify']), done: z.number().int(), total: z.number().int() }),
} as const;

export type Pushes = typeof pushes;
export type PushTopic = keyof Pushes;
export type PushOf<T extends PushTopic> = z.infer<Pushes[T]>;

/** Envelopes. Request ids are chosen by the client and echoed in the response. */
export const requestEnvelopeSchema = z
  .object({
    type: z.literal('request'),
    id: z.union([z.number().int(), z.string().max(64)]),
    method: z.string().max(64),
    params: z.unknown().optional(),
  })
  .strict();
export type RequestEnvelope = z.infer<typeof requestEnvelopeSchema>;

export type ResponseEnvelope =
  | { type: 'response'; id: number | string | null; ok: true; result: unknown }
  | { type: 'response'; id: number | string | null; ok: false; error: ApiError };

export type PushEnvelope = { [T in PushTopic]: { type: 'push'; topic: T; data: PushOf<T> } }[PushTopic];

export type ServerMessage = ResponseEnvelope | PushEnvelope;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(methods, name);
}

/** A typed error reply. */
export function errorResponse(id: number | string | null, error: ApiError): ResponseEnvelope {
  return { type: 'response', id, ok: false, error };
}
