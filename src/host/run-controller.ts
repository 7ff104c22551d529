/**
 * Drives one run: asks the kernel for the next events, appends them to the run's store, paces
 * them against the wall clock (or not, at speed 'max'), keeps its projections up to date and
 * reports progress. Everything non-deterministic (pacing, wall time) stays here, outside the log.
 */
import { mkdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { PlannedEvent } from '../core/sim/kernel.ts';
import { RunKernel } from '../core/sim/kernel.ts';
import type { Scenario } from '../core/sim/scenario.ts';
import { limits } from '../core/kernel/limits.ts';
import { anyVersion, type StreamAppend } from '../core/ports/event-store.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { JsonValue } from '../core/kernel/canonical.ts';
import { AuraError } from '../core/kernel/errors.ts';
import type { RecordedAction } from '../core/sim/operator.ts';
import { writeTelemetry } from '../node/telemetry-store.ts';
import { TelemetryRecorder, telemetryView } from './telemetry-recorder.ts';
import { sha256Hex } from '../node/hashing.ts';
import { writeFileAtomic } from '../node/files.ts';
import type { ProjectionPool } from '../node/projection-pool.ts';
import { ProjectionDaemon, type DaemonEvent, type DaemonOptions, type ProjectionHealth } from '../node/projection-daemon.ts';
import { SqliteEventStore } from '../node/sqlite-event-store.ts';
import { createBackup, type BackupInfo } from '../node/backups.ts';
import { runFiles } from '../node/run-files.ts';
import type { FaultWindow, InjectFault, InjectFaultKind, PushEnvelope, ResultOf, RunStatus, RunSummary } from '../shared/api.ts';
import { scaleRate } from '../core/chaos/experiment.ts';
import { parseDurationUs } from '../core/sim/duration.ts';
import { rateToDocument } from '../core/sim/scenario.ts';
import { appVersion } from '../node/app-info.ts';

export interface RunOptions {
  /** Take an online backup of the log every this many events (0: never). */
  readonly backupEveryEvents: number;
  /** Backups kept per run, newest first. */
  readonly backupsKept: number;
  readonly projections?: DaemonOptions;
}

export const defaultRunOptions: RunOptions = { backupEveryEvents: limits.backupEveryEvents, backupsKept: 2 };

export interface RunSpec {
  readonly runId: string;
  readonly scenario: Scenario;
  readonly scenarioText: string;
  readonly scenarioFile: string;
  readonly seed: number;
  readonly speed: number | 'max';
  readonly outDir: string;
  /** Operator actions to apply at their sequence numbers (a fork's, or a recorded run's). */
  readonly actions?: readonly RecordedAction[];
  /** The run this one was forked from, recorded in the manifest. */
  readonly forkOf?: { readonly runId: string; readonly outDir: string; readonly at: number };
  /** Start paused (the operator steps or resumes it). */
  readonly paused?: boolean;
}

/** A state hash of the run at a position: the log's chain hash and the kernel's state there. */
export interface RunCheckpoint {
  readonly position: number;
  readonly logHash: string;
  readonly stateHash: string;
}

const progressIntervalMs = 100;
const healthIntervalMs = 500;
/** Projections small enough to push whole to the UI as they change; the others are fetched on demand. */
const pushedProjections = new Set(['events-per-second-by-type', 'slo-status', 'fault-windows']);
const realtimeTickMs = 20;

/** A fault injected into the live run with `chaos.inject` (kept in memory and in report.json, not in the log). */
interface InjectedFault {
  readonly faultId: string;
  readonly kind: InjectFaultKind;
  readonly detail: string;
  readonly startUs: number;
  /** A load spike's end: the previous rate comes back (a recorded `set`) once virtual time passes atUs. */
  readonly restore?: { readonly generator: string; readonly rate: JsonValue; readonly atUs: number; done: boolean };
}

export class RunController {
  private readonly store: SqliteEventStore;
  private readonly kernel: RunKernel;
  private readonly projections: ProjectionDaemon;
  private status: RunStatus = 'running';
  private error: string | undefined;
  private storeCount: number | null = null;
  private stopRequested = false;
  private readonly startedMs: number;
  private finishedMs: number | undefined;
  private lastProgressMs = Number.NEGATIVE_INFINITY;
  private readonly pendingProjectionPushes = new Set<string>();
  private readonly healthTimer: ReturnType<typeof setInterval>;
  private projectionFlushTimer: ReturnType<typeof setTimeout> | undefined;
  private finalHealth: ProjectionHealth[] | undefined;
  private headPosition = 0;
  private headHash = '0'.repeat(64);
  private nextBackupAt: number;
  private backupInFlight: Promise<BackupInfo | undefined> | undefined;
  private lastBackup: BackupInfo | undefined;
  private readonly sqliteVersion: string;
  private paused: boolean;
  private speed: number | 'max';
  /** Wall time at which virtual time 0 would have been, at the current speed (real-time mode). */
  private wallOriginMs = 0;
  private wake: (() => void) | undefined;
  private readonly checkpoints: RunCheckpoint[] = [];
  private readonly recorder: TelemetryRecorder;
  private nextCheckpointAt = limits.checkpointEveryEvents;
  private readonly injected: InjectedFault[] = [];
  readonly done: Promise<RunSummary>;

  constructor(
    readonly spec: RunSpec,
    private readonly pool: ProjectionPool,
    private readonly clock: Clock,
    private readonly push: (message: PushEnvelope) => void,
    private readonly options: RunOptions = defaultRunOptions,
  ) {
    mkdirSync(spec.outDir, { recursive: true });
    this.store = new SqliteEventStore(runFiles.eventLog(spec.outDir), { backgroundCheckpoints: true, headRecordPath: runFiles.headRecord(spec.outDir) });
    this.nextBackupAt = options.backupEveryEvents > 0 ? options.backupEveryEvents : Number.POSITIVE_INFINITY;
    this.kernel = new RunKernel(spec.scenario, spec.seed, spec.actions ?? []);
    this.paused = spec.paused ?? false;
    this.recorder = new TelemetryRecorder(spec.scenario.slos ?? [], spec.scenario.alerts ?? []);
    this.speed = spec.speed;
    this.projections = new ProjectionDaemon(this.store, pool, spec.scenario.projections ?? [], clock, (event) => this.onProjectionEvent(event), options.projections);
    this.healthTimer = setInterval(() => this.pushHealth(), healthIntervalMs);
    this.startedMs = clock.monotonicMs();
    this.sqliteVersion = (this.store.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    this.writeManifest();
    this.done = this.execute();
  }

  get runId(): string {
    return this.spec.runId;
  }

  get running(): boolean {
    return this.status === 'running';
  }

  /** Stops generating; what was appended stays, and projections catch up before it ends. */
  stop(): Promise<RunSummary> {
    this.stopRequested = true;
    this.wake?.();
    return this.done;
  }

  summary(): RunSummary {
    const end = this.finishedMs ?? this.clock.monotonicMs();
    return {
      runId: this.spec.runId,
      scenario: this.spec.scenario.name,
      seed: this.spec.seed,
      status: this.status,
      outDir: this.spec.outDir,
      events: this.store.db.open ? this.store.headPosition() : (this.storeCount ?? 0),
      storeCount: this.storeCount,
      headPosition: this.headPosition,
      headHash: this.headHash,
      virtualTimeUs: this.kernel.virtualTimeUs,
      durationUs: this.kernel.durationUs,
      wallMs: Math.round(end - this.startedMs),
      paused: this.paused && this.status === 'running',
      speed: this.speed,
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }

  /**
   * An online backup of the log into <run>/backups, while the run goes on. One at a time; a
   * request during a backup gets that backup's result.
   */
  backup(): Promise<BackupInfo | undefined> {
    if (!this.store.db.open) return Promise.resolve(this.lastBackup);
    this.backupInFlight ??= createBackup(this.store, runFiles.backups(this.spec.outDir), this.clock.epochMs(), this.options.backupsKept)
      .then(
        (info) => {
          this.lastBackup = info;
          return info;
        },
        (error: unknown) => {
          // A failed backup does not stop the run; the next one is tried at the next interval.
          process.stderr.write(`aura-lab: backup of ${this.spec.runId} failed: ${(error as Error).message}\n`);
          return undefined;
        },
      )
      .finally(() => {
        this.backupInFlight = undefined;
      });
    return this.backupInFlight;
  }

  storeStatistics(): { count: number; headPosition: number } {
    if (!this.store.db.open) return { count: this.storeCount ?? 0, headPosition: this.headPosition };
    return { count: this.store.count(), headPosition: this.store.headPosition() };
  }

  private async execute(): Promise<RunSummary> {
    try {
      await this.generate();
      await this.projections.drain();
      this.status = this.stopRequested && this.kernel.status !== 'completed' ? 'stopped' : 'completed';
    } catch (error) {
      this.status = 'failed';
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.flushProjectionPushes();
    clearInterval(this.healthTimer);
    this.pushHealth();
    this.finalHealth = this.projections.health();
    this.projections.close();
    this.recorder.settle(this.store.headPosition(), true);
    try {
      writeTelemetry(this.store.db, this.recorder.stored());
    } catch (error) {
      // Telemetry is measurement, not the log: a failure to store it is reported, the run stands.
      process.stderr.write(`aura-lab: telemetry of ${this.spec.runId} not stored: ${(error as Error).message}\n`);
    }
    await this.backupInFlight;
    this.storeCount = this.store.count();
    this.headPosition = this.store.headPosition();
    this.headHash = this.store.headHash();
    await this.store.closeFinishedWhenAlone();
    this.finishedMs = this.clock.monotonicMs();
    this.writeManifest();
    this.writeReport();
    const summary = this.summary();
    this.push({ type: 'push', topic: 'run.finished', data: summary });
    return summary;
  }

  /**
   * Generates the run: as fast as possible, or paced against the wall clock at the speed factor,
   * until the kernel completes or a stop is requested. While paused, only steps advance it.
   */
  private async generate(): Promise<void> {
    this.rebaseWallClock();
    while (this.kernel.status !== 'completed' && !this.stopRequested) {
      if (this.paused) {
        await new Promise<void>((resolveWake) => (this.wake = resolveWake));
        this.wake = undefined;
        continue;
      }
      if (this.speed === 'max') {
        this.advanceAndAppend(Number.POSITIVE_INFINITY, this.batchLimit());
        // Let worker results, IPC messages and control requests in between batches.
        await yieldToLoop();
        continue;
      }
      const targetUs = Math.floor((this.clock.monotonicMs() - this.wallOriginMs) * this.speed * 1000);
      do {
        const limit = this.batchLimit();
        const { planned, restored } = this.advanceAndAppend(targetUs, limit);
        // Cut short by a spike's end: the rest of this tick's virtual time follows at the restored rate.
        if (planned < limit && !restored) break;
      } while (!this.paused && !this.stopRequested);
      await new Promise<void>((resolveTick) => {
        const timer = setTimeout(resolveTick, realtimeTickMs);
        this.wake = () => {
          clearTimeout(timer);
          resolveTick();
        };
      });
      this.wake = undefined;
    }
  }

  /** Events the kernel may plan next: a batch, cut at the next checkpoint. */
  private batchLimit(): number {
    return Math.max(1, Math.min(limits.appendBatchEventsMax, this.nextCheckpointAt - this.kernel.plannedEvents));
  }

  /** Real-time pacing continues from the kernel's virtual time (after a pause or a speed change). */
  private rebaseWallClock(): void {
    if (this.speed !== 'max') this.wallOriginMs = this.clock.monotonicMs() - this.kernel.virtualTimeUs / 1000 / this.speed;
  }

  /** The run's telemetry (series per virtual second, SLOs, alerts). */
  telemetry(fromSecond: number): ResultOf<'telemetry.get'> {
    const stored = this.recorder.stored();
    return { ...telemetryView(this.spec.runId, stored, this.spec.scenario.slos ?? [], fromSecond, this.running ? this.recorder.finalSeconds : stored.seconds.length), faults: this.faults() };
  }

  /** The operator actions applied so far (replayed and live). */
  actions(): readonly RecordedAction[] {
    return this.kernel.actions;
  }

  /** Pauses generation and records it in the log. */
  pause(): RunSummary {
    this.requireRunning();
    if (!this.paused) {
      this.paused = true;
      this.appendPlanned(this.kernel.act({ kind: 'pause' }));
    }
    return this.summary();
  }

  resume(): RunSummary {
    this.requireRunning();
    if (this.paused) {
      this.paused = false;
      this.appendPlanned(this.kernel.act({ kind: 'resume' }));
      this.rebaseWallClock();
      this.wake?.();
    }
    return this.summary();
  }

  /** While paused: plans and appends the next `events` events (at most one batch). */
  step(events: number): RunSummary {
    this.requireRunning();
    if (!this.paused) throw new AuraError('conflict', 'pause the run before stepping it');
    this.advanceAndAppend(Number.POSITIVE_INFINITY, Math.min(events, this.batchLimit()));
    if (this.kernel.status === 'completed') this.wake?.();
    return this.summary();
  }

  setSpeed(speed: number | 'max'): RunSummary {
    this.requireRunning();
    this.speed = speed;
    this.rebaseWallClock();
    this.wake?.();
    return this.summary();
  }

  /** Changes a scenario parameter from now on (`workload.<generator>.rate...`), recorded in the log. */
  setParameter(path: string, value: JsonValue): RunSummary {
    this.requireRunning();
    this.appendPlanned(this.kernel.act({ kind: 'set', path, value }));
    return this.summary();
  }

  /**
   * Injects a fault now. A load spike is a recorded `set` of the generator's whole rate times
   * `factor`, and another `set` back to the previous rate once virtual time passes start +
   * duration: ordinary operator actions, in the log and the manifest, so a replay is exact. A
   * worker kill terminates one projection worker thread (the pool replaces it; the daemon runs
   * the task again from its checkpoint). An engine kill is only recorded here: the engine kills
   * its own process after answering.
   */
  inject(fault: InjectFault): ResultOf<'chaos.inject'> {
    this.requireRunning();
    const faultId = `${fault.kind}-${this.injected.length + 1}`;
    let injected: InjectedFault;
    switch (fault.kind) {
      case 'load-spike': {
        const scenario = this.kernel.currentScenario;
        const generator = scenario.workload.find((item) => item.name === fault.generator);
        if (generator === undefined) {
          const message = `no generator ${JSON.stringify(fault.generator)} in run ${this.spec.runId} (generators: ${scenario.workload.map((item) => item.name).join(', ')})`;
          throw new AuraError('not_found', message, [{ path: ['fault', 'generator'], message }]);
        }
        const durationUs = parseDurationUs(fault.duration);
        if (typeof durationUs !== 'number') throw new AuraError('validation', `fault.duration: ${durationUs.error}`, [{ path: ['fault', 'duration'], message: durationUs.error }]);
        const active = this.injected.find((item) => item.restore !== undefined && !item.restore.done && item.restore.generator === generator.name);
        if (active !== undefined) throw new AuraError('conflict', `a load spike on ${generator.name} (${active.faultId}) is still on; inject another once it has ended`);
        const previous = rateToDocument(generator.rate);
        try {
          this.appendPlanned(this.kernel.act({ kind: 'set', path: `workload.${generator.name}.rate`, value: rateToDocument(scaleRate(generator.rate, fault.factor)) }));
        } catch (error) {
          if (error instanceof AuraError && error.code === 'validation') {
            throw new AuraError('validation', `the rate of ${generator.name} times ${fault.factor} is not a valid rate: ${error.message}`, [{ path: ['fault', 'factor'], message: error.message }]);
          }
          throw error;
        }
        const startUs = this.kernel.actions.at(-1)?.virtualTimeUs ?? this.kernel.virtualTimeUs;
        const atUs = Math.min(startUs + durationUs, this.kernel.durationUs);
        injected = { faultId, kind: fault.kind, detail: `${generator.name} rate ×${fault.factor} for ${fault.duration}`, startUs, restore: { generator: generator.name, rate: previous, atUs, done: false } };
        break;
      }
      case 'worker-kill': {
        const workers = this.pool.workers;
        const worker = workers[this.injected.filter((item) => item.kind === 'worker-kill').length % Math.max(1, workers.length)];
        if (worker === undefined) throw new AuraError('conflict', 'the projection pool has no worker thread to kill');
        const threadId = (worker as unknown as { threadId?: number }).threadId;
        void worker.terminate().catch(() => undefined);
        injected = { faultId, kind: fault.kind, detail: `projection worker thread${threadId === undefined ? '' : ` ${threadId}`} terminated`, startUs: this.kernel.virtualTimeUs };
        break;
      }
      case 'engine-kill':
        injected = { faultId, kind: fault.kind, detail: `engine host pid ${process.pid} killed (SIGKILL)`, startUs: this.kernel.virtualTimeUs };
        break;
    }
    this.injected.push(injected);
    this.wake?.();
    return { faultId, kind: injected.kind, startUs: injected.startUs, endUs: injected.restore?.atUs ?? null, detail: injected.detail };
  }

  /**
   * The run's fault windows, by start: the injected ones, and the log's (the fault-windows
   * projection's state, when the scenario has it).
   */
  faults(): FaultWindow[] {
    const injected = this.injected.map((fault): FaultWindow => {
      const restore = fault.restore;
      const endUs = restore === undefined ? null : restore.done || this.running ? restore.atUs : Math.min(restore.atUs, this.kernel.virtualTimeUs);
      return { faultId: fault.faultId, kind: fault.kind, detail: fault.detail, startUs: fault.startUs, endUs, source: 'injected' };
    });
    return [...this.logFaultWindows(), ...injected].sort((a, b) => a.startUs - b.startUs);
  }

  private logFaultWindows(): FaultWindow[] {
    const stateJson = this.projections.stateJson('fault-windows');
    if (stateJson === undefined) return [];
    try {
      const state = JSON.parse(stateJson) as { windows?: { faultId: string; kind: string; target: string; startUs: number; endUs: number | null }[] };
      return (state.windows ?? []).map((window) => ({ faultId: window.faultId, kind: window.kind, detail: `target ${window.target}`, startUs: window.startUs, endUs: window.endUs, source: 'log' }));
    } catch {
      return [];
    }
  }

  /** Advances the kernel (never past a load spike's end), appends, and restores the rates due. */
  private advanceAndAppend(untilUs: number, limit: number): { planned: number; restored: boolean } {
    const planned = this.kernel.advance(Math.min(untilUs, this.nextRestoreUs()), limit);
    this.appendPlanned(planned);
    return { planned: planned.length, restored: this.applyDueRestores() };
  }

  private nextRestoreUs(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const fault of this.injected) if (fault.restore !== undefined && !fault.restore.done) next = Math.min(next, fault.restore.atUs);
    return next;
  }

  private applyDueRestores(): boolean {
    let restored = false;
    for (const fault of this.injected) {
      const restore = fault.restore;
      if (restore === undefined || restore.done || restore.atUs > this.kernel.virtualTimeUs) continue;
      restore.done = true;
      if (this.kernel.status === 'completed') continue;
      try {
        this.appendPlanned(this.kernel.act({ kind: 'set', path: `workload.${restore.generator}.rate`, value: restore.rate }));
        restored = true;
      } catch (error) {
        process.stderr.write(`aura-lab: ${this.spec.runId}: the rate of ${restore.generator} could not be restored after ${fault.faultId}: ${(error as Error).message}\n`);
      }
    }
    return restored;
  }

  private requireRunning(): void {
    if (this.status !== 'running' || this.kernel.status === 'completed' || this.stopRequested) throw new AuraError('conflict', `run ${this.spec.runId} is no longer running`);
  }

  private appendPlanned(planned: readonly PlannedEvent[]): void {
    if (planned.length === 0) return;
    // Consecutive events of one stream form one append; positions follow virtual time.
    const appends: StreamAppend[] = [];
    let current: { stream: PlannedEvent['stream']; events: PlannedEvent['event'][] } | undefined;
    for (const item of planned) {
      if (current === undefined || current.stream !== item.stream) {
        current = { stream: item.stream, events: [] };
        appends.push({ stream: current.stream, events: current.events, expected: anyVersion });
      }
      current.events.push(item.event);
    }
    this.store.appendBatch(appends);
    this.recorder.appended(planned);
    this.headPosition = this.store.headPosition();
    this.headHash = this.store.headHash();
    if (this.headPosition >= this.nextCheckpointAt || this.kernel.status === 'completed') this.checkpoint();
    if (this.headPosition >= this.nextBackupAt && this.backupInFlight === undefined) {
      this.nextBackupAt = this.headPosition + this.options.backupEveryEvents;
      void this.backup();
    }
    this.projections.notify();
    const now = this.clock.monotonicMs();
    if (now - this.lastProgressMs >= progressIntervalMs || this.kernel.status === 'completed') {
      this.lastProgressMs = now;
      this.push({ type: 'push', topic: 'run.progress', data: this.summary() });
    }
  }

  private checkpoint(): void {
    const last = this.checkpoints.at(-1);
    if (last?.position === this.headPosition) return;
    this.checkpoints.push({ position: this.headPosition, logHash: this.headHash, stateHash: sha256Hex(this.kernel.fingerprint()) });
    while (this.nextCheckpointAt <= this.headPosition) this.nextCheckpointAt += limits.checkpointEveryEvents;
  }

  private onProjectionEvent(event: DaemonEvent): void {
    if (event.kind === 'projected') {
      this.recorder.projected(event.after, event.to, event.latencyMs);
      return;
    }
    if (event.kind === 'progress' && event.role === 'live' && pushedProjections.has(event.name)) {
      this.pendingProjectionPushes.add(event.name);
      this.projectionFlushTimer ??= setTimeout(() => this.flushProjectionPushes(), progressIntervalMs);
    }
    if (event.kind === 'compared') this.pushHealth();
  }

  private flushProjectionPushes(): void {
    if (this.projectionFlushTimer !== undefined) clearTimeout(this.projectionFlushTimer);
    this.projectionFlushTimer = undefined;
    for (const name of this.pendingProjectionPushes) {
      const stateJson = this.projections.stateJson(name) ?? 'null';
      this.push({ type: 'push', topic: 'projection.updated', data: { runId: this.spec.runId, projection: name, checkpoint: this.projections.checkpoint(name), state: JSON.parse(stateJson) as unknown } });
    }
    this.pendingProjectionPushes.clear();
  }

  private pushHealth(): void {
    const health = this.projectionHealth();
    if (this.running) this.recorder.settle(health.length === 0 ? this.headPosition : Math.min(...health.map((projection) => projection.checkpoint)), false);
    this.push({ type: 'push', topic: 'projections.health', data: { runId: this.spec.runId, headPosition: this.headPosition, projections: health } });
  }

  /** Health of every projection: live from the daemon while the run goes, as it ended afterwards. */
  projectionHealth(): ProjectionHealth[] {
    return this.running ? this.projections.health() : (this.finalHealth ?? []);
  }

  /** The live daemon, for projection actions (rebuild, compare, resume, state): only while the run goes. */
  daemon(): ProjectionDaemon | undefined {
    return this.running ? this.projections : undefined;
  }

  /** The run's report: its outcome, SLOs, alerts and projections, for people and for diffs. */
  private writeReport(): void {
    const { seconds, ...telemetry } = this.telemetry(0);
    const report = {
      format: 'aura-lab-report',
      formatVersion: 1,
      summary: this.summary(),
      virtualSeconds: seconds.length,
      peakEventsPerVirtualSecond: seconds.reduce((peak, row) => Math.max(peak, row.events), 0),
      ...telemetry,
      projections: this.projectionHealth().map((projection) => ({ name: projection.name, status: projection.status, checkpoint: projection.checkpoint, parked: projection.parked, stalls: projection.stalls, latency: projection.latency })),
    };
    writeFileAtomic(runFiles.report(this.spec.outDir), `${JSON.stringify(report, null, 2)}\n`);
  }

  private writeManifest(): void {
    const manifest = {
      format: 'aura-lab-run',
      formatVersion: 1,
      runId: this.spec.runId,
      status: this.status,
      scenario: { name: this.spec.scenario.name, file: this.spec.scenarioFile, sha256: sha256Hex(this.spec.scenarioText), text: this.spec.scenarioText },
      seed: this.spec.seed,
      speed: this.spec.speed,
      app: { name: 'aura-lab', version: appVersion },
      node: process.version,
      sqlite: this.sqliteVersion,
      eventLog: 'events.sqlite',
      headPosition: this.headPosition,
      headHash: this.headHash,
      events: this.storeCount,
      checkpointEveryEvents: limits.checkpointEveryEvents,
      checkpoints: this.checkpoints,
      actions: this.kernel.actions,
      ...(this.spec.forkOf === undefined ? {} : { forkOf: this.spec.forkOf }),
      projections: this.projectionHealth().map((projection) => ({ name: projection.name, version: projection.version, checkpoint: projection.checkpoint, status: projection.status, parked: projection.parked })),
      ...(this.error === undefined ? {} : { error: this.error }),
    };
    writeFileAtomic(runFiles.manifest(this.spec.outDir), `${JSON.stringify(manifest, null, 2)}\n`);
  }
}
