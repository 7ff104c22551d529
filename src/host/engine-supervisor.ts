/**
 * Runs the engine host in its own Node process and keeps it running: if it dies, clients see
 * `engine.status: restarting`, requests in flight fail with `unavailable`, and a new host is
 * started with back-off. Clients (WebSocket connections, a MessagePort, the CLI) attach as
 * links; the supervisor rewrites request ids so that links never see each other's responses.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { EngineState, PushEnvelope, ResponseEnvelope, ServerMessage } from '../shared/api.ts';
import { errorResponse } from '../shared/api.ts';
import { childExecArgv, entryPath } from '../node/runtime.ts';

export interface EngineSupervisorOptions {
  readonly dataDir: string;
  readonly scenariosDir: string;
  /** Node executable for the host. Defaults to this process's, or `node` under Electron. */
  readonly nodePath?: string;
  /** Restart the host when it dies (default true). The CLI turns this off and fails instead. */
  readonly restart?: boolean;
  readonly projectionThreads?: number;
  /** Online backup interval of every run, in events (default: limits.backupEveryEvents). */
  readonly backupEveryEvents?: number;
  /**
   * Share the lab's session with peers (`serve --share`): at this port, or a free one (passed as
   * AURA_LAB_SHARE), listening on `host` (AURA_LAB_SHARE_HOST, default 127.0.0.1) with invites
   * carrying `inviteHost` (AURA_LAB_SHARE_URL_HOST; see `shareAddresses`).
   */
  readonly share?: { readonly port?: number; readonly host?: string; readonly inviteHost?: string };
  readonly log?: (line: string) => void;
}

export interface EngineLink {
  /** Sends a client message (an already-parsed request envelope) to the engine. */
  send(message: unknown): void;
  close(): void;
}

interface LinkState {
  readonly deliver: (message: ServerMessage) => void;
  open: boolean;
}

const backoffStartMs = 100;
const backoffMaxMs = 5_000;
const stableUptimeMs = 10_000;

export class EngineSupervisor {
  private child: ChildProcess | undefined;
  private state: EngineState = 'starting';
  private restarts = 0;
  private consecutiveFailures = 0;
  private startedAt = 0;
  private stopping = false;
  private nextInternalId = 1;
  private readonly inFlight = new Map<number, { link: LinkState; id: number | string }>();
  private readonly links = new Set<LinkState>();
  private readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private lastExit = '';

