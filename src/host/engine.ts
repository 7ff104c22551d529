/**
 * The engine: owns the runs, their stores and the projection pool, and answers the API
 * contract. Every incoming message is validated here; a malformed one gets a typed error reply.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { z } from 'zod';
import { AuraError } from '../core/kernel/errors.ts';
import { limits } from '../core/kernel/limits.ts';
import type { Clock } from '../core/ports/clock.ts';
import { appVersion } from '../node/app-info.ts';
import { outDirRefusal } from '../node/files.ts';
import { ProjectionPool } from '../node/projection-pool.ts';
import { readScenarioFile } from '../node/scenario-loader.ts';
import {
  errorResponse,
  faultWindowSchema,
  isMethodName,
  methods,
  requestEnvelopeSchema,
  type ApiError,
  type MethodName,
  type PresenceEntry,
  type PushEnvelope,
  type ResponseEnvelope,
  type ResultOf,
  type ScenarioEntry,
} from '../shared/api.ts';
import { EventBrowser } from './event-browser.ts';
import { defaultRunOptions, RunController, type RunOptions, type RunSpec } from './run-controller.ts';
import { planFork } from '../node/fork.ts';
import { prometheusText } from './prometheus.ts';
import { listSweeps, readSweepResults } from '../node/sweep.ts';
import { diffRuns } from '../node/run-diff.ts';
import type { JsonValue } from '../core/kernel/canonical.ts';
import type { ProjectionDaemon } from '../node/projection-daemon.ts';
import Database from 'better-sqlite3';
import { DrillManager } from './drill-manager.ts';
import type { SessionHost } from './session-host.ts';
import * as Automerge from '@automerge/automerge';
import { decodeHeads, type UrlHeads } from '@automerge/automerge-repo';
import { addAnnotation, addDrillNote, putChaosPlan, putRunSummary, putScenario, removeEntry, sessionCounts, type SessionDoc } from '../node/session/session-doc.ts';
import { chaosPlanForSession, drillNoteFor, saveSessionScenario, scenarioForSession, sessionScenariosSubdir } from '../node/session/session-library.ts';
import { listExperiments } from '../node/chaos-experiment.ts';
import { sessionDirOf } from '../node/session/session-repo.ts';
import { shareAddressPath } from '../node/session/share-server.ts';
import { joinSession, parseInvite, probeInvite, QuietWebSocketClientAdapter } from '../node/session/join.ts';
import { fetchRunBundle } from '../node/session/run-transfer.ts';
import { historyPage, runSummaryOf, sessionDiff, sessionViewOf } from './session-views.ts';

export interface EngineOptions {
  readonly dataDir: string;
  readonly scenariosDir: string;
  readonly clock: Clock;
  readonly push: (message: PushEnvelope) => void;
  readonly projectionThreads?: number;
  /** Options of every run (backup interval); defaults to defaultRunOptions. */
  readonly runOptions?: RunOptions;
  /** How an `engine-kill` fault ends the engine (after its answer); defaults to SIGKILL of this process. */
  readonly killSelf?: () => void;
  /** The lab's shared session (main.ts); without it the session methods answer `unavailable`. */
  readonly session?: EngineSessionOptions;
}

/** An injected engine kill waits this long after answering, so that the answer reaches the client. */
const engineKillDelayMs = 50;

type Handler<M extends MethodName> = (params: z.infer<(typeof methods)[M]['params']>) => Promise<ResultOf<M>> | ResultOf<M>;

const scenarioExtensions = ['.yaml', '.yml', '.json'];

export class Engine {
  private pool: ProjectionPool | undefined;
  private readonly runs = new Map<string, RunController>();
  private runCounter = 0;
  private readonly handlers: { [M in MethodName]: Handler<M> };
  private readonly browser: EventBrowser;
  private readonly drills: DrillManager;
  private readonly session: EngineSession;

