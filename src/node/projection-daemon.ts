/**
 * Keeps a run's projections up to date on the worker pool, the way an async projection daemon
 * should and without the failures users of such daemons report:
 *
 * - never skips, never double-applies: each shard of each projection has one task in flight at
 *   a time, over the next range after its checkpoint; its new state, its checkpoint and the
 *   events it parked are committed in one transaction when the task returns. A task that fails
 *   (a worker crashed, was killed, or hung and was aborted) is simply run again from the same
 *   checkpoint;
 * - a poison event (apply throws) is parked with its error; the projection goes on, or halts
 *   until an operator resumes it past the event, as its policy says;
 * - no silent stalls: a shard that is behind and has made no progress for `stallMs` is reported
 *   stalled, and a task outstanding that long is aborted (its worker is replaced) and retried;
 * - rebuilds run in shadow from position 1 while the live projection keeps serving; when the
 *   shadow has caught up, the two are compared, the difference reported, and the shadow swapped
 *   in (a same-version rebuild that differs is kept aside instead: that is a bug to look at).
 *
 * Lag is reported in events and in milliseconds, and append-to-projected latency is measured,
 * from the wall-clock time of each commit (telemetry: nothing of it enters a projection).
 */
import type Database from 'better-sqlite3';
import { canonicalJson, type JsonValue } from '../core/kernel/canonical.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { limits } from '../core/kernel/limits.ts';
import { LatencyHistogram, type HistogramSummary } from '../core/kernel/histogram.ts';
import type { Clock } from '../core/ports/clock.ts';
import { initialShardState, mergeShardStates, mergeShards, shardCount, type ParkedEvent, type ProjectionDefinition } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import type { ProjectionTask, ProjectionTaskResult, ShardFoldResult } from './projection-task.ts';

/** What the daemon needs of a worker pool (the real one is ProjectionPool). */
export interface ProjectionWorkers {
  run(task: ProjectionTask, signal?: AbortSignal): Promise<ProjectionTaskResult>;
  /** Worker threads: shards that share a read are spread over this many tasks (1 if unknown). */
  readonly threads?: number;
}
import type { SqliteEventStore } from './sqlite-event-store.ts';

export type Role = 'live' | 'shadow';

export interface DaemonOptions {
  /** Events per task while keeping up with live appends. */
  readonly batchEvents?: number;
  /** Events per task when far behind (rebuilds, catch-up). */
  readonly catchUpBatchEvents?: number;
  /** Behind and no progress for this long: stalled (checked every stallMs / 8, so a stall is seen within 4.5 s by default); a task outstanding this long is aborted. */
  readonly stallMs?: number;
  /** Consecutive failures of a shard's task before it is reported failed (it is still retried). */
  readonly failuresReported?: number;
  /** Live shards keep their state every this many events, for time travel (default limits.snapshotEveryEvents). */
  readonly snapshotEveryEvents?: number;
}

interface Shard {
  readonly shard: number;
  checkpoint: number;
  stateJson: string;
  halted: ParkedEvent | undefined;
  inFlight: AbortController | undefined;
  inFlightSinceMs: number;
  failures: number;
  lastError: string | undefined;
  /** After a second failure in a row, not tried again before this (monotonic ms): see retryDelayMs. */
  retryAtMs: number;
  /** When this shard last advanced, or last fell behind after being caught up. */
  progressMs: number;
  /** Largest range per task: halved after a task is aborted as hung, grown back on success. */
  batchLimit: number;
  /** Stalls detected so far, and the last one. */
  stalls: number;
  lastStall: StallReport | undefined;
  stalledAtMs: number | undefined;
  /** The split catch-up this shard is in, if any. */
  split: Split | undefined;
  /** A split of this shard was given up (a part kept failing): it catches up unsplit from then on. */
  splitAbandoned: boolean;
}

export interface StallReport {
  /** How long the shard had been behind without progress when the stall was detected. */
  readonly detectedAfterMs: number;
  /** When it made progress again, relative to the detection (null while still stalled). */
  readonly recoveredAfterMs: number | null;
}

interface Instance {
  readonly name: string;
  readonly role: Role;
  readonly definition: ProjectionDefinition;
  readonly version: number;
  readonly shards: Shard[];
  readonly latency: LatencyHistogram;
  /** Shadow only: swap when caught up (rebuild) or just compare (compare). */
  readonly swap: boolean;
}

export type ProjectionStatus = 'catching_up' | 'live' | 'halted' | 'stalled' | 'failed';

export interface CompareReport {
  readonly projection: string;
  readonly at: number;
  readonly equal: boolean;
  readonly liveVersion: number;
  readonly shadowVersion: number;
  /** Top-level keys whose values differ (at most 20). */
  readonly differences: string[];
  readonly swapped: boolean;
}

