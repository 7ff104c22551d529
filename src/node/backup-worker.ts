/**
 * Online backups off the writer's thread: a worker thread opens its own read-only connection,
 * starts a read transaction (a consistent snapshot of the log: WAL readers never block the
 * writer, and the writer's commits do not restart a backup that reads one fixed snapshot), and
 * copies it with SQLite's backup API in small steps. The writer keeps appending meanwhile; on
 * the writer's thread the same copy held it for ~50 ms at a time, which showed up as
 * append-to-projected latency. Like the WAL checkpointer, plain JavaScript evaluated in place.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.source, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.exec('BEGIN');
db.prepare('SELECT count(*) FROM meta').get();
db.backup(workerData.destination, {
  progress: ({ totalPages, remainingPages }) => {
    parentPort.postMessage({ progress: totalPages === 0 ? 1 : 1 - remainingPages / totalPages });
    return 64;
  },
}).then(
  () => { db.exec('COMMIT'); db.close(); parentPort.postMessage({ done: true }); },
  (error) => { try { db.close(); } catch {} parentPort.postMessage({ error: String(error && error.message || error) }); },
);
`;

/** Copies the committed log at `source` to `destination` from a worker thread. */
export function backupInWorker(source: string, destination: string, onProgress?: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { module: betterSqlite3, source, destination } });
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (error === undefined) resolve();
      else reject(error);
    };
    worker.on('message', (message: { progress?: number; done?: boolean; error?: string }) => {
      if (message.progress !== undefined) onProgress?.(message.progress);
      else if (message.done === true) finish();
      else if (message.error !== undefined) finish(new Error(`backup failed: ${message.error}`));
    });
    worker.on('error', (error) => finish(error));
    worker.on('exit', (code) => finish(code === 0 ? undefined : new Error(`backup worker exited with ${code}`)));
  });
}