  constructor(private readonly options: EngineOptions) {
    this.browser = new EventBrowser({ dataDir: options.dataDir, clock: options.clock, push: options.push, sessionRuns: () => this.runs.values() });
    this.drills = new DrillManager({ dataDir: options.dataDir, scenariosDir: options.scenariosDir, clock: options.clock, push: options.push });
    this.session = new EngineSession(options.dataDir, options.scenariosDir, options.session, options.push, (runId) => this.runs.has(runId) || existsSync(join(options.dataDir, 'runs', runId, 'manifest.json')));
    this.handlers = {
      'engine.info': () => ({
        pid: process.pid,
        version: appVersion,
        nodeVersion: process.version,
        sqliteVersion: sqliteVersion(),
        dataDir: this.options.dataDir,
        scenariosDir: this.options.scenariosDir,
        projectionThreads: this.projectionPool().threads,
      }),
      'scenarios.list': () => ({ scenarios: this.listScenarios() }),
      'run.start': (params) => this.startRun(params),
      'run.stop': async (params) => this.findRun(params.runId).stop(),
      'run.pause': (params) => this.findRun(params.runId).pause(),
      'run.resume': (params) => this.findRun(params.runId).resume(),
      'run.step': (params) => this.findRun(params.runId).step(params.events),
      'run.speed': (params) => this.findRun(params.runId).setSpeed(params.speed),
      'run.set': (params) => this.findRun(params.runId).setParameter(params.path, toJsonValue(params.value, 'value')),
      'run.fork': (params) => this.forkRun(params),
      'runs.diff': (params) => diffRuns(this.runDirectory(params.a), this.runDirectory(params.b)),
      'run.get': (params) => this.findRun(params.runId).summary(),
      'run.backup': async (params) => ({ backup: (await this.findRun(params.runId).backup()) ?? null }),
      'projections.list': (params) => {
        const run = this.findRun(params.runId);
        return { projections: run.projectionHealth(), live: run.daemon() !== undefined };
      },
      'projections.state': (params) => {
        const daemon = this.liveDaemon(params.runId);
        const stateJson = daemon.stateJson(params.name);
        if (stateJson === undefined) throw new AuraError('not_found', `no projection ${params.name} in run ${params.runId}`);
        return { checkpoint: daemon.checkpoint(params.name), state: JSON.parse(stateJson) as unknown };
      },
      'projections.parked': (params) => ({ events: this.liveDaemon(params.runId).parked(params.name) }),
      'projections.rebuild': (params) => {
        this.liveDaemon(params.runId).rebuild(params.name);
        return { started: true as const };
      },
      'projections.compare': (params) => {
        this.liveDaemon(params.runId).compare(params.name);
        return { started: true as const };
      },
      'projections.resume': (params) => {
        this.liveDaemon(params.runId).resume(params.name);
        return { resumed: true as const };
      },
      'run.list': () => ({ runs: [...this.runs.values()].map((run) => run.summary()) }),
      'store.count': (params) => this.findRun(params.runId).storeStatistics(),
      'runs.history': () => this.browser.history(),
      'events.read': (params) => this.browser.read(params),
      'events.facets': (params) => this.browser.facets(params),
      'events.verify': (params) => this.browser.verify(params),
      'run.timeline': (params) => this.browser.timeline(params),
      'run.stateAt': (params) => this.browser.stateAt(params) as ResultOf<'run.stateAt'>,
      'sweeps.list': () => ({ sweeps: listSweeps(join(this.options.dataDir, 'sweeps')) }),
      'sweeps.results': (params) => readSweepResults(join(this.options.dataDir, 'sweeps', params.name)),
      'metrics.prometheus': () => ({
        text: prometheusText([...this.runs.values()].map((run) => ({ summary: run.summary(), projections: run.projectionHealth(), telemetry: run.telemetry(0) }))),
      }),
      'telemetry.get': (params) => {
        const run = this.runs.get(params.runId);
        return run !== undefined ? run.telemetry(params.fromSecond) : { ...this.browser.telemetry(params), faults: this.storedFaults(params.runId) };
      },
      'drills.list': () => this.drills.list(),
      'drill.start': (params) => this.drills.start(params),
      'drill.get': (params) => this.drills.get(params.drillId),
      'drill.action': (params) => this.drills.action(params.drillId, params.action),
      'drill.abort': (params) => this.drills.abort(params.drillId),
      'drill.debrief': (params) => this.drills.debrief(params.drillId, params.format),
      'chaos.catalogue': () => this.drills.catalogue(),
      'chaos.inject': (params) => this.injectFault(params),
      'chaos.plans': () => ({ plans: listExperiments(this.options.scenariosDir) }),
      'session.get': () => this.session.get(),
      'session.annotate': (params) => this.session.annotate(params),
      'session.status': () => this.session.getStatus(),
      'session.invite': (params) => this.session.invite(params.kind, params.expiresInMs),
      'session.join': (params) => this.session.join(params.invite),
      'session.presence': (params) => this.session.presenceOut(params),
      'session.history': (params) => this.session.history(params.offset, params.limit),
      'session.viewAt': (params) => this.session.viewAt(params.heads),
      'session.text': (params) => this.session.text(params.section, params.name),
      'session.putScenario': (params) => this.session.putScenario(this.scenarioPath(params.scenario), params.name),
      'session.removeScenario': (params) => this.session.remove('scenarios', params.name),
      'session.saveScenario': (params) => this.session.saveScenario(params.name),
      'session.putChaosPlan': (params) => this.session.putChaosPlan(this.scenarioPath(params.file), params.name, params.author),
      'session.removeChaosPlan': (params) => this.session.remove('chaosPlans', params.name),
      'session.addDrillNote': (params) => this.session.addDrillNote(params),
      'session.addRun': (params) => this.session.addRun(params.runId, this.runDirectory(params.runId)),
      'session.fetchRun': (params) => this.session.fetchRun(params.runId),
    };
  }

