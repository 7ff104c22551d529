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
import { startSessionHost } from './session-host.ts';
import { redactStreams } from '../node/session/redaction.ts';
import type { ServerMessage } from '../shared/api.ts';

function send(message: ServerMessage | { type: 'ready'; pid: number }): void {
  if (process.connected) process.send?.(message);
}

// Nothing this process writes carries a session's document id or an invite token (automerge-repo's
// debug and error output included): see node/session/redaction.ts.
redactStreams([process.stdout, process.stderr]);

if (process.send === undefined) {
  process.stderr.write('aura-lab host: must be started by the engine supervisor (no IPC channel)\n');
  process.exit(2);
}

/** AURA_LAB_SHARE: unset, sharing off; `1` (or `true`), on at a free port; a port number, on at that port. */
function shareFromEnv(value: string | undefined): { port?: number } | undefined {
  if (value === undefined || value === '' || value === '0' || value === 'false') return undefined;
  if (value === '1' || value === 'true') return {};
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    process.stderr.write('aura-lab host: AURA_LAB_SHARE must be 1 or a port number; sharing is off\n');
    return undefined;
  }
  return { port };
}

const dataDir = process.env.AURA_LAB_DATA_DIR ?? join(homedir(), '.aura-lab');
const share = shareFromEnv(process.env.AURA_LAB_SHARE);
/** AURA_LAB_SHARE_HOST: the address to listen on (default 127.0.0.1); AURA_LAB_SHARE_URL_HOST: the host in invites. */
const shareHost = {
  ...(process.env.AURA_LAB_SHARE_HOST ? { host: process.env.AURA_LAB_SHARE_HOST } : {}),
  ...(process.env.AURA_LAB_SHARE_URL_HOST ? { inviteHost: process.env.AURA_LAB_SHARE_URL_HOST } : {}),
};
const threads = process.env.AURA_LAB_PROJECTION_THREADS;
const backupEvery = process.env.AURA_LAB_BACKUP_EVERY_EVENTS;
const engine = new Engine({
  dataDir,
  scenariosDir: process.env.AURA_LAB_SCENARIOS_DIR ?? join(packageRoot(), 'scenarios'),
  clock: systemClock,
  push: send,
  ...(threads === undefined ? {} : { projectionThreads: Number(threads) }),
  ...(backupEvery === undefined ? {} : { runOptions: { ...defaultRunOptions, backupEveryEvents: Number(backupEvery) } }),
  // The lab's shared session (an Automerge document under <dataDir>/session); peers only with AURA_LAB_SHARE.
  session: {
    start: (shareOptions) => startSessionHost({ dataDir, ...(shareOptions === undefined ? {} : { share: { ...shareOptions, ...shareHost } }), log: (line) => process.stderr.write(`aura-lab host: ${line}\n`) }),
    ...(share === undefined ? {} : { share }),
  },
});
// A shared session opens at once (peers may come before any page); a local one on its first request.
// Either way the engine is ready at once, and session requests wait for the session.
if (share !== undefined) engine.openSession().catch((error: unknown) => {
  process.stderr.write(`aura-lab host: the shared session could not be opened (${error instanceof Error ? error.message : 'unexpected error'}); session requests answer unavailable\n`);
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
