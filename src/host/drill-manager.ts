/**
 * Runs the disaster-recovery drills inside the engine host, one at a time, for the drill
 * console: each drill writes under `<dataDir>/drills/<drillId>`, its state is pushed as
 * `drill.progress` (at most every 200 ms, on every timeline entry, when what it waits for
 * changes, and at its end), and a game day's trainee acts through `drill.action`. While a game
 * day runs, the faults themselves stay hidden: the trainee sees symptoms, alerts, hints and their
 * own actions. Finished drills (the last 20) stay in memory for their state and debrief.
 */
import { join } from 'node:path';
import type { CheckReport } from '../core/chaos/checkers.ts';
import { drillMetrics, type RunbookAction } from '../core/chaos/drill.ts';
import { faultCatalogue } from '../core/chaos/catalogue.ts';
import { AuraError } from '../core/kernel/errors.ts';
import type { Clock } from '../core/ports/clock.ts';
import { findDrill, listDrills } from '../node/drill-loader.ts';
import type { DrillInfo, DrillRunbookAction, DrillState, DrillTimelineEntry, PushEnvelope, ResultOf } from '../shared/api.ts';
import type { DrillMode, TimelineEntry, Trainee } from './drills/context.ts';
import { debriefHtml, debriefMarkdown } from './drills/debrief.ts';
import { runDrill, type DrillReport } from './drills/run-drill.ts';

// The contract's list of runbook actions is the drill model's list (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const runbookListsAgree: Same<RunbookAction, DrillRunbookAction> = true;
void runbookListsAgree;

export interface DrillManagerOptions {
  readonly dataDir: string;
  readonly scenariosDir: string;
  readonly clock: Clock;
  readonly push: (message: PushEnvelope) => void;
  /** Where the drill files are; defaults to `<scenariosDir>/drills`. */
  readonly drillsDir?: string;
  /** Least time between two progress pushes (default 200 ms). */
  readonly pushIntervalMs?: number;
  /** Finished drills kept for drill.get and drill.debrief (default 20). */
  readonly keepFinished?: number;
}

interface Waiter {
  readonly allowed: readonly RunbookAction[];
  readonly resolve: (action: RunbookAction) => void;
  readonly reject: (error: Error) => void;
}

interface DrillRecord {
  readonly drillId: string;
  readonly drill: string;
  readonly title: string;
  readonly mode: DrillMode;
  readonly seed: number;
  readonly runbook: readonly string[];
  readonly startedAt: number;
  status: DrillState['status'];
  stage: string;
  fraction: number;
  endedAtMs: number | undefined;
  timeline: TimelineEntry[];
  waiter: Waiter | undefined;
  report: DrillReport | undefined;
  error: string | undefined;
  aborted: boolean;
  done: Promise<void>;
}

