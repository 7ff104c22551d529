/**
 * Chaos experiments from files: reads an experiment (YAML or JSON, errors with file:line:column
 * and field path), resolves its scenario (next to the experiment file, then in the scenarios
 * directory), runs it with the pure runner, and writes a run directory: the event log (faults
 * in `$chaos`, their parameter changes in `$run`), a manifest, and journal.json, the
 * deterministic account of the experiment (no wall-clock field in it).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { canonicalJson } from '../core/kernel/canonical.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { limits } from '../core/kernel/limits.ts';
import { anyVersion, type StreamAppend } from '../core/ports/event-store.ts';
import { checkExperimentAgainstScenario, experimentSeed, runExperiment, validateExperiment, type Experiment, type Journal } from '../core/chaos/experiment.ts';
import type { PlannedEvent } from '../core/sim/kernel.ts';
import type { Scenario } from '../core/sim/scenario.ts';
import { formatDurationUs } from '../core/sim/duration.ts';
import { appVersion } from './app-info.ts';
import { outDirRefusal, writeFileAtomic } from './files.ts';
import { sha256Hex } from './hashing.ts';
import { runFiles } from './run-files.ts';
import { packageRoot } from './runtime.ts';
import { displayPath, parseYamlWith, readScenarioFile } from './scenario-loader.ts';
import { SqliteEventStore } from './sqlite-event-store.ts';

export const journalFileName = 'journal.json';

export interface LoadedExperiment {
  readonly file: string;
  readonly text: string;
  readonly experiment: Experiment;
  readonly scenarioFile: string;
  readonly scenarioText: string;
  readonly scenario: Scenario;
}

/** The lab's scenarios directory ($AURA_LAB_SCENARIOS_DIR, or the package's scenarios/). */
export function defaultScenariosDir(): string {
  return process.env.AURA_LAB_SCENARIOS_DIR ?? join(packageRoot(), 'scenarios');
}

function readText(file: string, what: string): string {
  const shown = displayPath(file);
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new AuraError('validation', `${shown}: not a file`, [{ path: [], message: 'not a file', file: shown }]);
    if (stat.size > limits.scenarioBytesMax) throw new AuraError('limit', `${shown}: ${what} file is ${stat.size} bytes; the limit is ${limits.scenarioBytesMax}`, [{ path: [], message: `file is larger than ${limits.scenarioBytesMax} bytes`, file: shown }]);
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof AuraError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String((error as Error).message);
    throw new AuraError(code === 'ENOENT' ? 'not_found' : 'validation', `${shown}: cannot read ${what}: ${reason}`, [{ path: [], message: `cannot read ${what}: ${reason}`, file: shown }]);
  }
}

/** Parses experiment text; `sourceName` is used in error messages. */
export function parseExperimentText(text: string, sourceName: string): Experiment {
  return parseYamlWith(text, sourceName, validateExperiment, 'an experiment mapping');
}

