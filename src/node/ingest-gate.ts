/**
 * Admission in front of the writer: appends queue in two classes, priority and normal, and the
 * writer commits them in batches, priority first. The queue is bounded; when it is full a
 * normal append is refused at once with a typed `limit` error carrying a retry-after (back-
 * pressure), never accepted and then dropped. Part of the queue is reserved for priority
 * appends, so a flood of normal load cannot keep them out. A slow disk (storage-faults.ts:
 * diskStall) stalls the writer at each commit for a fixed latency plus a time per event.
 */
import { AuraError } from '../core/kernel/errors.ts';
import type { AppendResult, StreamAppend } from '../core/ports/event-store.ts';
import type { SqliteEventStore } from './sqlite-event-store.ts';
import { diskStall } from './storage-faults.ts';

export interface IngestGateOptions {
  /** Appends waiting at most (both classes). */
  readonly capacity: number;
  /** Of the capacity, places only priority appends may take. */
  readonly priorityReserve: number;
  /** Appends per commit at most. */
  readonly maxBatch: number;
}

export interface SlowDisk {
  readonly latencyMs: number;
  readonly perEventMs: number;
}

export interface GateStats {
  readonly accepted: number;
  readonly refused: number;
  readonly committed: number;
  readonly commits: number;
  readonly queued: number;
}

interface Waiting {
  readonly append: StreamAppend;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

export class IngestGate {
  private readonly priority: Waiting[] = [];
  private readonly normal: Waiting[] = [];
  private slowDisk: SlowDisk | undefined;
  private scheduled = false;
  private closed = false;
  private stats = { accepted: 0, refused: 0, committed: 0, commits: 0 };
  /** Recent commit cost, for the retry-after hint. */
  private lastCommitMs = 1;

  constructor(
    private readonly store: Pick<SqliteEventStore, 'appendBatch'>,
    private options: IngestGateOptions,
  ) {}

  /** New limits (shedding load: a smaller queue refuses the excess from now on). */
  setLimits(options: IngestGateOptions): void {
    this.options = options;
  }

  setSlowDisk(slow: SlowDisk | undefined): void {
    this.slowDisk = slow;
  }

  /** Resolves when the append is committed; rejects at once with `limit` when the gate is full. */
  offer(append: StreamAppend, priority: boolean): Promise<AppendResult> {
    const queued = this.priority.length + this.normal.length;
    const room = priority ? this.options.capacity : this.options.capacity - this.options.priorityReserve;
    if (this.closed || queued >= room) {
      this.stats.refused += 1;
      const retryAfterMs = Math.max(1, Math.ceil((queued / this.options.maxBatch) * this.lastCommitMs));
      return Promise.reject(new AuraError('limit', `busy: ${queued} appends waiting; retry after ${retryAfterMs} ms`, [{ path: ['retryAfterMs'], message: String(retryAfterMs) }]));
    }
    this.stats.accepted += 1;
    return new Promise((resolve, reject) => {
      (priority ? this.priority : this.normal).push({ append, resolve, reject });
      this.schedule();
    });
  }

  gateStats(): GateStats {
    return { ...this.stats, queued: this.priority.length + this.normal.length };
  }

  /** Commits what is queued, then refuses new appends. */
  async drain(): Promise<void> {
    while (this.priority.length + this.normal.length > 0) await new Promise((resolve) => setImmediate(resolve));
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.commitOnce();
      if (this.priority.length + this.normal.length > 0) this.schedule();
    });
  }

  private commitOnce(): void {
    const batch: Waiting[] = this.priority.splice(0, this.options.maxBatch);
    if (batch.length < this.options.maxBatch) batch.push(...this.normal.splice(0, this.options.maxBatch - batch.length));
    if (batch.length === 0) return;
    const started = performance.now();
    if (this.slowDisk !== undefined) diskStall(this.slowDisk.latencyMs + this.slowDisk.perEventMs * batch.length);
    let results: AppendResult[];
    try {
      results = this.store.appendBatch(batch.map((item) => item.append));
    } catch (error) {
      // The batch failed as a whole (all or nothing): each append is told, none is lost silently.
      for (const item of batch) item.reject(error as Error);
      return;
    }
    this.lastCommitMs = Math.max(0.1, performance.now() - started);
    this.stats.commits += 1;
    this.stats.committed += batch.length;
    batch.forEach((item, index) => item.resolve(results[index] as AppendResult));
  }
}