  /** Handles one raw message; always resolves to a response, never throws. */
  async handle(raw: unknown): Promise<ResponseEnvelope> {
    const envelope = requestEnvelopeSchema.safeParse(raw);
    if (!envelope.success) {
      const id = typeof raw === 'object' && raw !== null && 'id' in raw && (typeof raw.id === 'number' || typeof raw.id === 'string') ? raw.id : null;
      return errorResponse(id, { code: 'validation', message: 'malformed message: expected {type: "request", id, method, params}', issues: zodIssues(envelope.error) });
    }
    const { id, method } = envelope.data;
    if (!isMethodName(method)) {
      return errorResponse(id, { code: 'not_found', message: `unknown method ${JSON.stringify(method)}; expected one of ${Object.keys(methods).join(', ')}`, issues: [] });
    }
    const params = methods[method].params.safeParse(envelope.data.params ?? {});
    if (!params.success) {
      return errorResponse(id, { code: 'validation', message: `${method}: invalid params`, issues: zodIssues(params.error) });
    }
    try {
      const handler = this.handlers[method] as Handler<MethodName>;
      const result = await handler(params.data as never);
      return { type: 'response', id, ok: true, result };
    } catch (error) {
      return errorResponse(id, toApiError(error));
    }
  }

  /** Opens the lab's shared session (when the engine has one); the session methods wait for it. */
  openSession(): Promise<void> {
    return this.session.open();
  }

  async close(): Promise<void> {
    await this.session.close();
    await this.drills.close();
    await Promise.all([...this.runs.values()].filter((run) => run.running).map((run) => run.stop()));
    await this.browser.close();
    await this.pool?.close();
  }

  private projectionPool(): ProjectionPool {
    this.pool ??= new ProjectionPool(this.options.projectionThreads === undefined ? {} : { threads: this.options.projectionThreads });
    return this.pool;
  }

  /** The scenario files of the scenarios directory, then those saved from the session (`session/<name>.yaml`). */
  private listScenarios(): ScenarioEntry[] {
    const scenarioFiles = (dir: string): string[] => readdirSync(dir).filter((file) => scenarioExtensions.some((extension) => file.endsWith(extension))).sort();
    let files: string[];
    try {
      files = scenarioFiles(this.options.scenariosDir);
    } catch {
      throw new AuraError('not_found', `scenarios directory ${this.options.scenariosDir} cannot be read`);
    }
    try {
      files.push(...scenarioFiles(join(this.options.scenariosDir, sessionScenariosSubdir)).map((file) => `${sessionScenariosSubdir}/${file}`));
    } catch {
      // No scenario saved from the session yet.
    }
    return files.map((file) => {
      try {
        const { scenario } = readScenarioFile(join(this.options.scenariosDir, file));
        return {
          file,
          name: scenario.name,
          description: scenario.description ?? '',
          durationUs: scenario.duration,
          seed: scenario.seed ?? 1,
          projections: scenario.projections ?? [],
        };
      } catch (error) {
        return { file, name: basename(file).replace(/\.[^.]+$/, ''), description: '', durationUs: 0, seed: 0, projections: [], error: (error as Error).message };
      }
    });
  }

  /** A file as run.start takes it: absolute, or relative to the scenarios directory. */
  private scenarioPath(file: string): string {
    return isAbsolute(file) ? file : resolve(this.options.scenariosDir, file);
  }

  private startRun(params: z.infer<(typeof methods)['run.start']['params']>): ResultOf<'run.start'> {
    const loaded = readScenarioFile(this.scenarioPath(params.scenario));
    const seed = params.seed ?? loaded.scenario.seed ?? 1;
    return this.launch({ scenario: loaded.scenario, scenarioText: loaded.text, scenarioFile: loaded.file, seed, speed: params.speed }, params.outDir);
  }

  private forkRun(params: z.infer<(typeof methods)['run.fork']['params']>): ResultOf<'run.fork'> {
    const sourceDir = this.runDirectory(params.from);
    const live = [...this.runs.values()].find((run) => run.spec.outDir === sourceDir && run.running);
    const plan = planFork(
      sourceDir,
      params.at,
      params.set.map((set, index) => ({ path: set.path, value: toJsonValue(set.value, `set[${index}].value`) })),
      live?.actions(),
    );
    const forkOf = { runId: plan.manifest.runId, outDir: sourceDir, at: plan.at };
    const started = this.launch(
      { scenario: plan.scenario, scenarioText: plan.scenarioText, scenarioFile: plan.manifest.scenario.file, seed: plan.seed, speed: params.speed, actions: plan.actions, forkOf },
      params.outDir,
      `${plan.manifest.scenario.name}-fork`,
    );
    return { ...started, forkOf: { runId: forkOf.runId, at: forkOf.at } };
  }

