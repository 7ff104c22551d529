/**
 * The event log browser's side of the engine: which runs there are (on disk and in this
 * session), pages of their events with filters and totals, facets for the filter controls, and
 * full verification on a worker thread.
 *
 * Connections: a run this engine is writing, or any file with a -wal beside it, is opened for
 * one request and closed before the handler returns (the engine is single-threaded, so the run
 * cannot finish in between, and the writer can still switch the finished file back to a
 * rollback journal). A finished run's connection is kept, a few at most (LRU).
 * Counts are cached per (file, filter) with the head they were counted to; a grown log is
 * counted from there on, never again from the start.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { operatorEventTypes, type RecordedAction } from '../core/sim/operator.ts';
import { readRunManifest } from '../node/run-manifest.ts';
import { projectionStateAt } from '../node/time-travel.ts';
import { readTelemetry } from '../node/telemetry-store.ts';
import { parseScenarioText } from '../node/scenario-loader.ts';
import type { ServiceLevelObjective } from '../core/sim/scenario.ts';
import { telemetryView } from './telemetry-recorder.ts';
import { declaredDurationUs, timelineBuckets } from '../node/timeline.ts';
import { z } from 'zod';
import { toPlainEvent, type RecordedEvent } from '../core/events/event.ts';
import { AuraError } from '../core/kernel/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import { EventLogQueries, filterKey, isUnfiltered, type EventQueryFilter } from '../node/event-queries.ts';
import { verifyEventLogParallel } from '../node/verify-parallel.ts';
import { readRunEnds, withRunEnds } from '../node/run-ends.ts';
import { runHistoryEntrySchema, runStatuses, type BrowsedEvent, type MethodName, type methods, type PushEnvelope, type ResultOf, type RunHistoryEntry, type Verification } from '../shared/api.ts';
import type { RunController } from './run-controller.ts';

export interface EventBrowserOptions {
  readonly dataDir: string;
  readonly clock: Clock;
  readonly push: (message: PushEnvelope) => void;
  /** The runs of this engine session. */
  readonly sessionRuns: () => Iterable<RunController>;
}

type Params<M extends MethodName> = z.infer<(typeof methods)[M]['params']>;

interface LocatedRun {
  readonly runId: string;
  readonly path: string;
  /** This engine is writing it. */
  readonly live: boolean;
}

const connectionsMax = 4;
const countsMax = 256;
const historyMax = 1_000;
const verifyPushIntervalMs = 100;
/** Problems a verification result carries to the UI. */
const verifyProblemsShown = 10;
const eventLogFile = 'events.sqlite';

/** What the browser reads of a manifest (run-controller.ts writes it). */
const manifestSchema = z.object({
  format: z.literal('aura-lab-run'),
  runId: z.string(),
  status: z.string(),
  scenario: z.object({ name: z.string() }),
  seed: z.number(),
  headPosition: z.number().int().optional(),
  headHash: z.string().optional(),
  events: z.number().int().nullable().optional(),
});

export class EventBrowser {
  private readonly connections = new Map<string, { identity: string; queries: EventLogQueries }>();
  private readonly counts = new Map<string, { head: number; count: number }>();
  private readonly typeFacets = new Map<string, { head: number; types: Map<number, { name: string; count: number }> }>();
  private readonly verifications = new Map<string, Verification>();
  /** runId -> event log path, for runs found on disk outside <dataDir>/runs/<runId>. */
  private readonly knownPaths = new Map<string, string>();
  private closed = false;

  constructor(private readonly options: EventBrowserOptions) {}

  history(): ResultOf<'runs.history'> {
    const entries = new Map<string, { entry: RunHistoryEntry; sortKey: number }>();
    for (const found of this.diskRuns()) entries.set(found.entry.runId, found);
    for (const run of this.options.sessionRuns()) {
      const summary = run.summary();
      const entry = runHistoryEntrySchema.parse({ ...summary, events: summary.storeCount ?? summary.events, live: run.running });
      entries.set(entry.runId, { entry, sortKey: run.running ? Number.POSITIVE_INFINITY : (entries.get(entry.runId)?.sortKey ?? directoryTime(summary.outDir)) });
    }
    return { runs: [...entries.values()].sort((a, b) => b.sortKey - a.sortKey || a.entry.runId.localeCompare(b.entry.runId)).map((found) => found.entry) };
  }