/** Where an experiment's scenario is: absolute, or next to the experiment file, or in the scenarios directory. */
export function resolveScenarioFile(name: string, experimentFile: string, scenariosDir: string = defaultScenariosDir()): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  for (const candidate of [resolve(dirname(experimentFile), name), resolve(scenariosDir, name)]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/**
 * Reads an experiment and its scenario and checks that they fit together. Errors are
 * AuraError('validation' | 'not_found' | 'limit') whose issues carry the file, line, column and
 * field (the scenario's own errors name the scenario file).
 */
export function readExperimentFile(file: string, options: { scenariosDir?: string } = {}): LoadedExperiment {
  const path = resolve(file);
  const shown = displayPath(path);
  const text = readText(path, 'experiment');
  const experiment = parseExperimentText(text, shown);
  const scenarioFile = resolveScenarioFile(experiment.scenario, path, options.scenariosDir);
  if (scenarioFile === undefined) {
    // Located at the scenario field, like every other field error.
    parseYamlWith(text, shown, () => {
      throw new AuraError('validation', 'scenario not found', [{ path: ['scenario'], message: `no scenario file ${JSON.stringify(experiment.scenario)} next to the experiment or in ${displayPath(options.scenariosDir ?? defaultScenariosDir())}` }]);
    }, 'an experiment mapping');
  }
  const loaded = readScenarioFile(scenarioFile as string);
  // Located in the experiment file: generators, streams, event types and the timeline against the scenario.
  parseYamlWith(text, shown, (document) => {
    const issues = checkExperimentAgainstScenario(validateExperiment(document), loaded.scenario);
    if (issues.length > 0) throw new AuraError('validation', `the experiment does not fit scenario ${loaded.scenario.name}`, issues);
    return undefined;
  }, 'an experiment mapping');
  return { file: path, text, experiment, scenarioFile: scenarioFile as string, scenarioText: loaded.text, scenario: loaded.scenario };
}

export interface ExperimentListing {
  /** Relative to the scenarios directory (`chaos/<file>`). */
  readonly file: string;
  readonly title: string;
  readonly scenario: string;
  /** Why the experiment does not load (it is still listed). */
  readonly error?: string;
}

/** The chaos experiments of `<scenariosDir>/chaos` (YAML or JSON), each checked against its scenario; none when there is no such directory. */
export function listExperiments(scenariosDir: string): ExperimentListing[] {
  const dir = join(scenariosDir, 'chaos');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort()
    .map((name) => {
      const file = `chaos/${name}`;
      try {
        const { experiment } = readExperimentFile(join(dir, name), { scenariosDir });
        return { file, title: experiment.title, scenario: experiment.scenario };
      } catch (error) {
        return { file, title: name, scenario: '', error: (error as Error).message };
      }
    });
}

export interface ExperimentRunOptions {
  readonly seed?: number;
  /** The run directory to write (absent or empty); nothing is written without it. */
  readonly outDir?: string;
  readonly scenariosDir?: string;
}

/** The journal as written to journal.json: the runner's, plus the log's head (deterministic too). */
export type JournalFile = Journal & { readonly log: { readonly headPosition: number; readonly headHash: string } | null };

export interface ExperimentRunReport {
  readonly journal: JournalFile;
  readonly runDir: string | undefined;
  readonly journalFile: string | undefined;
  readonly scenarioFile: string;
  /** Wall-clock duration: for people, never in the journal. */
  readonly wallMs: number;
}

/**
 * The scenario text as the experiment runs it: with the experiment's duration when it sets one
 * (comments and layout kept), so that the manifest describes the run that was made.
 */
export function scenarioTextAsRun(text: string, scenario: Scenario, experiment: Experiment): string {
  if (experiment.duration === undefined || experiment.duration === scenario.duration) return text;
  const document = parseDocument(text);
  document.setIn(['duration'], formatDurationUs(experiment.duration));
  return document.toString();
}

/** A run id a person can read: chaos-<title as a slug>-seed<N>. */
function experimentRunId(experiment: Experiment, seed: number): string {
  const slug = experiment.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'experiment';
  return `chaos-${slug}-seed${seed}`;
}

/** Consecutive events of one stream form one append (as the run controller does). */
function appendsOf(events: readonly PlannedEvent[]): StreamAppend[] {
  const appends: StreamAppend[] = [];
  let current: { stream: PlannedEvent['stream']; events: PlannedEvent['event'][] } | undefined;
  for (const item of events) {
    if (current === undefined || current.stream !== item.stream) {
      current = { stream: item.stream, events: [] };
      appends.push({ stream: current.stream, events: current.events, expected: anyVersion });
    }
    current.events.push(item.event);
  }
  return appends;
}

/**
 * Runs an experiment file. With `outDir`, writes a run directory there: events.sqlite (every
 * planned event, hash-chained like any run), head.json, manifest.json (scenario, seed, the
 * operator actions the faults applied, the experiment file) and journal.json.
 */
export function runExperimentFile(file: string, options: ExperimentRunOptions = {}): ExperimentRunReport {
  const started = performance.now();
  const loaded = readExperimentFile(file, options.scenariosDir === undefined ? {} : { scenariosDir: options.scenariosDir });
  const seed = experimentSeed(loaded.experiment, loaded.scenario, options.seed);
  const outDir = options.outDir === undefined ? undefined : resolve(options.outDir);
  const refusal = outDir === undefined ? undefined : outDirRefusal(outDir);
  if (refusal !== undefined) throw new AuraError('conflict', `${displayPath(outDir as string)}: ${refusal}; a run never overwrites another`);
  if (outDir === undefined) {
    const result = runExperiment(loaded.experiment, loaded.scenario, seed);
    return { journal: { ...result.journal, log: null }, runDir: undefined, journalFile: undefined, scenarioFile: loaded.scenarioFile, wallMs: performance.now() - started };
  }
  mkdirSync(outDir, { recursive: true });
  const store = new SqliteEventStore(runFiles.eventLog(outDir), { headRecordPath: runFiles.headRecord(outDir) });
  let journal: JournalFile;
  let status = 'failed';
  let error: string | undefined;
  let actions: unknown[] = [];
  const scenarioText = scenarioTextAsRun(loaded.scenarioText, loaded.scenario, loaded.experiment);
  try {
    const result = runExperiment(loaded.experiment, loaded.scenario, seed, {
      batchEvents: limits.appendBatchEventsMax,
      sink: (events) => {
        store.appendBatch(appendsOf(events));
      },
    });
    actions = [...result.actions];
    journal = { ...result.journal, log: { headPosition: store.headPosition(), headHash: store.headHash() } };
    status = 'completed';
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
    throw caught;
  } finally {
    const sqlite = (store.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    const manifest = {
      format: 'aura-lab-run',
      formatVersion: 1,
      runId: experimentRunId(loaded.experiment, seed),
      status,
      scenario: { name: loaded.scenario.name, file: loaded.scenarioFile, sha256: sha256Hex(scenarioText), text: scenarioText },
      seed,
      speed: 'max',
      app: { name: 'aura-lab', version: appVersion },
      node: process.version,
      sqlite,
      eventLog: 'events.sqlite',
      headPosition: store.headPosition(),
      headHash: store.headHash(),
      events: store.count(),
      checkpoints: [],
      actions,
      projections: [],
      experiment: { file: loaded.file, sha256: sha256Hex(loaded.text), title: loaded.experiment.title, journal: journalFileName, text: loaded.text },
      ...(error === undefined ? {} : { error }),
    };
    store.closeFinished();
    writeFileAtomic(runFiles.manifest(outDir), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  const journalFile = join(outDir, journalFileName);
  writeFileAtomic(journalFile, journalText(journal));
  return { journal, runDir: outDir, journalFile, scenarioFile: loaded.scenarioFile, wallMs: performance.now() - started };
}

/** journal.json's text: canonical JSON (sorted keys), so the same experiment and seed give the same bytes. */
export function journalText(journal: JournalFile | Journal): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(journal)), null, 2)}\n`;
}