  private launch(spec: Omit<RunSpec, 'runId' | 'outDir'>, outDirParam: string | undefined, label: string = spec.scenario.name): ResultOf<'run.start'> {
    const active = [...this.runs.values()].filter((run) => run.running).length;
    if (active >= limits.concurrentRunsMax) {
      throw new AuraError('limit', `${active} runs are already running; the limit is ${limits.concurrentRunsMax}`);
    }
    this.runCounter += 1;
    const stamp = new Date(this.options.clock.epochMs()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const runId = `${label}-s${spec.seed}-${stamp}-${process.pid}-${this.runCounter}`;
    const outDir = outDirParam === undefined ? join(this.options.dataDir, 'runs', runId) : resolve(outDirParam);
    const refusal = outDirRefusal(outDir);
    if (refusal !== undefined) throw new AuraError('conflict', `${outDir}: ${refusal}; a run never overwrites another`);
    const run = new RunController({ ...spec, runId, outDir }, this.projectionPool(), this.options.clock, this.options.push, this.options.runOptions ?? defaultRunOptions);
    this.runs.set(runId, run);
    return { runId, outDir, seed: spec.seed, scenario: spec.scenario.name, durationUs: spec.scenario.duration };
  }

  /** A run id (of this engine, or under the data directory) or a run directory, as a directory. */
  private runDirectory(reference: string): string {
    if (isAbsolute(reference) && existsSync(join(reference, 'manifest.json'))) return reference;
    const run = this.runs.get(reference);
    if (run !== undefined) return run.spec.outDir;
    return this.browser.runDirectory(reference);
  }

  /** chaos.inject: a fault into a live run of this engine, now. */
  private injectFault(params: z.infer<(typeof methods)['chaos.inject']['params']>): ResultOf<'chaos.inject'> {
    const run = this.runs.get(params.runId);
    if (run === undefined) {
      let known = false;
      try {
        known = this.runDirectory(params.runId) !== '';
      } catch {
        known = false;
      }
      if (known) throw new AuraError('conflict', `run ${params.runId} is not live in this engine: faults are injected into live runs`);
      throw new AuraError('not_found', `no run ${params.runId} in this engine`);
    }
    if (!run.running) throw new AuraError('conflict', `run ${params.runId} is no longer running: faults are injected into live runs`);
    const result = run.inject(params.fault);
    if (params.fault.kind === 'engine-kill') {
      // Answer first: the handler's result goes out before the timer fires.
      setTimeout(() => (this.options.killSelf ?? (() => process.kill(process.pid, 'SIGKILL')))(), engineKillDelayMs);
    }
    return result;
  }

  /** The fault windows a finished run of another session kept in its report (none when it kept none). */
  private storedFaults(runId: string): ResultOf<'telemetry.get'>['faults'] {
    try {
      const report = JSON.parse(readFileSync(join(this.runDirectory(runId), 'report.json'), 'utf8')) as { faults?: unknown };
      const parsed = faultWindowSchema.array().safeParse(report.faults ?? []);
      return parsed.success ? parsed.data : [];
    } catch {
      return [];
    }
  }

  private liveDaemon(runId: string): ProjectionDaemon {
    const daemon = this.findRun(runId).daemon();
    if (daemon === undefined) throw new AuraError('conflict', `run ${runId} has finished: its projections can be acted on while it runs`);
    return daemon;
  }

  private findRun(runId: string): RunController {
    const run = this.runs.get(runId);
    if (run === undefined) throw new AuraError('not_found', `no run ${runId} in this engine`);
    return run;
  }
}

let cachedSqliteVersion: string | undefined;
function sqliteVersion(): string {
  if (cachedSqliteVersion === undefined) {
    const db = new Database(':memory:');
    cachedSqliteVersion = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    db.close();
  }
  return cachedSqliteVersion;
}

function zodIssues(error: z.ZodError): ApiError['issues'] {
  return error.issues.map((issue) => ({ path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)), message: issue.message }));
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof AuraError) {
    return { code: error.code, message: error.message, issues: error.issues.map((issue) => ({ ...issue, path: [...issue.path] })) };
  }
  return { code: 'internal', message: error instanceof Error ? `internal error: ${error.message}` : 'internal error', issues: [] };
}

