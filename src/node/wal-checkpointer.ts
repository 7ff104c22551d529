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
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: the next tick tries again */ }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') { clearInterval(timer); db.close(); parentPort.close(); }
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, intervalMs = 50) {
    this.worker = new Worker(workerSource, { eval: true, workerData: { path, intervalMs, module: betterSqlite3 } });
    this.worker.on('error', () => undefined);
    this.worker.unref();
  }

  stop(): void {
    this.worker.postMessage('stop');
  }
}
