/** The Piscina pool that runs projection folds on worker threads. */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerEntry } from './runtime.ts';
import type { ProjectionTask, ProjectionTaskResult } from './projection-task.ts';

export interface ProjectionPoolOptions {
  readonly threads?: number;
}

export class ProjectionPool {
  private readonly pool: Piscina<ProjectionTask, ProjectionTaskResult>;

  constructor(options: ProjectionPoolOptions = {}) {
    const threads = options.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    const entry = workerEntry('projection-worker');
    this.pool = new Piscina<ProjectionTask, ProjectionTaskResult>({
      filename: entry.url.href,
      minThreads: threads,
      maxThreads: threads,
      execArgv: entry.execArgv,
      idleTimeout: 60_000,
      // 'async': a worker waiting for its next task keeps its event loop running, so its idle
      // connections close on time (with 'sync' it blocks in Atomics.wait and its timers never fire).
      atomics: 'async',
    });
  }

  /** Runs a task; aborting the signal terminates the worker running it (Piscina replaces it). */
  run(task: ProjectionTask, signal?: AbortSignal): Promise<ProjectionTaskResult> {
    return signal === undefined ? this.pool.run(task) : this.pool.run(task, { signal });
  }

  /** The worker threads, for the chaos tests and benchmarks that kill one. */
  get workers(): readonly { terminate(): Promise<number> }[] {
    return this.pool.threads;
  }

  get threads(): number {
    return this.pool.threads.length;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
