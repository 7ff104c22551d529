/**
 * Keeps a run's projections up to date: when the head advances, each projection's next range is
 * folded on the pool, and its new state and checkpoint are committed in one statement, so a
 * crash neither skips nor double-applies an event. One task per projection is in flight at a
 * time, which keeps each projection's events in order.
 */
import type Database from 'better-sqlite3';
import { canonicalJson } from '../core/kernel/canonical.ts';
import { limits } from '../core/kernel/limits.ts';
import { findProjection } from '../core/projections/registry.ts';
import type { ProjectionPool } from './projection-pool.ts';
import type { SqliteEventStore } from './sqlite-event-store.ts';

export type ProjectionStatus = 'idle' | 'running' | 'failed';

export interface ProjectionProgress {
  readonly name: string;
  readonly checkpoint: number;
  readonly status: ProjectionStatus;
  readonly error?: string;
}

interface Tracked {
  readonly name: string;
  readonly version: number;
  checkpoint: number;
  stateJson: string;
  status: ProjectionStatus;
  error?: string;
}

export class ProjectionRunner {
  private readonly tracked: Tracked[];
  private readonly save: Database.Statement<[string, number, number, string]>;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly store: SqliteEventStore,
    private readonly pool: ProjectionPool,
    names: readonly string[],
    private readonly onUpdate: (progress: ProjectionProgress, stateJson: string) => void,
  ) {
    const load = store.db.prepare<[string], { version: number; checkpoint: number; state: string }>('SELECT version, checkpoint, state FROM projections WHERE name = ?');
    this.save = store.db.prepare('INSERT OR REPLACE INTO projections (name, version, checkpoint, state) VALUES (?, ?, ?, ?)');
    this.tracked = names.map((name) => {
      const definition = findProjection(name);
      if (definition === undefined) throw new Error(`unknown projection ${name}`);
      const row = load.get(name);
      if (row && row.version === definition.version) {
        return { name, version: definition.version, checkpoint: row.checkpoint, stateJson: row.state, status: 'idle' };
      }
      return { name, version: definition.version, checkpoint: 0, stateJson: canonicalJson(definition.initial()), status: 'idle' };
    });
  }

  /** The head advanced: start work for every idle projection that is behind. */
  notify(): void {
    if (this.closed) return;
    for (const projection of this.tracked) {
      if (projection.status === 'idle' && projection.checkpoint < this.store.headPosition()) this.step(projection);
    }
    this.settle();
  }

  /** Resolves once every projection has reached the head (or failed). */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.notify();
    });
  }

  progress(): ProjectionProgress[] {
    return this.tracked.map((projection) => this.snapshot(projection));
  }

  state(name: string): string | undefined {
    return this.tracked.find((projection) => projection.name === name)?.stateJson;
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters) waiter();
    this.waiters = [];
  }

  private snapshot(projection: Tracked): ProjectionProgress {
    return {
      name: projection.name,
      checkpoint: projection.checkpoint,
      status: projection.status,
      ...(projection.error === undefined ? {} : { error: projection.error }),
    };
  }

  private step(projection: Tracked): void {
    const head = this.store.headPosition();
    const from = projection.checkpoint + 1;
    const to = Math.min(head, projection.checkpoint + limits.projectionBatchEventsMax);
    projection.status = 'running';
    this.pool
      .run({ dbPath: this.store.path, projection: projection.name, stateJson: projection.stateJson, fromPosition: from, toPosition: to })
      .then((result) => {
        if (this.closed) return;
        if (result.lastPosition !== to) throw new Error(`worker folded up to ${result.lastPosition}, expected ${to}`);
        this.save.run(projection.name, projection.version, result.lastPosition, result.stateJson);
        projection.checkpoint = result.lastPosition;
        projection.stateJson = result.stateJson;
        projection.status = 'idle';
        this.onUpdate(this.snapshot(projection), projection.stateJson);
        this.notify();
      })
      .catch((error: unknown) => {
        if (this.closed) return;
        projection.status = 'failed';
        projection.error = error instanceof Error ? error.message : String(error);
        this.onUpdate(this.snapshot(projection), projection.stateJson);
        this.settle();
      });
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const head = this.store.headPosition();
    const done = this.tracked.every((projection) => projection.status === 'failed' || (projection.status === 'idle' && projection.checkpoint >= head));
    if (done) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter();
    }
  }
}
