/**
 * A process that only drains a projection daemon whose first two tasks fail, for the test that
 * drain() keeps the process alive while a range waits out its retry delay:
 * `node --import tsx daemon-drainer.ts <log path>`. Prints `drained <checkpoint>` when done.
 */
import { ProjectionDaemon, type ProjectionWorkers } from '../../src/node/projection-daemon.ts';
import { ProjectionPool } from '../../src/node/projection-pool.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { systemClock } from '../../src/node/system-clock.ts';
import { labLog } from './lab-log.ts';

const [path] = process.argv.slice(2) as [string];
const store = new SqliteEventStore(path);
for (const batch of labLog(5, 3)) store.appendBatch(batch);
const pool = new ProjectionPool({ threads: 1 });
let failures = 0;
const failing: ProjectionWorkers = {
  threads: pool.threads,
  run: (task, signal) => (failures++ < 2 ? new Promise((_, reject) => setImmediate(() => reject(new Error('injected')))) : pool.run(task, signal)),
};
const daemon = new ProjectionDaemon(store, failing, ['slo-status'], systemClock);
await daemon.drain();
process.stdout.write(`drained ${daemon.checkpoint('slo-status')}\n`);
daemon.close();
await pool.close();
store.close();
