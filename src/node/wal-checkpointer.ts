/**
 * Moves WAL checkpoints off the writer: a worker thread with its own connection runs a PASSIVE
 * checkpoint every few milliseconds, on the other core, so the writer never stalls copying pages
 * back into the database (which otherwise lands inside some unlucky commit and shows up as
 * p99 latency). The worker is a few lines of plain JavaScript, evaluated in place, so it needs
 * no build step and no TypeScript loader.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const stopped = new Int32Array(workerData.stopped);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick tries again */ }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    Atomics.store(stopped, 0, 1);
    Atomics.notify(stopped, 0);
    parentPort.close();
  }
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly stopped = new Int32Array(new SharedArrayBuffer(4));
  private running = true;

  constructor(path: string, intervalMs = 50) {
    this.worker = new Worker(workerSource, { eval: true, workerData: { path, intervalMs, module: betterSqlite3, stopped: this.stopped.buffer } });
    this.worker.on('error', () => {
      this.running = false;
    });
    this.worker.unref();
  }

  /**
   * Stops checkpointing and waits (up to 2 s) until the thread has closed its connection, so that
   * the writer can then switch the journal mode, which needs it to be the only connection.
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.worker.postMessage('stop');
    Atomics.wait(this.stopped, 0, 0, 2_000);
  }
}