export interface ProjectionHealth {
  readonly name: string;
  readonly version: number;
  readonly status: ProjectionStatus;
  readonly checkpoint: number;
  readonly lagEvents: number;
  readonly lagMs: number;
  readonly shards: number;
  readonly parked: number;
  readonly halted: ParkedEvent | null;
  readonly error: string | null;
  readonly latency: HistogramSummary;
  readonly rebuild: { readonly checkpoint: number; readonly lagEvents: number; readonly swap: boolean } | null;
  /**
   * A catch-up split over the workers, while it runs: positions (from, to] are being folded in
   * `parts` parts at once, `folded` of them so far (the checkpoint moves through the first part
   * only, and jumps as each later part is joined on).
   */
  readonly catchUp: { readonly from: number; readonly to: number; readonly folded: number; readonly parts: number } | null;
  readonly lastCompare: CompareReport | null;
  readonly stalls: number;
  readonly lastStall: StallReport | null;
}

export type DaemonEvent =
  | { kind: 'progress'; name: string; role: Role }
  | { kind: 'parked'; name: string; events: readonly ParkedEvent[] }
  | { kind: 'compared'; report: CompareReport }
  | { kind: 'stalled'; name: string; role: Role; shard: number; afterMs: number }
  /** Live positions (after, to] were projected `latencyMs` after their commit (telemetry). */
  | { kind: 'projected'; name: string; after: number; to: number; latencyMs: number };

/** Commit times of appends, to turn positions into wall-clock ages. */
class CommitTimes {
  private readonly positions: number[] = [];
  private readonly times: number[] = [];

  record(headPosition: number, atMs: number): void {
    this.positions.push(headPosition);
    this.times.push(atMs);
    if (this.positions.length > 200_000) {
      this.positions.splice(0, 100_000);
      this.times.splice(0, 100_000);
    }
  }

  /** When `position` was committed (the first commit that reached it), if known. */
  timeOf(position: number): number | undefined {
    let low = 0;
    let high = this.positions.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.positions[middle] as number) >= position) {
        found = middle;
        high = middle - 1;
      } else low = middle + 1;
    }
    return found < 0 ? undefined : this.times[found];
  }

  /** Commits covering (from, to]: [first position before the span, last position of the span, commit time]. */
  *between(from: number, to: number): Generator<[number, number, number]> {
    let previous = from;
    for (let index = 0; index < this.positions.length && previous < to; index++) {
      const position = this.positions[index] as number;
      if (position <= previous) continue;
      const end = Math.min(position, to);
      yield [previous, end, this.times[index] as number];
      previous = end;
    }
  }
}

const compareKeysMax = 20;

/**
 * How long to wait before trying a failed range again: at once after one failure (a killed
 * worker: Piscina has replaced it), then 50 ms doubling up to 5 s, so that a task that fails
 * every time (an unreadable file) does not keep a worker and this thread busy. The range is
 * picked up again at the next notify after that: a new append, or the watchdog's tick (every
 * stallMs / 8, 500 ms by default), so the shortest waits are in practice up to a tick long.
 */
export function retryDelayMs(failures: number): number {
  return failures < 2 ? 0 : Math.min(5_000, 50 * 2 ** Math.min(failures - 2, 7));
}

/** A part of a split catch-up whose task failed this many times in a row is given up: its shards catch up unsplit. */
const spanFailuresMax = 3;

function newShard(shard: number, now: number, checkpoint: number, stateJson: string, halted: ParkedEvent | undefined): Shard {
  return {
    shard,
    checkpoint,
    stateJson,
    halted,
    inFlight: undefined,
    inFlightSinceMs: 0,
    failures: 0,
    retryAtMs: 0,
    lastError: undefined,
    progressMs: now,
    batchLimit: Number.POSITIVE_INFINITY,
    stalls: 0,
    lastStall: undefined,
    stalledAtMs: undefined,
    split: undefined,
    splitAbandoned: false,
  };
}

function differingKeys(a: string, b: string): string[] {
  const left = JSON.parse(a) as JsonValue;
  const right = JSON.parse(b) as JsonValue;
  if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null || Array.isArray(left) || Array.isArray(right)) return a === b ? [] : ['(whole state)'];
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].sort();
  return keys.filter((key) => canonicalJson((left as Record<string, JsonValue>)[key] ?? null) !== canonicalJson((right as Record<string, JsonValue>)[key] ?? null)).slice(0, compareKeysMax);
}

/** How far a split catch-up has come: the shards' part (up to the first span not joined yet) and every span's. */
function splitProgress(split: Split | undefined): ProjectionHealth['catchUp'] {
  if (split === undefined) return null;
  const first = split.spans[0]?.from ?? split.to + 1;
  const shards = Math.min(...split.items.map(({ shard }) => Math.min(shard.checkpoint, first - 1)));
  const spans = split.spans.reduce((sum, span) => sum + (span.next - span.from), 0);
  return { from: split.from, to: split.to, folded: Math.max(0, shards - split.from) + spans, parts: split.parts };
}

/** Bytes from a worker as a Buffer for binding (a view: nothing copied). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A later part of a split catch-up: folded from the initial state by its own chain of tasks,
 * kept in memory (its snapshots are stored as parts), and joined onto the shards' states when
 * they reach its start.
 */
interface Span {
  readonly from: number;
  readonly to: number;
  /** Next position to fold: [from, next) is folded. */
  next: number;
  /** Per shard of the split, the fold of [from, next) from the initial state. */
  states: string[];
  parked: ParkedEvent[][];
  inFlight: AbortController | undefined;
  inFlightSinceMs: number;
  failures: number;
  retryAtMs: number;
  /** Why the watchdog aborted the task in flight, if it did. */
  hung: string | undefined;
}