/** An API value as JSON (the contract carries unknown; the kernel records JSON only). */
function toJsonValue(value: unknown, field: string): JsonValue {
  if (value === undefined) throw new AuraError('validation', `${field}: expected a value`, [{ path: [field], message: 'expected a value' }]);
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

// ---- the shared session ------------------------------------------------------------------------

/** How the engine opens the lab's session host (main.ts: startSessionHost on the data directory). */
export interface EngineSessionOptions {
  /** Opens the session from `<dataDir>/session` (creating it when there is none), sharing it when asked. */
  readonly start: (share: { readonly port?: number } | undefined) => Promise<SessionHost>;
  /** Accept peers (`serve --share`); undefined: the session stays local (it can still join a host). */
  readonly share?: { readonly port?: number };
}

/** After this long without a message from a peer, its cursor is dropped. */
const presenceTtlMs = 10_000;
/** At most this many session.changed pushes a second. */
const changedPushIntervalMs = 200;
/** A fetch pushes its progress at most this often (the end of each stage always goes out). */
const fetchProgressIntervalMs = 100;
const presencePeersMax = 256;
const sectionWhat = { scenarios: 'scenario', chaosPlans: 'chaos plan' } as const;

interface PresenceMessage {
  readonly aura: 'presence';
  readonly name: string;
  readonly runId?: string;
  readonly position?: number;
}

/** A peer's presence message, checked (it comes from the network); undefined when malformed. */
function readPresence(message: unknown): PresenceMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  if (m.aura !== 'presence' || typeof m.name !== 'string' || m.name.length === 0 || m.name.length > 64) return undefined;
  if (m.runId !== undefined && (typeof m.runId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(m.runId))) return undefined;
  if (m.position !== undefined && (typeof m.position !== 'number' || !Number.isSafeInteger(m.position) || m.position < 0)) return undefined;
  return { aura: 'presence', name: m.name, ...(m.runId === undefined ? {} : { runId: m.runId }), ...(m.position === undefined ? {} : { position: m.position }) };
}

/** `<dataDir>/session/upstream.json`: the invite of the host this lab joined (mode 0600: it carries a token). */
function upstreamPath(dataDir: string): string {
  return join(sessionDirOf(dataDir), 'upstream.json');
}

function readUpstream(dataDir: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(upstreamPath(dataDir), 'utf8')) as { invite?: unknown };
    return typeof parsed.invite === 'string' ? parsed.invite : undefined;
  } catch {
    return undefined;
  }
}

/** The share port of the last run of this lab (so that invites outlive an engine restart). */
function previousSharePort(dataDir: string): number | undefined {
  try {
    const parsed = JSON.parse(readFileSync(shareAddressPath(dataDir), 'utf8')) as { port?: unknown };
    return typeof parsed.port === 'number' && Number.isInteger(parsed.port) && parsed.port > 0 ? parsed.port : undefined;
  } catch {
    return undefined;
  }
}

interface OpenSession {
  readonly host: SessionHost;
  readonly detach: () => void;
}

/**
 * The engine's side of the shared session: the API methods, the throttled `session.changed`
 * push, and presence (automerge-repo ephemeral messages on the session's handle).
 */
export class EngineSession {
  private current: Promise<OpenSession> | undefined;
  private readonly presence = new Map<string, PresenceEntry>();
  private pruneTimer: ReturnType<typeof setInterval> | undefined;
  private changedTimer: ReturnType<typeof setTimeout> | undefined;
  private lastChangedPushMs = 0;
  private joining = false;
  private closed = false;
  /** Runs being fetched from the joined host. */
  private readonly fetching = new Set<string>();

  constructor(
    private readonly dataDir: string,
    /** Where session scenarios are saved (`session/<name>.yaml` under it) and chaos plans resolve their scenario. */
    private readonly scenariosDir: string,
    private readonly options: EngineSessionOptions | undefined,
    private readonly push: (message: PushEnvelope) => void,
    /** This lab has the run (the engine runs it, or it is under `<dataDir>/runs`). */
    private readonly hasRun: (runId: string) => boolean,
  ) {}

  /** Opens the session (main.ts calls this at start; every method waits for it). */
  open(): Promise<void> {
    const options = this.options;
    if (options === undefined) return Promise.resolve();
    this.current ??= this.openHost(options);
    this.pruneTimer ??= setInterval(() => this.prunePresence(), 1_000);
    this.pruneTimer.unref();
    return this.current.then(() => undefined);
  }

  private async openHost(options: EngineSessionOptions): Promise<OpenSession> {
    let share = options.share;
    if (share !== undefined && share.port === undefined) {
      const previous = previousSharePort(this.dataDir);
      if (previous !== undefined) {
        try {
          return this.attach(await options.start({ port: previous }));
        } catch {
          share = { port: 0 };
        }
      }
    }
    return this.attach(await options.start(share));
  }

