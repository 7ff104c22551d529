/** The Piscina pool that runs projection folds on worker threads. */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { childExecArgv, entryUrl } from './runtime.ts';
import type { ProjectionTask, ProjectionTaskResult } from './projection-task.ts';

export interface ProjectionPoolOptions {
  readonly threads?: number;
}

export class ProjectionPool {
  private readonly pool: Piscina<ProjectionTask, ProjectionTaskResult>;

  constructor(options: ProjectionPoolOptions = {}) {
    const threads = options.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    this.pool = new Piscina<ProjectionTask, ProjectionTaskResult>({
      filename: entryUrl('projection-worker').href,
      minThreads: threads,
      maxThreads: threads,
      execArgv: childExecArgv(),
      idleTimeout: 60_000,
    });
  }

  run(task: ProjectionTask): Promise<ProjectionTaskResult> {
    return this.pool.run(task);
  }

  get threads(): number {
    return this.pool.threads.length;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