/**
 * A long catch-up split over the workers. The shards fold the first part themselves (tasks and
 * commits as usual, up to `spans[0].from - 1`); each later span is folded at the same time on
 * another worker, from the initial state, so that every worker reads only its part of the log
 * (lanes would each read all of it). Projections with merge only.
 */
interface Split {
  readonly items: readonly { readonly instance: Instance; readonly shard: Shard }[];
  readonly spans: Span[];
  /** The shards' checkpoint when it was planned, the head then, and the parts it was cut into. */
  readonly from: number;
  readonly to: number;
  readonly parts: number;
  /** The last failure of a part, until that part succeeds (shown in its shards' health). */
  error: string | undefined;
}

export class ProjectionDaemon {
  private readonly instances: Instance[] = [];
  private readonly statements;
  private readonly commits = new CommitTimes();
  private readonly unsubscribe: () => void;
  private readonly watchdog: ReturnType<typeof setInterval>;
  private readonly batchEvents: number;
  private readonly catchUpBatchEvents: number;
  private readonly stallMs: number;
  private readonly failuresReported: number;
  private readonly snapshotEveryEvents: number;
  private readonly skips = new Map<string, number[]>();
  private readonly compares = new Map<string, CompareReport>();
  private readonly splits: Split[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly pool: ProjectionWorkers,
    names: readonly string[],
    private readonly clock: Clock,
    private readonly onEvent: (event: DaemonEvent) => void = () => undefined,
    options: DaemonOptions = {},
  ) {
    this.batchEvents = options.batchEvents ?? 5_000;
    this.catchUpBatchEvents = options.catchUpBatchEvents ?? 50_000;
    this.stallMs = options.stallMs ?? 4_000;
    this.failuresReported = options.failuresReported ?? 3;
    this.snapshotEveryEvents = options.snapshotEveryEvents ?? limits.snapshotEveryEvents;
    const db = store.db;
    this.statements = {
      load: db.prepare<[string, string], { shard: number; version: number; checkpoint: number; state: string; halted_at: number | null }>(
        'SELECT shard, version, checkpoint, state, halted_at FROM projections WHERE name = ? AND role = ? ORDER BY shard',
      ),
      save: db.prepare<[string, string, number, number, number, string, number | null]>('INSERT OR REPLACE INTO projections (name, role, shard, version, checkpoint, state, halted_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      park: db.prepare<[string, string, number, string]>('INSERT OR REPLACE INTO projection_parked (name, role, position, error) VALUES (?, ?, ?, ?)'),
      parked: db.prepare<[string, string], { position: number; error: string }>('SELECT position, error FROM projection_parked WHERE name = ? AND role = ? ORDER BY position'),
      parkedCount: db.prepare<[string, string], { n: number }>('SELECT COUNT(*) AS n FROM projection_parked WHERE name = ? AND role = ?'),
      deleteRole: db.prepare<[string, string]>('DELETE FROM projections WHERE name = ? AND role = ?'),
      deleteParked: db.prepare<[string, string]>('DELETE FROM projection_parked WHERE name = ? AND role = ?'),
      promote: db.prepare<[string]>("UPDATE projections SET role = 'live' WHERE name = ? AND role = 'shadow'"),
      promoteParked: db.prepare<[string]>("UPDATE projection_parked SET role = 'live' WHERE name = ? AND role = 'shadow'"),
      // States arrive as UTF-8 bytes (or text): stored as text.
      snapshot: db.prepare<[string, string, number, number, string | Buffer]>('INSERT OR REPLACE INTO projection_snapshots (name, role, shard, position, state) VALUES (?, ?, ?, ?, CAST(? AS TEXT))'),
      snapshotPart: db.prepare<[string, string, number, number, number, Buffer]>('INSERT OR REPLACE INTO projection_snapshot_parts (name, role, shard, position, base, state) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))'),
      deleteSnapshots: db.prepare<[string, string]>('DELETE FROM projection_snapshots WHERE name = ? AND role = ?'),
      deleteSnapshotParts: db.prepare<[string, string]>('DELETE FROM projection_snapshot_parts WHERE name = ? AND role = ?'),
      skip: db.prepare<[string, number]>('INSERT OR IGNORE INTO projection_skips (name, position) VALUES (?, ?)'),
      skips: db.prepare<[string], { position: number }>('SELECT position FROM projection_skips WHERE name = ? ORDER BY position'),
    };
    for (const name of names) {
      const definition = findProjection(name);
      if (definition === undefined) throw new AuraError('not_found', `unknown projection ${name}`);
      this.skips.set(name, this.statements.skips.all(name).map((row) => row.position));
      const live = this.load(name, 'live', definition, false);
      this.instances.push(live);
      const shadow = this.statements.load.all(name, 'shadow');
      if (shadow.length > 0) this.instances.push(this.load(name, 'shadow', definition, true));
      else if (live.version !== definition.version) this.startShadow(definition, true);
    }
    const now = clock.monotonicMs();
    this.commits.record(store.headPosition(), now);
    this.unsubscribe = store.onAppended((head) => {
      this.commits.record(head, this.clock.monotonicMs());
      this.notify();
    });
    this.watchdog = setInterval(() => this.checkStalls(), Math.max(25, Math.floor(this.stallMs / 8)));
    this.watchdog.unref();
    this.notify();
  }

  private load(name: string, role: Role, definition: ProjectionDefinition, swap: boolean): Instance {
    const rows = this.statements.load.all(name, role);
    const shards = shardCount(definition);
    const usable = rows.length === shards && rows.every((row) => row.version === rows[0]?.version);
    // Stored rows of another shape (another version with other shards) cannot continue: start over.
    const version = usable ? (rows[0]?.version ?? definition.version) : definition.version;
    const now = this.clock.monotonicMs();
    return {
      name,
      role,
      definition,
      version,
      swap,
      latency: new LatencyHistogram(),
      shards: Array.from({ length: shards }, (_, shard) => {
        const row = usable ? rows[shard] : undefined;
        const halted = row?.halted_at === null || row?.halted_at === undefined ? undefined : { position: row.halted_at, error: this.parkedError(name, role, row.halted_at) };
        return newShard(shard, now, row?.checkpoint ?? 0, row?.state ?? canonicalJson(initialShardState(definition)), halted);
      }),
    };
  }

  private parkedError(name: string, role: Role, position: number): string {
    return this.statements.parked.all(name, role).find((row) => row.position === position)?.error ?? 'halted';
  }

  // ---- scheduling ---------------------------------------------------------------------------

  /**
   * The head advanced or a task finished: give every idle shard that is behind its next range.
   * Live shards share tasks by lane (one read of the log folds several shards); a shard that
   * failed or stalled goes alone until it is healthy, so that it cannot hold the others back.
   */
  notify(): void {
    if (this.closed) return;
    const head = this.store.headPosition();
    // Each live shard has a lane (a worker's share, fixed by its order); a lane's shards at the
    // same checkpoint go in one task, so lanes read the log once per range and do not fragment.
    const lanes = Math.max(1, this.pool.threads ?? 1);
    const now = this.clock.monotonicMs();
    if (lanes > 1) this.planSplits(head, lanes);
    for (const split of this.splits) this.advanceSplit(split, now);
    const groups = new Map<string, { limit: number; items: { instance: Instance; shard: Shard }[] }>();
    let order = 0;
    for (const instance of this.instances) {
      // Rebuilds take one worker at most, so that live projections keep their latency.
      if (instance.role === 'shadow' && this.instances.some((other) => other.role === 'shadow' && other.shards.some((shard) => shard.inFlight !== undefined))) continue;
      for (const shard of instance.shards) {
        const lane = instance.role === 'live' ? order++ % lanes : -1;
        // A shard in a split goes up to the start of the split's next span, then waits for it.
        const limit = this.splitLimit(shard) ?? head;
        if (shard.inFlight !== undefined || shard.halted !== undefined || shard.checkpoint >= limit || shard.retryAtMs > now) continue;
        if (instance.role === 'shadow' || shard.failures > 0 || Number.isFinite(shard.batchLimit)) {
          this.dispatch([{ instance, shard }], limit);
          continue;
        }
        const key = limit === head ? `${lane}:${shard.checkpoint}` : `split:${shard.checkpoint}:${limit}`;
        const group = groups.get(key) ?? { limit, items: [] };
        group.items.push({ instance, shard });
        groups.set(key, group);
      }
    }
    for (const group of groups.values()) this.dispatch(group.items, group.limit);
    this.maybeSwap();
    this.settle();
  }

  /** Runs one task for the shards over the next range after their (common) checkpoint, up to `head`. */
  private dispatch(items: readonly { instance: Instance; shard: Shard }[], head: number): void {
    const first = items[0];
    if (first === undefined) return;
    const checkpoint = first.shard.checkpoint;
    const lag = head - checkpoint;
    let size = first.instance.role === 'shadow' || lag > this.catchUpBatchEvents || first.shard.split !== undefined ? this.catchUpBatchEvents : this.batchEvents;
    for (const { shard } of items) size = Math.min(size, shard.batchLimit);
    const from = checkpoint + 1;
    const to = Math.min(head, checkpoint + size);
    const abort = new AbortController();
    const now = this.clock.monotonicMs();
    for (const { shard } of items) {
      shard.inFlight = abort;
      shard.inFlightSinceMs = now;
    }
    const folds = items.map(({ instance, shard }) => this.foldOf(instance, shard.shard, shard.stateJson, from, to));
    this.pool
      .run({ dbPath: this.store.path, fromPosition: from, toPosition: to, folds }, abort.signal)
      .then((result) => {
        if (this.closed) return;
        // Every shard of the task commits in one transaction, each with its own checkpoint.
        this.store.db.transaction(() => {
          items.forEach(({ instance, shard }, index) => {
            const fold = result.folds[index];
            if (fold === undefined) throw new AuraError('internal', `worker returned ${result.folds.length} folds for ${items.length} shards`);
            this.completed(instance, shard, from, to, fold);
          });
        })();
      })
      .catch((error: unknown) => {
        for (const { instance, shard } of items) this.failed(instance, shard, error);
      })
      .finally(() => {
        for (const { shard } of items) if (shard.inFlight === abort) shard.inFlight = undefined;
        this.notify();
      });
  }

  private foldOf(instance: Instance, shard: number, stateJson: string, from: number, to: number): ProjectionTask['folds'][number] {
    return {
      projection: instance.name,
      shard,
      stateJson,
      skip: (this.skips.get(instance.name) ?? []).filter((position) => position >= from && position <= to),
      // Live shards keep their state at every snapshot position they pass (time travel).
      snapshotEvery: instance.role === 'live' ? this.snapshotEveryEvents : 0,
    };
  }

  // ---- catch-ups split over the workers -------------------------------------------------------

  /** The position a shard in a split folds up to before the next span is joined on. */
  private splitLimit(shard: Shard): number | undefined {
    const span = shard.split?.spans[0];
    return span === undefined ? undefined : span.from - 1;
  }

  /**
   * Live shards far behind (more than a catch-up range), idle and healthy, whose projection can
   * join folds (merge) and never halts: those at the same checkpoint are split over the workers,
   * the lag cut into as many equal spans.
   */
  private planSplits(head: number, lanes: number): void {
    const candidates = new Map<number, { instance: Instance; shard: Shard }[]>();
    for (const instance of this.instances) {
      if (instance.role !== 'live' || instance.definition.merge === undefined || instance.definition.onPoison === 'halt') continue;
      for (const shard of instance.shards) {
        if (shard.inFlight !== undefined || shard.halted !== undefined || shard.failures > 0 || Number.isFinite(shard.batchLimit) || shard.splitAbandoned) continue;
        if (head - shard.checkpoint <= this.catchUpBatchEvents || shard.split !== undefined) continue;
        const group = candidates.get(shard.checkpoint) ?? [];
        group.push({ instance, shard });
        candidates.set(shard.checkpoint, group);
      }
    }
    for (const [checkpoint, items] of candidates) {
      const length = Math.ceil((head - checkpoint) / lanes);
      const spans: Span[] = [];
      for (let index = 1; index < lanes; index++) {
        const from = checkpoint + index * length + 1;
        const to = Math.min(head, checkpoint + (index + 1) * length);
        if (from > to) break;
        spans.push({ from, to, next: from, states: items.map(({ instance }) => JSON.stringify(initialShardState(instance.definition))), parked: items.map(() => []), inFlight: undefined, inFlightSinceMs: 0, failures: 0, retryAtMs: 0, hung: undefined });
      }
      if (spans.length === 0) continue;
      const split: Split = { items, spans, from: checkpoint, to: spans[spans.length - 1]?.to ?? head, parts: spans.length + 1, error: undefined };
      this.splits.push(split);
      for (const { shard } of items) shard.split = split;
    }
  }

  /** Gives each idle span its next range, and joins the first span on once the shards have reached it and it is complete. */
  private advanceSplit(split: Split, now: number): void {
    for (const span of split.spans) if (span.inFlight === undefined && span.next <= span.to && span.retryAtMs <= now) this.dispatchSpan(split, span);
    const span = split.spans[0];
    if (span === undefined) return;
    const ready = span.next > span.to && span.inFlight === undefined && split.items.every(({ shard }) => shard.checkpoint === span.from - 1 && shard.inFlight === undefined && shard.halted === undefined);
    if (!ready) return;
    this.store.db.transaction(() => {
      split.items.forEach(({ instance, shard }, index) => {
        // The state the span's parts are joined onto, as a whole snapshot of its own (splits are of live shards only).
        if (this.snapshotEveryEvents > 0) this.statements.snapshot.run(instance.name, instance.role, shard.shard, shard.checkpoint, shard.stateJson);
        const stateJson = JSON.stringify(mergeShardStates(instance.definition, JSON.parse(shard.stateJson) as JsonValue, JSON.parse(span.states[index] as string) as JsonValue));
        this.completed(instance, shard, span.from, span.to, { stateJson, lastPosition: span.to, applied: 0, parked: span.parked[index] ?? [], snapshots: [] });
      });
    })();
    split.spans.shift();
    if (split.spans.length > 0) return;
    this.splits.splice(this.splits.indexOf(split), 1);
    for (const { shard } of split.items) shard.split = undefined;
  }

  private dispatchSpan(split: Split, span: Span): void {
    const from = span.next;
    const to = Math.min(span.to, from + this.catchUpBatchEvents - 1);
    const abort = new AbortController();
    span.inFlight = abort;
    span.inFlightSinceMs = this.clock.monotonicMs();
    const folds = split.items.map(({ instance, shard }, index) => this.foldOf(instance, shard.shard, span.states[index] as string, from, to));
    this.pool
      .run({ dbPath: this.store.path, fromPosition: from, toPosition: to, folds }, abort.signal)
      .then((result) => {
        if (this.closed || !this.splits.includes(split)) return;
        const base = span.from - 1;
        const folded = split.items.map(({ instance }, index) => {
          const fold = result.folds[index];
          if (fold === undefined || fold.halted !== undefined || fold.lastPosition !== to) throw new AuraError('internal', `worker folded ${instance.name} of a span up to ${fold?.lastPosition}, expected ${to}`);
          return fold;
        });
        this.store.db.transaction(() => {
          split.items.forEach(({ instance, shard }, index) => {
            for (const snapshot of (folded[index] as ShardFoldResult).snapshots) this.statements.snapshotPart.run(instance.name, instance.role, shard.shard, snapshot.position, base, asBuffer(snapshot.state));
          });
        })();
        // Only once the parts are stored does the span move on (a failed commit leaves it as it was).
        folded.forEach((fold, index) => {
          span.states[index] = fold.stateJson;
          for (const parked of fold.parked) span.parked[index]?.push(parked);
        });
        span.next = to + 1;
        span.failures = 0;
        split.error = undefined;
        // The split's progress is its shards' progress: waiting for a span is not a stall.
        const now = this.clock.monotonicMs();
        for (const { shard } of split.items) shard.progressMs = now;
      })
      .catch((error: unknown) => {
        if (this.closed || !this.splits.includes(split)) return;
        // Nothing of the failed range was kept: it is folded again from the span's state. The
        // error shows in the shards' health; a part that keeps failing ends the split.
        span.failures += 1;
        span.retryAtMs = this.clock.monotonicMs() + retryDelayMs(span.failures);
        const message = span.hung ?? (error instanceof Error ? error.message : String(error));
        span.hung = undefined;
        split.error = `catch-up part ${from}..${to} failed (${span.failures} in a row): ${message}`;
        if (span.failures >= spanFailuresMax) this.abandonSplit(split);
      })
      .finally(() => {
        if (span.inFlight === abort) span.inFlight = undefined;
        this.notify();
      });
  }

  /**
   * Gives a split up: its spans' work is dropped (their parts stay valid, being folds of fixed
   * ranges; a task still in flight is aborted, its worker replaced, so that none can hang
   * unwatched), and its shards catch up on their own, never split again.
   */
  private abandonSplit(split: Split): void {
    this.splits.splice(this.splits.indexOf(split), 1);
    for (const span of split.spans) span.inFlight?.abort();
    for (const { shard } of split.items) {
      shard.split = undefined;
      shard.splitAbandoned = true;
      // Shown until the shard's own next task succeeds.
      shard.lastError = split.error;
    }
  }

  private completed(instance: Instance, shard: Shard, from: number, to: number, result: ShardFoldResult): void {
    if (this.closed || !this.instances.includes(instance)) return;
    if (result.halted === undefined && result.lastPosition !== to) throw new AuraError('internal', `worker folded ${instance.name} up to ${result.lastPosition}, expected ${to}`);
    this.store.db.transaction(() => {
      this.statements.save.run(instance.name, instance.role, shard.shard, instance.version, result.lastPosition, result.stateJson, result.halted?.position ?? null);
      for (const parked of result.parked) this.statements.park.run(instance.name, instance.role, parked.position, parked.error);
      if (result.halted) this.statements.park.run(instance.name, instance.role, result.halted.position, result.halted.error);
      if (instance.role === 'live') for (const snapshot of result.snapshots) this.statements.snapshot.run(instance.name, instance.role, shard.shard, snapshot.position, asBuffer(snapshot.state));
    })();
    const now = this.clock.monotonicMs();
    for (const [before, end, committedAt] of this.commits.between(from - 1, result.lastPosition)) {
      instance.latency.record(now - committedAt, end - before);
      if (instance.role === 'live') this.onEvent({ kind: 'projected', name: instance.name, after: before, to: end, latencyMs: now - committedAt });
    }
    if (result.lastPosition > shard.checkpoint) {
      shard.progressMs = now;
      if (shard.lastStall !== undefined && shard.lastStall.recoveredAfterMs === null) {
        shard.lastStall = { ...shard.lastStall, recoveredAfterMs: Math.round(now - (shard.stalledAtMs ?? now)) };
      }
      if (Number.isFinite(shard.batchLimit)) shard.batchLimit = shard.batchLimit * 2 >= this.catchUpBatchEvents ? Number.POSITIVE_INFINITY : shard.batchLimit * 2;
    }
    shard.checkpoint = result.lastPosition;
    shard.stateJson = result.stateJson;
    shard.halted = result.halted;
    shard.failures = 0;
    shard.retryAtMs = 0;
    shard.lastError = undefined;
    const parked = result.halted ? [...result.parked, result.halted] : result.parked;
    if (parked.length > 0) this.onEvent({ kind: 'parked', name: instance.name, events: parked });
    this.onEvent({ kind: 'progress', name: instance.name, role: instance.role });
  }

  private failed(instance: Instance, shard: Shard, error: unknown): void {
    if (this.closed) return;
    // Nothing was committed: the same range is tried again from the same checkpoint.
    shard.failures += 1;
    shard.retryAtMs = this.clock.monotonicMs() + retryDelayMs(shard.failures);
    const message = error instanceof Error ? error.message : String(error);
    if (shard.lastError === undefined || !shard.lastError.startsWith('a task made no progress')) shard.lastError = message;
  }

  /**
   * Behind without progress for stallMs: the stall is reported (an event, and in health), and a
   * task hung that long is aborted (Piscina replaces its worker), retried on half the range.
   */
  private checkStalls(): void {
    if (this.closed) return;
    const now = this.clock.monotonicMs();
    const head = this.store.headPosition();
    for (const instance of this.instances) {
      for (const shard of instance.shards) {
        if (shard.checkpoint >= head || shard.halted !== undefined) {
          shard.progressMs = now;
          continue;
        }
        const stuckMs = now - shard.progressMs;
        if (stuckMs <= this.stallMs) continue;
        if (shard.stalledAtMs === undefined || shard.stalledAtMs < shard.progressMs) {
          shard.stalledAtMs = now;
          shard.stalls += 1;
          shard.lastStall = { detectedAfterMs: Math.round(stuckMs), recoveredAfterMs: null };
          this.onEvent({ kind: 'stalled', name: instance.name, role: instance.role, shard: shard.shard, afterMs: Math.round(stuckMs) });
        }
        if (shard.inFlight !== undefined && now - shard.inFlightSinceMs > this.stallMs) {
          shard.lastError = `a task made no progress for ${Math.round(now - shard.inFlightSinceMs)} ms; its worker was replaced`;
          shard.batchLimit = Math.max(100, Math.floor(Math.min(shard.batchLimit, this.catchUpBatchEvents) / 2));
          shard.inFlight.abort();
        }
      }
    }
    // A span's task hung as long: aborted (its worker replaced) and run again.
    for (const split of this.splits) {
      for (const span of split.spans) {
        if (span.inFlight === undefined || now - span.inFlightSinceMs <= this.stallMs) continue;
        span.hung = `a task made no progress for ${Math.round(now - span.inFlightSinceMs)} ms; its worker was replaced`;
        span.inFlight.abort();
      }
    }
    this.notify();
  }

  // ---- rebuilds and comparisons -------------------------------------------------------------

  /** Builds `name` again in shadow from position 1, then compares and swaps it in. */
  rebuild(name: string): void {
    this.startShadow(this.definitionOf(name), true);
  }

  /** Builds `name` again in shadow and compares it with the live one, without swapping. */
  compare(name: string): void {
    this.startShadow(this.definitionOf(name), false);
  }

  private definitionOf(name: string): ProjectionDefinition {
    const live = this.instances.find((instance) => instance.name === name && instance.role === 'live');
    if (live === undefined) throw new AuraError('not_found', `no projection ${name} in this run`);
    if (this.instances.some((instance) => instance.name === name && instance.role === 'shadow')) throw new AuraError('conflict', `${name} is already being rebuilt`);
    return live.definition;
  }

  private startShadow(definition: ProjectionDefinition, swap: boolean): void {
    this.store.db.transaction(() => {
      this.statements.deleteRole.run(definition.name, 'shadow');
      this.statements.deleteParked.run(definition.name, 'shadow');
    })();
    const now = this.clock.monotonicMs();
    this.instances.push({
      name: definition.name,
      role: 'shadow',
      definition,
      version: definition.version,
      swap,
      latency: new LatencyHistogram(),
      shards: Array.from({ length: shardCount(definition) }, (_, shard) => newShard(shard, now, 0, canonicalJson(initialShardState(definition)), undefined)),
    });
    this.notify();
  }

  /** A shadow that has caught up with its live projection, both idle at the same checkpoint: compare, then swap or discard. */
  private maybeSwap(): void {
    for (const shadow of this.instances.filter((instance) => instance.role === 'shadow')) {
      const live = this.instances.find((instance) => instance.name === shadow.name && instance.role === 'live');
      if (live === undefined) continue;
      const idle = (instance: Instance) => instance.shards.every((shard) => shard.inFlight === undefined);
      const at = shadow.shards[0]?.checkpoint ?? 0;
      const aligned = [...shadow.shards, ...live.shards].every((shard) => shard.checkpoint === at);
      if (!idle(shadow) || !idle(live) || !aligned || at < this.store.headPosition()) continue;
      const liveJson = this.mergedJson(live);
      const shadowJson = this.mergedJson(shadow);
      const equal = liveJson === shadowJson;
      // A same-version rebuild that differs means a bug or damage: keep the live one and report.
      const swapped = shadow.swap && (equal || shadow.version !== live.version);
      const report: CompareReport = { projection: shadow.name, at, equal, liveVersion: live.version, shadowVersion: shadow.version, differences: equal ? [] : differingKeys(liveJson, shadowJson), swapped };
      this.store.db.transaction(() => {
        if (swapped) {
          this.statements.deleteRole.run(shadow.name, 'live');
          this.statements.deleteParked.run(shadow.name, 'live');
          // Snapshots of another version are states of another fold; same-version ones stay true.
          if (shadow.version !== live.version) {
            this.statements.deleteSnapshots.run(shadow.name, 'live');
            this.statements.deleteSnapshotParts.run(shadow.name, 'live');
          }
          this.statements.promote.run(shadow.name);
          this.statements.promoteParked.run(shadow.name);
        } else {
          this.statements.deleteRole.run(shadow.name, 'shadow');
          this.statements.deleteParked.run(shadow.name, 'shadow');
        }
      })();
      this.instances.splice(this.instances.indexOf(shadow), 1);
      if (swapped) this.instances.splice(this.instances.indexOf(live), 1, { ...shadow, role: 'live', swap: false, latency: live.latency });
      this.compares.set(shadow.name, report);
      this.onEvent({ kind: 'compared', report });
    }
  }

  /** Lets a halted projection go on past the event it halted on (recorded, so replays skip it too). */
  resume(name: string): void {
    const halted = this.instances.filter((instance) => instance.name === name).flatMap((instance) => instance.shards.filter((shard) => shard.halted !== undefined).map((shard) => ({ instance, shard })));
    if (halted.length === 0) throw new AuraError('conflict', `${name} is not halted`);
    const skips = this.skips.get(name) ?? [];
    for (const { instance, shard } of halted) {
      const position = (shard.halted as ParkedEvent).position;
      this.statements.skip.run(name, position);
      if (!skips.includes(position)) skips.push(position);
      shard.halted = undefined;
      this.statements.save.run(name, instance.role, shard.shard, instance.version, shard.checkpoint, shard.stateJson, null);
    }
    this.skips.set(name, skips.sort((a, b) => a - b));
    this.notify();
  }

  // ---- reading ------------------------------------------------------------------------------

  private mergedJson(instance: Instance): string {
    return canonicalJson(mergeShards(instance.definition, instance.shards.map((shard) => JSON.parse(shard.stateJson) as JsonValue)));
  }

  /** The live state of a projection (shards merged), as canonical JSON. */
  stateJson(name: string): string | undefined {
    const live = this.instances.find((instance) => instance.name === name && instance.role === 'live');
    return live === undefined ? undefined : this.mergedJson(live);
  }

  checkpoint(name: string): number {
    const live = this.instances.find((instance) => instance.name === name && instance.role === 'live');
    return live === undefined ? 0 : Math.min(...live.shards.map((shard) => shard.checkpoint));
  }

  parked(name: string, role: Role = 'live'): ParkedEvent[] {
    return this.statements.parked.all(name, role);
  }

  health(): ProjectionHealth[] {
    const head = this.store.headPosition();
    const now = this.clock.monotonicMs();
    return this.instances
      .filter((instance) => instance.role === 'live')
      .map((live) => {
        const checkpoint = Math.min(...live.shards.map((shard) => shard.checkpoint));
        const halted = live.shards.find((shard) => shard.halted !== undefined)?.halted ?? null;
        const failing = live.shards.find((shard) => shard.failures >= this.failuresReported);
        const stalled = live.shards.some((shard) => shard.checkpoint < head && shard.halted === undefined && now - shard.progressMs > this.stallMs);
        const oldest = this.commits.timeOf(checkpoint + 1);
        const shadow = this.instances.find((instance) => instance.name === live.name && instance.role === 'shadow');
        const shadowCheckpoint = shadow === undefined ? 0 : Math.min(...shadow.shards.map((shard) => shard.checkpoint));
        const status: ProjectionStatus = halted ? 'halted' : failing ? 'failed' : stalled ? 'stalled' : checkpoint >= head ? 'live' : 'catching_up';
        return {
          name: live.name,
          version: live.version,
          status,
          checkpoint,
          lagEvents: head - checkpoint,
          lagMs: checkpoint >= head || oldest === undefined ? 0 : Math.round(now - oldest),
          shards: live.shards.length,
          parked: this.statements.parkedCount.get(live.name, 'live')?.n ?? 0,
          halted,
          error: failing?.lastError ?? live.shards.find((shard) => shard.split?.error !== undefined)?.split?.error ?? live.shards.find((shard) => shard.lastError !== undefined)?.lastError ?? null,
          latency: live.latency.summary(),
          rebuild: shadow === undefined ? null : { checkpoint: shadowCheckpoint, lagEvents: head - shadowCheckpoint, swap: shadow.swap },
          catchUp: splitProgress(live.shards.find((shard) => shard.split !== undefined)?.split),
          lastCompare: this.compares.get(live.name) ?? null,
          stalls: live.shards.reduce((sum, shard) => sum + shard.stalls, 0),
          lastStall: live.shards.map((shard) => shard.lastStall).find((stall) => stall !== undefined) ?? null,
        };
      });
  }

  /** Resolves once every live projection has reached the head (or halted), and no rebuild is pending. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      // While someone waits, the watchdog keeps the process alive: a range waiting out its retry
      // delay has nothing else in flight.
      this.watchdog.ref();
      this.notify();
    });
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const head = this.store.headPosition();
    const done = this.instances.every((instance) => instance.shards.every((shard) => shard.inFlight === undefined && (shard.halted !== undefined || shard.checkpoint >= head)));
    if (done) {
      const waiters = this.waiters;
      this.waiters = [];
      this.watchdog.unref();
      for (const waiter of waiters) waiter();
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    this.unsubscribe();
    for (const instance of this.instances) for (const shard of instance.shards) shard.inFlight?.abort();
    for (const split of this.splits) for (const span of split.spans) span.inFlight?.abort();
    for (const waiter of this.waiters) waiter();
    this.waiters = [];
  }

  /** For tests and benchmarks: the database the states are committed to. */
  get database(): Database.Database {
    return this.store.db;
  }
}