  private attach(host: SessionHost): OpenSession {
    const handle = host.session.handle;
    const onChange = (): void => this.scheduleChanged(host);
    const onEphemeral = ({ senderId, message }: { senderId: string; message: unknown }): void => {
      const presence = readPresence(message);
      if (presence === undefined) return;
      const key = `${senderId}/${presence.name}`;
      if (!this.presence.has(key) && this.presence.size >= presencePeersMax) return;
      this.presence.set(key, { name: presence.name, ...(presence.runId === undefined ? {} : { runId: presence.runId }), ...(presence.position === undefined ? {} : { position: presence.position }), seenMs: Date.now() });
      this.pushPresence();
    };
    handle.on('change', onChange);
    handle.on('ephemeral-message', onEphemeral);
    // Peers arriving and leaving change the status too.
    const onPeers = (): void => this.scheduleChanged(host);
    host.session.repo.networkSubsystem.on('peer', onPeers);
    host.session.repo.networkSubsystem.on('peer-disconnected', onPeers);
    const upstream = readUpstream(this.dataDir);
    if (upstream !== undefined) {
      try {
        host.session.addNetworkAdapter(new QuietWebSocketClientAdapter(parseInvite(upstream).socketUrl, 500));
      } catch {
        // A damaged upstream file: the session stays local.
      }
    }
    return {
      host,
      detach: () => {
        handle.off('change', onChange);
        handle.off('ephemeral-message', onEphemeral);
        host.session.repo.networkSubsystem.off('peer', onPeers);
        host.session.repo.networkSubsystem.off('peer-disconnected', onPeers);
      },
    };
  }

  private async host(): Promise<SessionHost> {
    if (this.closed) throw new AuraError('unavailable', 'the engine is closing');
    if (this.current === undefined && this.options !== undefined) void this.open().catch(() => undefined);
    if (this.current === undefined) throw new AuraError('unavailable', 'this engine holds no session');
    try {
      return (await this.current).host;
    } catch (error) {
      throw new AuraError('unavailable', `the session could not be opened: ${error instanceof AuraError ? error.message : 'unexpected error'}`);
    }
  }

  private status(host: SessionHost): ResultOf<'session.status'> {
    const status = host.session.syncStatus();
    return {
      sharing: host.share !== undefined,
      peers: status.connectedPeers,
      peersUpToDate: status.peersUpToDate,
      changesNotOnAnyPeer: status.changesNotOnAnyPeer,
      lastSyncMs: status.lastSyncMs ?? null,
    };
  }

  private scheduleChanged(host: SessionHost): void {
    if (this.changedTimer !== undefined) return;
    const wait = Math.max(0, this.lastChangedPushMs + changedPushIntervalMs - Date.now());
    this.changedTimer = setTimeout(() => {
      this.changedTimer = undefined;
      if (this.closed) return;
      this.lastChangedPushMs = Date.now();
      try {
        this.push({ type: 'push', topic: 'session.changed', data: { status: this.status(host), counts: sessionCounts(host.session.read().session) } });
      } catch {
        // The session closed meanwhile (a join): the next one pushes its own.
      }
    }, wait);
  }

  private pushPresence(): void {
    this.push({ type: 'push', topic: 'session.presence', data: { peers: [...this.presence.values()].sort((a, b) => a.name.localeCompare(b.name)) } });
  }

  private prunePresence(): void {
    const cutoff = Date.now() - presenceTtlMs;
    let dropped = false;
    for (const [key, entry] of this.presence) {
      if (entry.seenMs < cutoff) {
        this.presence.delete(key);
        dropped = true;
      }
    }
    if (dropped) this.pushPresence();
  }

  async get(): Promise<ResultOf<'session.get'>> {
    const host = await this.host();
    const { session, rejected } = host.session.read();
    return sessionViewOf(session, rejected.length, this.hasRun);
  }

  async history(offset: number, limit: number): Promise<ResultOf<'session.history'>> {
    const host = await this.host();
    return historyPage(host.session.history(), offset, limit);
  }

  /** The session at a past point of its history, and what differs now. */
  async viewAt(heads: readonly string[]): Promise<ResultOf<'session.viewAt'>> {
    const host = await this.host();
    const doc = host.session.doc();
    let hashes: string[];
    try {
      hashes = decodeHeads(heads as UrlHeads);
    } catch {
      throw new AuraError('validation', 'heads: not change hashes of a session', [{ path: ['heads'], message: 'not a change hash' }]);
    }
    if (!Automerge.hasHeads(doc, hashes)) throw new AuraError('not_found', 'no such point in this session’s history');
    const past = host.session.viewAt(heads as UrlHeads);
    const now = host.session.read();
    const diff = sessionDiff(past.session, now.session, host.session.diff(heads as UrlHeads));
    return { view: sessionViewOf(past.session, past.rejected.length, this.hasRun), diff, changesSince: Automerge.getChangesMetaSince(doc, hashes).length };
  }