  read(params: Params<'events.read'>): ResultOf<'events.read'> {
    return this.withLog(params.runId, (queries, key) => {
      const filter = params.filter;
      const head = queries.headPosition();
      const total = this.countMatching(queries, key, filter, head);
      const unfiltered = isUnfiltered(filter);
      let from: number | undefined;
      let offset: number | null;
      if (params.fromPosition !== undefined) {
        from = params.fromPosition;
        offset = unfiltered ? Math.min(from - 1, total) : params.locate ? queries.count(filter, 0, Math.min(from - 1, head)) : null;
      } else {
        offset = params.offset ?? 0;
        // Positions are gap-free: without a filter the k-th event is at position k + 1.
        from = unfiltered ? offset + 1 : queries.positionAtOffset(filter, offset, head);
      }
      const events = from === undefined ? [] : queries.page(filter, from, head, params.limit).map(browsedEvent);
      return { events, total, offset, headPosition: head };
    });
  }

  facets(params: Params<'events.facets'>): ResultOf<'events.facets'> {
    return this.withLog(params.runId, (queries, key) => {
      const head = queries.headPosition();
      let cached = this.typeFacets.get(key);
      if (cached === undefined || cached.head > head) cached = { head: 0, types: new Map() };
      for (const row of queries.typeCounts(cached.head, head)) {
        const known = cached.types.get(row.typeId);
        cached.types.set(row.typeId, { name: row.name, count: (known?.count ?? 0) + row.count });
      }
      cached.head = head;
      remember(this.typeFacets, key, cached, countsMax);
      const types = [...cached.types.values()].sort((a, b) => a.name.localeCompare(b.name));
      return { types, categories: queries.categoryCounts(), streams: queries.streamCount(), headPosition: head };
    });
  }

