/** `aura-lab run <scenario>`: runs a scenario headless in an engine process and summarises it. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JsonValue } from '../core/kernel/canonical.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { outDirRefusal } from '../node/files.ts';
import { EngineSupervisor } from '../host/engine-supervisor.ts';
import { readScenarioFile, displayPath } from '../node/scenario-loader.ts';
import type { RunSummary } from '../shared/api.ts';
import { ApiClient, ApiRequestError } from '../shared/client.ts';
import { CliError, dataDir, scenariosDir } from './context.ts';
import { ProgressBar } from './progress.ts';
import { formatDurationUs } from '../core/sim/duration.ts';

export interface RunOptions {
  readonly scenario: string;
  readonly seed?: number;
  readonly out?: string;
  readonly json: boolean;
  readonly speed: number | 'max';
}

export async function runCommand(options: RunOptions): Promise<number> {
  const file = resolve(options.scenario);
  // Validate here first: a bad scenario must not start an engine or touch --out.
  try {
    readScenarioFile(file);
  } catch (error) {
    if (error instanceof AuraError) throw new CliError(error.message, 2);
    throw error;
  }
  const outDir = options.out === undefined ? undefined : resolve(options.out);
  const refusal = outDir === undefined ? undefined : outDirRefusal(outDir);
  if (outDir !== undefined && refusal !== undefined) throw new CliError(`${displayPath(outDir)}: ${refusal}; a run never overwrites another`, 2);

  return driveRun(displayPath(file), options.json, (client) =>
    client.request('run.start', {
      scenario: file,
      speed: options.speed,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(outDir === undefined ? {} : { outDir }),
    }),
  );
}

export interface ForkOptions {
  readonly from: string;
  readonly at: number;
  readonly set: readonly { path: string; value: JsonValue }[];
  readonly out?: string;
  readonly json: boolean;
  readonly speed: number | 'max';
}

/** `aura-lab fork <run> --at P [--set k=v ...]`: a what-if run sharing the first P events. */
export async function forkCommand(options: ForkOptions): Promise<number> {
  const from = existsSync(options.from) ? resolve(options.from) : options.from;
  const outDir = options.out === undefined ? undefined : resolve(options.out);
  const refusal = outDir === undefined ? undefined : outDirRefusal(outDir);
  if (outDir !== undefined && refusal !== undefined) throw new CliError(`${displayPath(outDir)}: ${refusal}; a run never overwrites another`, 2);
  return driveRun(`fork of ${options.from} at ${options.at}`, options.json, (client) =>
    client.request('run.fork', { from, at: options.at, set: [...options.set], speed: options.speed, ...(outDir === undefined ? {} : { outDir }) }),
  );
}

/** Starts a run in an engine process, shows its progress and prints its summary. */
async function driveRun(label: string, json: boolean, start: (client: ApiClient) => Promise<{ runId: string; outDir: string }>): Promise<number> {
  let outDir = '';
  const supervisor = new EngineSupervisor({ dataDir: dataDir(), scenariosDir: scenariosDir(), restart: false });
  const client: ApiClient = new ApiClient((message) => link.send(message));
  const link = supervisor.connect((message) => client.handle(message));

  const progress = new ProgressBar(label);
  let runId: string | undefined;
  let finished: ((summary: RunSummary) => void) | undefined;
  const finishedPromise = new Promise<RunSummary>((resolveSummary) => (finished = resolveSummary));
  client.on('run.progress', (summary) => {
    if (summary.runId !== runId) return;
    const fraction = summary.durationUs > 0 ? summary.virtualTimeUs / summary.durationUs : 0;
    progress.update(fraction, `${summary.events.toLocaleString('en')} events`);
  });
  client.on('run.finished', (summary) => {
    if (summary.runId === runId) finished?.(summary);
  });
  client.on('engine.status', (status) => {
    if (status.state === 'stopped' && runId !== undefined) {
      finished?.({ runId, scenario: '', seed: 0, status: 'failed', outDir, events: 0, storeCount: null, headPosition: 0, headHash: '', virtualTimeUs: 0, durationUs: 0, wallMs: 0, paused: false, speed: 'max', error: status.reason ?? 'engine stopped' });
    }
  });

  try {
    await supervisor.start();
    const started = await start(client);
    runId = started.runId;
    outDir = started.outDir;
    const summary = await finishedPromise;
    progress.done();
    printSummary(summary, json);
    return summary.status === 'completed' ? 0 : 1;
  } catch (error) {
    progress.done();
    if (error instanceof ApiRequestError) throw new CliError(error.message, error.code === 'validation' || error.code === 'conflict' || error.code === 'not_found' ? 2 : 1);
    throw error;
  } finally {
    link.close();
    await supervisor.stop();
  }
}

function printSummary(summary: RunSummary, json: boolean): void {
  const eventsPerSecond = summary.wallMs > 0 ? Math.round((summary.events / summary.wallMs) * 1000) : null;
  if (json) {
    const out = {
      runId: summary.runId,
      scenario: summary.scenario,
      seed: summary.seed,
      status: summary.status,
      outDir: summary.outDir,
      events: summary.storeCount ?? summary.events,
      headPosition: summary.headPosition,
      headHash: summary.headHash,
      virtualDurationUs: summary.durationUs,
      wallMs: summary.wallMs,
      eventsPerSecond,
      ...(summary.error === undefined ? {} : { error: summary.error }),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const lines = [
    `run ${summary.runId}: ${summary.status}${summary.error ? ` (${summary.error})` : ''}`,
    `  scenario    ${summary.scenario}, seed ${summary.seed}, ${formatDurationUs(summary.durationUs)} of virtual time`,
    `  events      ${(summary.storeCount ?? summary.events).toLocaleString('en')} in the store, head position ${summary.headPosition}`,
    `  head hash   ${summary.headHash}`,
    `  wall time   ${(summary.wallMs / 1000).toFixed(2)} s${eventsPerSecond === null ? '' : ` (${eventsPerSecond.toLocaleString('en')} events/s)`}`,
    `  written to  ${displayPath(summary.outDir)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