  async text(section: 'scenarios' | 'chaosPlans', name: string): Promise<ResultOf<'session.text'>> {
    const entry = await this.entry(section, name);
    return { section, name, text: entry.text, sha256: entry.sha256 };
  }

  /** A valid scenario or chaos plan of the session; `not_found` when there is none of that name. */
  private async entry(section: 'scenarios' | 'chaosPlans', name: string): Promise<{ text: string; sha256: string }> {
    const host = await this.host();
    const entries = host.session.read().session[section];
    const entry = Object.hasOwn(entries, name) ? entries[name] : undefined;
    if (entry === undefined) throw new AuraError('not_found', `no ${sectionWhat[section]} ${JSON.stringify(name)} in the session`);
    return entry;
  }

  /**
   * Applies one local change to the session and waits until it is on disk: acknowledged means
   * kept (a lab killed after the answer still has it). The session-doc writers validate before
   * they touch the document, so a refused change leaves the session as it was.
   */
  private async write<T>(message: string, fn: (doc: SessionDoc) => T): Promise<T> {
    const host = await this.host();
    let result: T | undefined;
    host.session.change((doc) => {
      result = fn(doc);
    }, message);
    await host.session.flush();
    return result as T;
  }

  /** Puts a finished run of this lab in the session (its manifest and report in brief). */
  async addRun(runId: string, runDir: string): Promise<ResultOf<'session.addRun'>> {
    await this.host();
    const summary = runSummaryOf(runDir);
    if (summary.manifest.status === 'running') throw new AuraError('conflict', `run ${runId} is still running; add it to the session once it has ended`);
    await this.write(`add run ${runId}`, (doc) => putRunSummary(doc, runId, summary));
    return { runId };
  }

  /** A scenario file (validated as a scenario) into the session's library. */
  async putScenario(file: string, name: string | undefined): Promise<ResultOf<'session.putScenario'>> {
    await this.host();
    const scenario = scenarioForSession(file, name);
    const entry = await this.write(`put scenario ${scenario.name}`, (doc) => putScenario(doc, scenario.name, scenario.text));
    return { name: scenario.name, sha256: entry.sha256 };
  }

  /** A chaos experiment file (loaded and checked against its scenario) into the session's chaos plans. */
  async putChaosPlan(file: string, name: string | undefined, author: string | undefined): Promise<ResultOf<'session.putChaosPlan'>> {
    await this.host();
    const plan = chaosPlanForSession(file, this.scenariosDir, name);
    const entry = await this.write(`put chaos plan ${plan.name}`, (doc) => putChaosPlan(doc, plan.name, { text: plan.text, author: author ?? userInfo().username, updatedAtMs: Date.now() }));
    return { name: plan.name, sha256: entry.sha256 };
  }

  /** Takes a scenario or chaos plan out of the session (a malformed one from a peer too). */
  async remove(section: 'scenarios' | 'chaosPlans', name: string): Promise<{ name: string }> {
    const host = await this.host();
    const entries = (host.session.doc() as Partial<SessionDoc>)[section];
    if (entries === undefined || !Object.hasOwn(entries, name)) throw new AuraError('not_found', `no ${sectionWhat[section]} ${JSON.stringify(name)} in the session`);
    await this.write(`remove ${sectionWhat[section]} ${name}`, (doc) => removeEntry(doc, section, name));
    return { name };
  }

  /** Saves a session scenario under the scenarios directory, so that run.start can run it. */
  async saveScenario(name: string): Promise<ResultOf<'session.saveScenario'>> {
    const entry = await this.entry('scenarios', name);
    return { name, ...saveSessionScenario(this.scenariosDir, name, entry.text) };
  }

  async addDrillNote(params: z.infer<(typeof methods)['session.addDrillNote']['params']>): Promise<ResultOf<'session.addDrillNote'>> {
    await this.host();
    const { id, note } = drillNoteFor(params.drillId, params.text, params.author ?? userInfo().username);
    await this.write('add drill note', (doc) => addDrillNote(doc, id, note));
    return { id };
  }