  verify(params: Params<'events.verify'>): ResultOf<'events.verify'> {
    const run = this.locate(params.runId);
    if (run.live) throw new AuraError('conflict', `run ${run.runId} is still running; verify it once it has finished`);
    if (!existsSync(run.path)) throw new AuraError('not_found', `run ${run.runId} has no event log at ${run.path}`);
    const current = this.verifications.get(run.runId);
    if (current?.state === 'running') return current;
    let total = 0;
    try {
      total = this.withLog(run.runId, (queries) => queries.headPosition());
    } catch {
      // A log too damaged to open still gets verified (and reported as damaged).
    }
    const status: Verification = { runId: run.runId, state: 'running', checked: 0, total, firstBadPosition: null, declaredLost: 0, problems: [], wallMs: 0 };
    this.publish(status);
    void this.runVerification(run, status);
    return status;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { queries } of this.connections.values()) queries.close();
    this.connections.clear();
  }

  private async runVerification(run: LocatedRun, initial: Verification): Promise<void> {
    const started = this.options.clock.monotonicMs();
    const wallMs = (): number => Math.round(this.options.clock.monotonicMs() - started);
    let lastPushMs = Number.NEGATIVE_INFINITY;
    let status = initial;
    let final: Verification;
    try {
      // Read first: a record a live writer wrote names a position the verification then reads.
      const ends = readRunEnds(dirname(run.path));
      // Worker threads check slices of the log; this thread only stitches their results.
      const report = await verifyEventLogParallel(run.path, {
        onProgress: (checked, total) => {
          status = { ...status, checked, total: Math.max(total, status.total), wallMs: wallMs() };
          this.verifications.set(run.runId, status);
          const now = this.options.clock.monotonicMs();
          if (now - lastPushMs >= verifyPushIntervalMs) {
            lastPushMs = now;
            this.options.push({ type: 'push', topic: 'events.verified', data: status });
          }
        },
      });
      // The head record and a completed run's manifest say where the log ended (run-ends.ts).
      const { problems, endProblems, firstBadPosition } = withRunEnds(ends, run.path, report);
      final = {
        runId: run.runId,
        state: endProblems.length > 0 ? 'damaged' : report.ok ? 'intact' : report.onlyDeclaredLosses ? 'lost' : 'damaged',
        checked: report.events,
        total: Math.max(report.headPosition, report.events),
        firstBadPosition,
        declaredLost: report.declaredLost.length,
        problems: problems.slice(0, verifyProblemsShown).map((problem) => ({ position: problem.position, kind: problem.kind, detail: problem.detail })),
        wallMs: wallMs(),
      };
    } catch (error) {
      final = { ...status, state: 'failed', wallMs: wallMs(), error: error instanceof Error ? error.message : String(error) };
    }
    if (!this.closed) this.publish(final);
  }

  private publish(status: Verification): void {
    this.verifications.set(status.runId, status);
    this.options.push({ type: 'push', topic: 'events.verified', data: status });
  }

  /** Runs `read` on the run's log in one read transaction, with a cache key for the file. */
  private withLog<T>(runId: string, read: (queries: EventLogQueries, key: string) => T): T {
    const run = this.locate(runId);
    let stat;
    try {
      stat = statSync(run.path);
    } catch {
      throw new AuraError('not_found', `run ${runId} has no event log at ${run.path}`);
    }
    const keepOpen = !run.live && !existsSync(`${run.path}-wal`);
    // A kept connection is reused only for the same, unchanged file.
    const identity = keepOpen ? `${stat.ino}:${stat.mtimeMs}:${stat.size}` : `${stat.ino}`;
    const key = `${run.path}\n${identity}`;
    const kept = this.connections.get(run.path);
    let queries: EventLogQueries;
    if (keepOpen && kept !== undefined && kept.identity === identity) {
      queries = kept.queries;
      remember(this.connections, run.path, kept, connectionsMax);
    } else {
      if (kept !== undefined) {
        kept.queries.close();
        this.connections.delete(run.path);
      }
      queries = EventLogQueries.open(run.path);
      if (keepOpen) {
        const evicted = remember(this.connections, run.path, { identity, queries }, connectionsMax);
        for (const old of evicted) old.queries.close();
      }
    }
    try {
      return queries.snapshot(() => read(queries, key));
    } finally {
      if (!keepOpen) queries.close();
    }
  }

  private countMatching(queries: EventLogQueries, key: string, filter: EventQueryFilter | undefined, head: number): number {
    const countKey = `${key}\n${filterKey(filter)}`;
    const cached = this.counts.get(countKey);
    const count = cached !== undefined && cached.head <= head ? cached.count + queries.count(filter, cached.head, head) : queries.count(filter, 0, head);
    remember(this.counts, countKey, { head, count }, countsMax);
    return count;
  }

  /** The scrubber's timeline: event density per slice of virtual time, and the operator actions. */
  timeline(params: Params<'run.timeline'>): ResultOf<'run.timeline'> {
    const run = this.locate(params.runId);
    const dir = dirname(run.path);
    const controller = [...this.options.sessionRuns()].find((item) => item.runId === params.runId);
    return this.withLog(params.runId, (queries) => {
      const head = queries.headPosition();
      const durationUs = declaredDurationUs(queries.db);
      const recorded = controller !== undefined ? controller.actions() : readActions(dir);
      return {
        runId: params.runId,
        durationUs,
        headPosition: head,
        live: run.live,
        buckets: timelineBuckets(queries.db, durationUs, params.buckets, head),
        actions: recorded
          .filter((action) => action.sequence + 1 <= head)
          .map((action) => ({
            position: action.sequence + 1,
            type: operatorEventTypes[action.action.kind],
            virtualTimeUs: action.virtualTimeUs,
            detail: action.action.kind === 'set' ? `${action.action.path} = ${JSON.stringify(action.action.value)}` : action.action.kind,
          })),
      };
    });
  }

  /** A finished run's stored telemetry, with the SLOs its scenario declares. */
  telemetry(params: Params<'telemetry.get'>): ResultOf<'telemetry.get'> {
    const dir = dirname(this.locate(params.runId).path);
    let slos: ServiceLevelObjective[] = [];
    try {
      const manifest = readRunManifest(dir);
      slos = parseScenarioText(manifest.scenario.text, 'manifest').slos ?? [];
    } catch {
      // A run without a readable manifest still shows its series.
    }
    return this.withLog(params.runId, (queries) => {
      const stored = readTelemetry(queries.db);
      if (stored === undefined) throw new AuraError('not_found', `run ${params.runId} has no telemetry (recorded by an older AURA Lab, or not finished)`);
      return telemetryView(params.runId, stored, slos, params.fromSecond);
    });
  }

  /** A projection's state as of a position (snapshot plus fold). */
  stateAt(params: Params<'run.stateAt'>): ResultOf<'run.stateAt'> {
    return this.withLog(params.runId, (queries) => projectionStateAt(queries.db, params.projection, params.position));
  }

  /** The directory of a run of this session or found under the data directory. */
  runDirectory(runId: string): string {
    return dirname(this.locate(runId).path);
  }

  private locate(runId: string): LocatedRun {
    for (const run of this.options.sessionRuns()) {
      if (run.runId === runId) return { runId, path: join(run.spec.outDir, eventLogFile), live: run.running };
    }
    const known = this.knownPaths.get(runId);
    if (known !== undefined && existsSync(known)) return { runId, path: known, live: false };
    const dir = join(this.options.dataDir, 'runs', runId);
    if (readManifest(dir)?.runId === runId) return { runId, path: join(dir, eventLogFile), live: false };
    const found = this.diskRuns().find((candidate) => candidate.entry.runId === runId);
    if (found !== undefined) return { runId, path: join(found.entry.outDir, eventLogFile), live: false };
    throw new AuraError('not_found', `no run ${runId} in this engine or under ${join(this.options.dataDir, 'runs')}`);
  }

  /** Runs under <dataDir>/runs with a readable manifest, newest directories first. */
  private diskRuns(): { entry: RunHistoryEntry; sortKey: number }[] {
    const root = join(this.options.dataDir, 'runs');
    let names: string[];
    try {
      names = readdirSync(root, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return [];
    }
    const dirs = names
      .map((name) => ({ dir: join(root, name), sortKey: directoryTime(join(root, name)) }))
      .sort((a, b) => b.sortKey - a.sortKey)
      .slice(0, historyMax);
    const found: { entry: RunHistoryEntry; sortKey: number }[] = [];
    for (const { dir, sortKey } of dirs) {
      const manifest = readManifest(dir);
      if (manifest === undefined) continue;
      const status = (runStatuses as readonly string[]).includes(manifest.status) ? manifest.status : 'interrupted';
      const parsed = runHistoryEntrySchema.safeParse({
        runId: manifest.runId,
        scenario: manifest.scenario.name,
        seed: manifest.seed,
        status,
        outDir: dir,
        events: manifest.events ?? this.headOf(manifest.runId, join(dir, eventLogFile)) ?? manifest.headPosition ?? 0,
        headPosition: manifest.headPosition ?? 0,
        headHash: manifest.headHash ?? '',
        live: false,
      });
      if (!parsed.success) continue;
      this.knownPaths.set(parsed.data.runId, join(dir, eventLogFile));
      found.push({ entry: parsed.data, sortKey });
    }
    return found;
  }

  /** The head of a log whose manifest has no count yet (a run that did not finish here). */
  private headOf(runId: string, path: string): number | undefined {
    if (!existsSync(path)) return undefined;
    this.knownPaths.set(runId, path);
    try {
      return this.withLog(runId, (queries) => queries.headPosition());
    } catch {
      return undefined;
    }
  }
}

