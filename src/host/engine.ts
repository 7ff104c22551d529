/**
 * The engine: owns the runs, their stores and the projection pool, and answers the API
 * contract. Every incoming message is validated here; a malformed one gets a typed error reply.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { z } from 'zod';
import { AuraError } from '../core/kernel/errors.ts';
import { limits } from '../core/kernel/limits.ts';
import type { Clock } from '../core/ports/clock.ts';
import { appVersion } from '../node/app-info.ts';
import { isAbsentOrEmptyDir } from '../node/files.ts';
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

  constructor(private readonly options: EngineOptions) {
    this.browser = new EventBrowser({ dataDir: options.dataDir, clock: options.clock, push: options.push, sessionRuns: () => this.runs.values() });
    this.drills = new DrillManager({ dataDir: options.dataDir, scenariosDir: options.scenariosDir, clock: options.clock, push: options.push });
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

  async close(): Promise<void> {
    await this.drills.close();
    await Promise.all([...this.runs.values()].filter((run) => run.running).map((run) => run.stop()));
    await this.browser.close();
    await this.pool?.close();
  }

  private projectionPool(): ProjectionPool {
    this.pool ??= new ProjectionPool(this.options.projectionThreads === undefined ? {} : { threads: this.options.projectionThreads });
    return this.pool;
  }

  private listScenarios(): ScenarioEntry[] {
    let files: string[];
    try {
      files = readdirSync(this.options.scenariosDir).filter((file) => scenarioExtensions.some((extension) => file.endsWith(extension)));
    } catch {
      throw new AuraError('not_found', `scenarios directory ${this.options.scenariosDir} cannot be read`);
    }
    return files.sort().map((file) => {
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

  private startRun(params: z.infer<(typeof methods)['run.start']['params']>): ResultOf<'run.start'> {
    const file = isAbsolute(params.scenario) ? params.scenario : resolve(this.options.scenariosDir, params.scenario);
    const loaded = readScenarioFile(file);
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
    if (!isAbsentOrEmptyDir(outDir)) {
      throw new AuraError('conflict', `output directory ${outDir} is not empty; a run never overwrites another`);
    }
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
