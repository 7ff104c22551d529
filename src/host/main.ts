/**
 * The engine host process. It is started by the engine supervisor (CLI, browser mode, desktop
 * app) and talks to it over the Node IPC channel: requests in, responses and pushes out. If it
 * dies, the supervisor restarts it; the UI stays up.
 */
import { join } from 'node:path';
import { homedir } from 'node:os';
import { systemClock } from '../node/system-clock.ts';
import { packageRoot } from '../node/runtime.ts';
import { Engine } from './engine.ts';
import { defaultRunOptions } from './run-controller.ts';
import type { ServerMessage } from '../shared/api.ts';

function send(message: ServerMessage | { type: 'ready'; pid: number }): void {
  if (process.connected) process.send?.(message);
}

if (process.send === undefined) {
  process.stderr.write('aura-lab host: must be started by the engine supervisor (no IPC channel)\n');
  process.exit(2);
}

const threads = process.env.AURA_LAB_PROJECTION_THREADS;
const backupEvery = process.env.AURA_LAB_BACKUP_EVERY_EVENTS;
const engine = new Engine({
  dataDir: process.env.AURA_LAB_DATA_DIR ?? join(homedir(), '.aura-lab'),
  scenariosDir: process.env.AURA_LAB_SCENARIOS_DIR ?? join(packageRoot(), 'scenarios'),
  clock: systemClock,
  push: send,
  ...(threads === undefined ? {} : { projectionThreads: Number(threads) }),
  ...(backupEvery === undefined ? {} : { runOptions: { ...defaultRunOptions, backupEveryEvents: Number(backupEvery) } }),
});

process.on('message', (raw: unknown) => {
  void engine.handle(raw).then(send);
});

// The supervisor is gone: nobody can use this engine any more.
process.on('disconnect', () => {
  void engine.close().finally(() => process.exit(0));
});

process.on('SIGTERM', () => {
  void engine.close().finally(() => process.exit(0));
});

send({ type: 'ready', pid: process.pid });