  /**
   * Fetches a run from the host this lab joined (the invite kept in `session/upstream.json`),
   * verified, into `<dataDir>/runs/<runId>`; progress goes out as `session.fetchProgress`.
   */
  async fetchRun(runId: string): Promise<ResultOf<'session.fetchRun'>> {
    await this.host();
    const upstream = readUpstream(this.dataDir);
    if (upstream === undefined) throw new AuraError('conflict', 'this lab has not joined another host’s session: runs are fetched from the host it joined');
    if (this.fetching.has(runId)) throw new AuraError('conflict', `run ${runId} is being fetched already`);
    if (this.hasRun(runId)) throw new AuraError('conflict', `this lab already has run ${runId}`);
    this.fetching.add(runId);
    let lastPushMs = 0;
    try {
      const fetched = await fetchRunBundle({
        invite: upstream,
        runId,
        dataDir: this.dataDir,
        onProgress: (stage, done, total) => {
          const now = Date.now();
          if (now - lastPushMs < fetchProgressIntervalMs && done < total) return;
          lastPushMs = now;
          this.push({ type: 'push', topic: 'session.fetchProgress', data: { runId, stage, done, total } });
        },
      });
      return { runId, bytes: fetched.bytes, sha256: fetched.sha256, events: fetched.events, headHash: fetched.headHash, verified: true, transferMs: fetched.transferMs, importMs: fetched.importMs };
    } finally {
      this.fetching.delete(runId);
    }
  }

  async annotate(params: z.infer<(typeof methods)['session.annotate']['params']>): Promise<ResultOf<'session.annotate'>> {
    const id = `a-${randomBytes(8).toString('hex')}`;
    const annotation = { runId: params.runId, position: params.position, text: params.text, author: params.author ?? userInfo().username, createdAtMs: Date.now() };
    await this.write('annotate', (doc) => addAnnotation(doc, id, annotation));
    return { id };
  }

  async getStatus(): Promise<ResultOf<'session.status'>> {
    return this.status(await this.host());
  }

  async invite(kind: 'read-write' | 'read-only', expiresInMs?: number): Promise<ResultOf<'session.invite'>> {
    const host = await this.host();
    if (host.share === undefined) throw new AuraError('conflict', 'this lab is not shared: start it with aura-lab serve --share to make invites');
    return { invite: host.share.createInvite(kind, expiresInMs === undefined ? {} : { ttlMs: expiresInMs }) };
  }

  async presenceOut(params: z.infer<(typeof methods)['session.presence']['params']>): Promise<ResultOf<'session.presence'>> {
    const host = await this.host();
    const message: PresenceMessage = { aura: 'presence', name: params.name, ...(params.runId === undefined ? {} : { runId: params.runId }), ...(params.position === undefined ? {} : { position: params.position }) };
    host.session.handle.broadcast(message);
    return {};
  }

  /**
   * Joins the session an invite names: checks the token at that host, closes this lab's session
   * (kept on disk as `session.before-join-<time>`), fetches the joined one into `<dataDir>/session`,
   * and opens it as the lab's session, connected to that host (and shared, when this lab shares).
   */
  async join(inviteText: string): Promise<ResultOf<'session.join'>> {
    const invite = parseInvite(inviteText);
    const options = this.options;
    if (options === undefined) throw new AuraError('unavailable', 'this engine holds no session');
    if (this.joining) throw new AuraError('conflict', 'a join is already in progress');
    this.joining = true;
    try {
      const host = await this.host();
      if (host.session.documentId === invite.documentId) throw new AuraError('conflict', 'this lab is already in that session');
      await probeInvite(invite);
      const sharePort = host.share?.port;
      const open = await this.current;
      open?.detach();
      await host.close();
      const dir = sessionDirOf(this.dataDir);
      const aside = `${dir}.before-join-${new Date().toISOString().replace(/[-:.]/g, '')}`;
      renameSync(dir, aside);
      let joinError: unknown;
      try {
        const joined = await joinSession({ dataDir: this.dataDir, invite, skipProbe: true, timeoutMs: 15_000 });
        await joined.close();
        writeFileSync(upstreamPath(this.dataDir), `${JSON.stringify({ invite: inviteText.trim() })}\n`, { mode: 0o600 });
      } catch (error) {
        joinError = error;
        rmSync(dir, { recursive: true, force: true });
        renameSync(aside, dir);
      }
      const share = options.share === undefined ? undefined : { port: sharePort ?? options.share.port ?? 0 };
      this.current = options.start(share).then((reopened) => this.attach(reopened));
      const reopened = await this.host();
      this.scheduleChanged(reopened);
      if (joinError !== undefined) throw joinError;
      return { title: reopened.session.read().session.title };
    } finally {
      this.joining = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer);
    if (this.changedTimer !== undefined) clearTimeout(this.changedTimer);
    const current = this.current;
    this.current = undefined;
    if (current === undefined) return;
    try {
      const open = await current;
      open.detach();
      await open.host.close();
    } catch {
      // Never opened: nothing to close.
    }
  }
}
