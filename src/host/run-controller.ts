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
import { sha256Hex } from '../node/hashing.ts';
import { writeFileAtomic } from '../node/files.ts';
import type { ProjectionPool } from '../node/projection-pool.ts';
import { ProjectionDaemon, type DaemonEvent, type DaemonOptions, type ProjectionHealth } from '../node/projection-daemon.ts';
import { SqliteEventStore } from '../node/sqlite-event-store.ts';
import { createBackup, type BackupInfo } from '../node/backups.ts';
import { runFiles } from '../node/run-files.ts';
import type { PushEnvelope, RunStatus, RunSummary } from '../shared/api.ts';
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
}

const progressIntervalMs = 100;
const healthIntervalMs = 500;
/** Projections small enough to push whole to the UI as they change; the others are fetched on demand. */
const pushedProjections = new Set(['events-per-second-by-type', 'slo-status', 'fault-windows']);
const realtimeTickMs = 20;

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
  readonly done: Promise<RunSummary>;

  constructor(
    readonly spec: RunSpec,
    pool: ProjectionPool,
    private readonly clock: Clock,
    private readonly push: (message: PushEnvelope) => void,
    private readonly options: RunOptions = defaultRunOptions,
  ) {
    mkdirSync(spec.outDir, { recursive: true });
    this.store = new SqliteEventStore(runFiles.eventLog(spec.outDir), { backgroundCheckpoints: true, headRecordPath: runFiles.headRecord(spec.outDir) });
    this.nextBackupAt = options.backupEveryEvents > 0 ? options.backupEveryEvents : Number.POSITIVE_INFINITY;
    this.kernel = new RunKernel(spec.scenario, spec.seed);
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
      if (this.spec.speed === 'max') await this.runAsFastAsPossible();
      else await this.runInRealTime(this.spec.speed);
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
    await this.backupInFlight;
    this.storeCount = this.store.count();
    this.headPosition = this.store.headPosition();
    this.headHash = this.store.headHash();
    await this.store.closeFinishedWhenAlone();
    this.finishedMs = this.clock.monotonicMs();
    this.writeManifest();
    const summary = this.summary();
    this.push({ type: 'push', topic: 'run.finished', data: summary });
    return summary;
  }

  private async runAsFastAsPossible(): Promise<void> {
    while (this.kernel.status !== 'completed' && !this.stopRequested) {
      this.appendPlanned(this.kernel.advance(Number.POSITIVE_INFINITY, limits.appendBatchEventsMax));
      // Let worker results, IPC messages and stop requests in between batches.
      await yieldToLoop();
    }
  }

  private async runInRealTime(speed: number): Promise<void> {
    const wallStart = this.clock.monotonicMs();
    while (this.kernel.status !== 'completed' && !this.stopRequested) {
      const targetUs = Math.floor((this.clock.monotonicMs() - wallStart) * speed * 1000);
      let planned: PlannedEvent[];
      do {
        planned = this.kernel.advance(targetUs, limits.appendBatchEventsMax);
        this.appendPlanned(planned);
      } while (planned.length === limits.appendBatchEventsMax);
      await new Promise((resolve) => setTimeout(resolve, realtimeTickMs));
    }
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
    this.headPosition = this.store.headPosition();
    this.headHash = this.store.headHash();
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

  private onProjectionEvent(event: DaemonEvent): void {
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
    this.push({ type: 'push', topic: 'projections.health', data: { runId: this.spec.runId, headPosition: this.headPosition, projections: this.projectionHealth() } });
  }

  /** Health of every projection: live from the daemon while the run goes, as it ended afterwards. */
  projectionHealth(): ProjectionHealth[] {
    return this.running ? this.projections.health() : (this.finalHealth ?? []);
  }

  /** The live daemon, for projection actions (rebuild, compare, resume, state): only while the run goes. */
  daemon(): ProjectionDaemon | undefined {
    return this.running ? this.projections : undefined;
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
      projections: this.projectionHealth().map((projection) => ({ name: projection.name, version: projection.version, checkpoint: projection.checkpoint, status: projection.status, parked: projection.parked })),
      ...(this.error === undefined ? {} : { error: this.error }),
    };
    writeFileAtomic(runFiles.manifest(this.spec.outDir), `${JSON.stringify(manifest, null, 2)}\n`);
  }
}