export class DrillManager {
  private readonly drills = new Map<string, DrillRecord>();
  private current: DrillRecord | undefined;
  private counter = 0;
  private lastPushAt = -Infinity;
  private pushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: DrillManagerOptions) {}

  private get drillsDir(): string {
    return this.options.drillsDir ?? join(this.options.scenariosDir, 'drills');
  }

  list(): ResultOf<'drills.list'> {
    return {
      drills: listDrills(this.drillsDir).map(({ definition }): DrillInfo => ({
        drill: definition.drill,
        kind: definition.kind,
        title: definition.title,
        description: definition.description,
        seed: definition.seed ?? 1,
        runbook: [...definition.runbook],
        targets: definition.targets.map((target) => {
          const info = drillMetrics[target.metric];
          return { metric: target.metric, label: info.label, unit: info.unit, comparison: info.comparison, lab: target.lab, seed: target.seed ?? null, weight: target.weight ?? 10 };
        }),
      })),
    };
  }

  catalogue(): ResultOf<'chaos.catalogue'> {
    return { faults: faultCatalogue.map((fault) => ({ ...fault })) };
  }

  start(params: { drill: string; mode: DrillMode; seed?: number | undefined }): ResultOf<'drill.start'> {
    if (this.current !== undefined) throw new AuraError('conflict', `drill ${this.current.drillId} is running; one drill at a time`);
    const loaded = findDrill(this.drillsDir, params.drill);
    const definition = loaded.definition;
    const seed = params.seed ?? definition.seed ?? 1;
    this.counter += 1;
    const stamp = new Date(this.options.clock.epochMs()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const drillId = `${definition.drill}-s${seed}-${stamp}-${process.pid}-${this.counter}`;
    const record: DrillRecord = {
      drillId,
      drill: definition.drill,
      title: definition.title,
      mode: params.mode,
      seed,
      runbook: [...definition.runbook],
      startedAt: performance.now(),
      status: 'running',
      stage: 'starting',
      fraction: 0,
      endedAtMs: undefined,
      timeline: [],
      waiter: undefined,
      report: undefined,
      error: undefined,
      aborted: false,
      done: Promise.resolve(),
    };
    const trainee: Trainee = {
      waitForAction: (allowed) => {
        if (record.status !== 'running' || record.aborted) return Promise.reject(new AuraError('conflict', 'the drill has ended'));
        if (record.waiter !== undefined) return Promise.reject(new AuraError('internal', 'the drill waits for the trainee twice at once'));
        return new Promise<RunbookAction>((resolve, reject) => {
          record.waiter = { allowed, resolve, reject };
          this.pushNow(record);
        });
      },
    };
    this.drills.set(drillId, record);
    this.current = record;
    record.done = runDrill(loaded, {
      dir: join(this.options.dataDir, 'drills', drillId),
      scenariosDir: this.options.scenariosDir,
      seed,
      mode: params.mode,
      ...(params.mode === 'trainer' ? { trainee } : {}),
      onProgress: (stage, fraction) => {
        record.stage = stage;
        record.fraction = Math.max(0, Math.min(1, fraction));
        this.schedulePush(record);
      },
      onTimeline: (entry) => {
        record.timeline.push(entry);
        this.pushNow(record);
      },
    }).then(
      (report) => {
        record.report = report;
        record.status = report.scorecard.passed ? 'passed' : 'failed';
        record.stage = 'done';
        record.fraction = 1;
        // The report's timeline, plus any action taken while the drill waited for none.
        record.timeline = mergeTimelines(report.timeline, record.timeline);
      },
      (error: unknown) => {
        record.status = 'error';
        record.error = record.aborted ? 'aborted by the trainee' : error instanceof Error ? error.message : String(error);
      },
    ).finally(() => {
      record.endedAtMs = this.elapsed(record);
      this.failWaiter(record, 'the drill has ended');
      if (this.current === record) this.current = undefined;
      this.forgetOld();
      this.pushNow(record);
    });
    this.pushNow(record);
    return { drillId };
  }

  get(drillId: string): DrillState {
    return this.view(this.find(drillId));
  }

  /** A trainee's runbook action: handed to the drill if it waits for one; recorded either way. */
  action(drillId: string, action: RunbookAction): ResultOf<'drill.action'> {
    const record = this.find(drillId);
    if (record.mode !== 'trainer') throw new AuraError('conflict', `drill ${drillId} runs in automatic mode: it takes no trainee action`);
    if (record.status !== 'running' || record.aborted) throw new AuraError('conflict', `drill ${drillId} has finished`);
    const waiter = record.waiter;
    if (waiter === undefined) {
      // Nothing waits for an action yet: recorded, with no effect on the drill.
      const entry: TimelineEntry = { atMs: this.elapsed(record), kind: 'action', text: `trainee: ${action} (nothing to act on yet: no effect)` };
      record.timeline.push(entry);
      this.pushNow(record);
      return { accepted: false };
    }
    // The drill records the action itself (awaitTrainee), and waits again if it was not one it takes.
    record.waiter = undefined;
    waiter.resolve(action);
    return { accepted: waiter.allowed.includes(action) };
  }

  abort(drillId: string): ResultOf<'drill.abort'> {
    const record = this.find(drillId);
    if (record.status !== 'running' || record.aborted) return { aborted: false };
    if (record.mode !== 'trainer') throw new AuraError('conflict', `drill ${drillId} runs in automatic mode: it ends by itself`);
    record.aborted = true;
    record.timeline.push({ atMs: this.elapsed(record), kind: 'note', text: 'the trainee gave up' });
    this.failWaiter(record, 'aborted by the trainee');
    this.pushNow(record);
    return { aborted: true };
  }

  debrief(drillId: string, format: 'markdown' | 'html'): ResultOf<'drill.debrief'> {
    const record = this.find(drillId);
    if (record.status === 'running') throw new AuraError('conflict', `drill ${drillId} is still running: its debrief comes at the end`);
    if (record.report === undefined) throw new AuraError('conflict', `drill ${drillId} ended in an error (${record.error ?? 'unknown'}): there is no debrief`);
    const report = { ...record.report, timeline: record.timeline };
    return { text: format === 'markdown' ? debriefMarkdown(report) : debriefHtml(report) };
  }

  /** The engine is shutting down: a game day waiting for its trainee ends now. */
  async close(): Promise<void> {
    const record = this.current;
    if (record === undefined) return;
    record.aborted = true;
    this.failWaiter(record, 'the engine is shutting down');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([record.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    if (this.pushTimer !== undefined) clearTimeout(this.pushTimer);
  }

  private find(drillId: string): DrillRecord {
    const record = this.drills.get(drillId);
    if (record === undefined) throw new AuraError('not_found', `no drill ${drillId} in this engine (finished drills are kept for the last ${this.options.keepFinished ?? 20})`);
    return record;
  }

  private elapsed(record: DrillRecord): number {
    return record.endedAtMs ?? Math.round(performance.now() - record.startedAt);
  }

  private failWaiter(record: DrillRecord, message: string): void {
    const waiter = record.waiter;
    record.waiter = undefined;
    waiter?.reject(new AuraError('conflict', message));
  }

  private forgetOld(): void {
    const keep = this.options.keepFinished ?? 20;
    const finished = [...this.drills.values()].filter((record) => record.status !== 'running');
    for (const record of finished.slice(0, Math.max(0, finished.length - keep))) this.drills.delete(record.drillId);
  }

  private view(record: DrillRecord): DrillState {
    const running = record.status === 'running';
    const timeline: DrillTimelineEntry[] = (running && record.mode === 'trainer' ? record.timeline.filter((entry) => entry.hidden !== true) : record.timeline).map((entry) => ({ ...entry }));
    const report = record.report;
    return {
      drillId: record.drillId,
      drill: record.drill,
      title: record.title,
      mode: record.mode,
      seed: record.seed,
      status: record.status,
      stage: record.stage,
      fraction: record.fraction,
      elapsedMs: this.elapsed(record),
      timeline,
      awaiting: record.waiter === undefined ? null : [...record.waiter.allowed],
      runbook: [...record.runbook],
      scorecard:
        report === undefined
          ? null
          : {
              ...report.scorecard,
              targets: report.scorecard.targets.map((target) => ({ ...target, value: finite(target.value) })),
              measurements: Object.fromEntries(Object.entries(report.scorecard.measurements).map(([name, value]) => [name, finite(value)])),
            },
      checks: report === undefined ? null : checksView(report.checks),
      ...(record.error === undefined ? {} : { error: record.error }),
    };
  }

  private schedulePush(record: DrillRecord): void {
    if (this.pushTimer !== undefined) return;
    const interval = this.options.pushIntervalMs ?? 200;
    const wait = this.lastPushAt + interval - performance.now();
    if (wait <= 0) this.pushNow(record);
    else this.pushTimer = setTimeout(() => this.pushNow(record), wait);
  }

  private pushNow(record: DrillRecord): void {
    if (this.pushTimer !== undefined) {
      clearTimeout(this.pushTimer);
      this.pushTimer = undefined;
    }
    this.lastPushAt = performance.now();
    this.options.push({ type: 'push', topic: 'drill.progress', data: this.view(record) });
  }
}

function finite(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function checksView(checks: CheckReport): NonNullable<DrillState['checks']> {
  return {
    ok: checks.ok,
    anomalies: Object.fromEntries(Object.entries(checks.anomalies).map(([name, count]) => [name, count?.count ?? 0])),
    results: checks.checks.map((check) => ({ check: check.check, ok: check.ok, checked: check.checked, anomalies: check.anomalies.length })),
  };
}

/** The drill's own timeline with the entries only the manager saw, in time order (stable). */
function mergeTimelines(report: readonly TimelineEntry[], seen: readonly TimelineEntry[]): TimelineEntry[] {
  const known = new Set(report);
  const extra = seen.filter((entry) => !known.has(entry));
  if (extra.length === 0) return [...report];
  return [...report, ...extra].map((entry, index) => ({ entry, index })).sort((a, b) => a.entry.atMs - b.entry.atMs || a.index - b.index).map(({ entry }) => entry);
}