function browsedEvent(event: RecordedEvent): BrowsedEvent {
  let payload: unknown;
  let payloadError: string | undefined;
  try {
    payload = event.payload;
  } catch (error) {
    // A damaged payload is shown as its stored text.
    payload = 'payloadJson' in event ? event.payloadJson : null;
    payloadError = `the stored payload is not valid JSON: ${(error as Error).message}`;
  }
  // Every field but the payload (which was just read, or could not be).
  const { metadata, payload: _unread, ...fields } = toPlainEvent(event, { payload: null });
  return {
    ...fields,
    virtualTimeUs: metadata.virtualTimeUs,
    ...(metadata.causationId === undefined ? {} : { causationId: metadata.causationId }),
    ...(metadata.correlationId === undefined ? {} : { correlationId: metadata.correlationId }),
    payload,
    ...(payloadError === undefined ? {} : { payloadError }),
  };
}

/** A finished run's operator actions, from its manifest (none when it has no readable one). */
function readActions(dir: string): RecordedAction[] {
  try {
    return [...readRunManifest(dir).actions];
  } catch {
    return [];
  }
}

function readManifest(dir: string): z.infer<typeof manifestSchema> | undefined {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** When a run directory was made (its birth time where the file system keeps one). */
function directoryTime(dir: string): number {
  try {
    const stat = statSync(dir);
    return stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
  } catch {
    return 0;
  }
}

/** Sets a key as the most recently used; returns the values evicted beyond `max`. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): V[] {
  map.delete(key);
  map.set(key, value);
  const evicted: V[] = [];
  for (const [oldKey, oldValue] of map) {
    if (map.size <= max) break;
    map.delete(oldKey);
    evicted.push(oldValue);
  }
  return evicted;
}