  constructor(private readonly options: EngineSupervisorOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get engineState(): EngineState {
    return this.state;
  }

  /** Starts the host; resolves when it is ready. */
  start(): Promise<void> {
    const ready = this.whenReady();
    this.spawn();
    return ready;
  }

  whenReady(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  connect(deliver: (message: ServerMessage) => void): EngineLink {
    const link: LinkState = { deliver, open: true };
    this.links.add(link);
    deliver(this.statusPush());
    return {
      send: (message) => this.forward(link, message),
      close: () => {
        link.open = false;
        this.links.delete(link);
      },
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect?.();
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killTimer);
    }
    this.setState('stopped', 'stopped on request');
  }

  private spawn(): void {
    const underElectron = process.versions.electron !== undefined;
    const nodePath = this.options.nodePath ?? (underElectron ? 'node' : process.execPath);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AURA_LAB_DATA_DIR: this.options.dataDir,
      AURA_LAB_SCENARIOS_DIR: this.options.scenariosDir,
      ...(this.options.projectionThreads === undefined ? {} : { AURA_LAB_PROJECTION_THREADS: String(this.options.projectionThreads) }),
      ...(this.options.backupEveryEvents === undefined ? {} : { AURA_LAB_BACKUP_EVERY_EVENTS: String(this.options.backupEveryEvents) }),
      ...(this.options.share === undefined ? {} : { AURA_LAB_SHARE: this.options.share.port === undefined || this.options.share.port === 0 ? '1' : String(this.options.share.port) }),
      ...(this.options.share?.host === undefined ? {} : { AURA_LAB_SHARE_HOST: this.options.share.host }),
      ...(this.options.share?.inviteHost === undefined ? {} : { AURA_LAB_SHARE_URL_HOST: this.options.share.inviteHost }),
    };
    delete env.ELECTRON_RUN_AS_NODE;
    const child = fork(entryPath('host'), [], {
      execPath: nodePath,
      execArgv: childExecArgv(),
      env,
      // The host's own output goes to our stderr: stdout belongs to the CLI's results.
      stdio: ['ignore', 2, 2, 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.startedAt = Date.now();
    child.on('message', (message: unknown) => this.onChildMessage(child, message));
    child.on('error', (error) => {
      this.lastExit = error.message;
      this.options.log?.(`engine host error: ${error.message}`);
    });
    child.on('exit', (code, signal) => this.onChildExit(child, code, signal));
  }

  private onChildMessage(child: ChildProcess, raw: unknown): void {
    if (child !== this.child || typeof raw !== 'object' || raw === null) return;
    const message = raw as ServerMessage | { type: 'ready'; pid: number };
    if (message.type === 'ready') {
      this.setState('ready');
      for (const waiter of this.readyWaiters) waiter.resolve();
      this.readyWaiters = [];
      return;
    }
    if (message.type === 'push') {
      this.broadcast(message);
      return;
    }
    if (message.type === 'response' && typeof message.id === 'number') {
      const route = this.inFlight.get(message.id);
      if (route === undefined) return;
      this.inFlight.delete(message.id);
      if (route.link.open) route.link.deliver({ ...message, id: route.id } as ResponseEnvelope);
    }
  }

  private onChildExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    const reason = signal ? `engine host was killed by ${signal}` : `engine host exited with code ${code}`;
    this.lastExit = reason;
    for (const [internalId, route] of this.inFlight) {
      this.inFlight.delete(internalId);
      if (route.link.open) route.link.deliver(errorResponse(route.id, { code: 'unavailable', message: `${reason}; the request may not have completed`, issues: [] }));
    }
    if (this.stopping) return;
    if (this.options.restart === false) {
      this.setState('stopped', reason);
      for (const waiter of this.readyWaiters) waiter.reject(new Error(reason));
      this.readyWaiters = [];
      return;
    }
    const uptime = Date.now() - this.startedAt;
    this.consecutiveFailures = uptime > stableUptimeMs ? 1 : this.consecutiveFailures + 1;
    const delay = Math.min(backoffMaxMs, backoffStartMs * 2 ** (this.consecutiveFailures - 1));
    this.restarts += 1;
    this.options.log?.(`${reason}; restarting in ${delay} ms`);
    this.setState('restarting', reason);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawn();
    }, delay);
  }

  private forward(link: LinkState, raw: unknown): void {
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && (typeof raw.id === 'number' || typeof raw.id === 'string') ? raw.id : null;
    if (id === null) {
      link.deliver(errorResponse(null, { code: 'validation', message: 'malformed message: a request needs an id (number or string)', issues: [] }));
      return;
    }
    const child = this.child;
    if (this.state !== 'ready' || child === undefined || !child.connected) {
      link.deliver(errorResponse(id, { code: 'unavailable', message: `the engine is ${this.state}${this.lastExit ? ` (${this.lastExit})` : ''}`, issues: [] }));
      return;
    }
    const internalId = this.nextInternalId++;
    this.inFlight.set(internalId, { link, id });
    child.send({ ...(raw as object), id: internalId }, (error) => {
      if (error && this.inFlight.delete(internalId)) {
        link.deliver(errorResponse(id, { code: 'unavailable', message: `could not reach the engine: ${error.message}`, issues: [] }));
      }
    });
  }

  private setState(state: EngineState, reason?: string): void {
    this.state = state;
    this.broadcast(this.statusPush(reason));
  }

  private statusPush(reason?: string): PushEnvelope {
    return {
      type: 'push',
      topic: 'engine.status',
      data: { state: this.state, pid: this.state === 'ready' ? (this.child?.pid ?? null) : null, restarts: this.restarts, ...(reason === undefined ? {} : { reason }) },
    };
  }

  private broadcast(message: ServerMessage): void {
    for (const link of this.links) if (link.open) link.deliver(message);
  }
}
