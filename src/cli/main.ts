/**
 * `aura-lab`: the command line. Every command that runs the engine starts it in its own
 * process through the engine supervisor, exactly as the desktop app and browser mode do.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuraError, formatIssue } from '../core/kernel/errors.ts';
import { appVersion } from '../node/app-info.ts';
import { EngineSupervisor } from '../host/engine-supervisor.ts';
import { newestSourceMs, packageRoot } from '../node/runtime.ts';
import { readScenarioFile } from '../node/scenario-loader.ts';
import { CliError, dataDir, scenariosDir } from './context.ts';
import { forkCommand, runCommand } from './run.ts';
import { diffCommand, exportCommand, importCommand, replayCommand, schemaCommand, sweepCommand } from './sim-commands.ts';
import { parseSetArgument } from '../core/sim/operator.ts';
import { shareBanner, startBrowserServer } from './serve.ts';
import { backupCommand, repairCommand, verifyCommand } from './store-commands.ts';
import { drillCommand } from './drill-commands.ts';
import { parseShareAddress, sessionCommand } from './session-commands.ts';
import { experimentCommand, experimentUsage } from './experiment-commands.ts';

const usage = `AURA Lab ${appVersion}: a local-first simulation lab for event-sourced multi-agent systems

Usage:
  aura-lab run <scenario> [--seed N] [--out DIR] [--speed X|max] [--json]
      Run a scenario headless; writes DIR (the event log and a manifest) and prints a summary.
  aura-lab serve [--port P] [--share [--share-port P] [--share-host ADDR] [--share-url-host HOST]]
      Browser mode: serve the UI and the engine API on 127.0.0.1 (port 4770 by default, or
      any free port when it is taken; 0 for any) and print the URL with this launch's secret.
      --share also accepts peers into the lab's session (on --share-port, or a free port) and
      prints a read-write invite. --share-host: the address peers connect to (127.0.0.1 by
      default; 0.0.0.0 for every interface; no TLS: warns); --share-url-host: the host written
      in invites (default: the address, or this machine's first LAN IPv4 for 0.0.0.0).
  aura-lab validate <scenario>
      Check a scenario file and list every problem (file:line:column: field: message).
  aura-lab verify <run> [--json]
      Check a run's event log: the database, every event's hash chain link, positions and
      stream versions. Exit 0 intact, 1 damaged (names the first bad position) or not whole
      (events an earlier repair declared lost, and nothing else wrong: "lost:"), 2 unusable.
  aura-lab backup <run> [--json]
      Online backup of a run's event log into <run>/backups (the newest 3 are kept).
  aura-lab repair <run> [--json] [--force]
      Repair a damaged log from its newest good backup plus every later event that still
      verifies; the damaged file is kept, and every lost position is named. A log whose only
      findings are losses an earlier repair declared is left alone (--force: rebuild it anyway).
  aura-lab restore <run> [--from BACKUP] [--json]
      Put a backup back in place (the newest good one by default), then replay every later
      event of the current log that verifies.
  aura-lab replay <run> [--json]
      Re-execute a run from its manifest and compare it with its log, event by event and at
      every checkpoint. Exit 0 identical, 1 diverged (names the first position), 2 unusable.
  aura-lab fork <run> --at P [--set key=value ...] [--out DIR] [--speed X|max] [--json]
      A what-if run: shares the first P events of <run> (a directory or a run id), then
      differs by each change, e.g. --set workload.orders.rate.perSecond=200.
  aura-lab diff <runA> <runB> [--json]
      Where two runs' logs first diverge, and their metrics side by side. Exit 0 identical,
      1 different, 2 unusable input.
  aura-lab export <run> [--out FILE] [--json]
      The run as one file (<run>.aura-run): its log, telemetry, manifest and report.
  aura-lab import <file> [--out DIR] [--json]
      A run file back as a run directory (under AURA_LAB_HOME/runs by default), its hash chain
      verified first. Exit 1 if it does not verify (nothing is kept).
  aura-lab sweep <experiment> [--out DIR] [--threads N] [--json]
      Play an experiment's debates (a base debate, a parameter grid, replicates) on worker
      threads, record them, and write results.csv and results.json (mean, std, 95% CI per
      cell). Stopped (Ctrl-C, exit 130), the same command resumes where it stopped.
${experimentUsage}
  aura-lab drill <name> [--seed N] [--out DIR] [--json]
      Run a disaster-recovery drill from scenarios/drills for real (complete-failure,
      database-corruption, network-partition, performance-degradation): print its scorecard
      and write the debrief (Markdown and HTML). Exit 0 only if every lab target is met.
  aura-lab drill --list [--json]
      The drills and what each does.
  aura-lab session share [--port P] [--host ADDR] [--url-host HOST] [--title T]
      Share this lab's session (an Automerge document) with peers until Ctrl-C; prints a
      read-write invite. --host and --url-host as serve's --share-host and --share-url-host.
  aura-lab session invite [--read-only] [--expires DURATION] [--json]
      Another invite while the session is shared (read-only peers receive, never write);
      --expires 24h (or 30m, 1h30m; at most 8760h): refused after that, like a wrong token.
  aura-lab session join <invite> [--json] [--timeout MS]
      Join a shared session, wait until synced, print its title and counts.
  aura-lab session annotate <runId> <position> <text> [--author NAME] [--json]
      Annotate a position of a run in the session.
  aura-lab session add-scenario <file> [--name N] [--json]
      Put a scenario file in the session's library (validated first; name: the file's base name).
  aura-lab session add-plan <file> [--name N] [--author NAME] [--json]
      Put a chaos experiment file (e.g. scenarios/chaos/load-spike.yaml) in the session's chaos plans.
  aura-lab session note <drillId> <text> [--author NAME] [--json]
      Add a note on a drill (e.g. network-partition) to the session. Exit 2 on a bad file or note.
  aura-lab schema
      Print the scenario format as JSON Schema, for editors.
  aura-lab help | --help
  aura-lab version | --version

Environment:
  AURA_LAB_HOME   where runs are kept (default ~/.aura-lab)

Exit codes: 0 success, 1 failure, 2 bad input.`;

function parseSeed(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new CliError(`--seed: expected a non-negative integer, got ${JSON.stringify(value)}`, 2);
  return Number(value);
}

function parseSpeed(value: string | undefined): number | 'max' {
  if (value === undefined || value === 'max') return 'max';
  const speed = Number(value);
  if (!Number.isFinite(speed) || speed < 0.01 || speed > 10_000) throw new CliError(`--speed: expected max or a factor between 0.01 and 10000, got ${JSON.stringify(value)}`, 2);
  return speed;
}

/** The default browser-mode port; when it is taken, another free one is used. */
const defaultPort = 4770;

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port: expected a port number 0-65535, got ${JSON.stringify(value)}`, 2);
  return port;
}

function one(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) throw new CliError(`${command}: expected one ${what}; see aura-lab --help`, 2);
  return positionals[0];
}

async function serveCommand(port: number | undefined, share?: { readonly port?: number; readonly host?: string; readonly inviteHost?: string }): Promise<number> {
  const rendererDir = join(packageRoot(), 'out', 'renderer');
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new CliError(`the UI is not built (${rendererDir} is missing): run npm run build`, 1);
  }
  warnIfStale(rendererDir);
  const supervisor = new EngineSupervisor({
    dataDir: dataDir(),
    scenariosDir: scenariosDir(),
    ...(share === undefined ? {} : { share }),
    log: (line) => process.stderr.write(`aura-lab: ${line}\n`),
  });
  await supervisor.start();
  let server;
  try {
    server = await startBrowserServer({ port: port ?? defaultPort, rendererDir, supervisor });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (port !== undefined) {
      await supervisor.stop();
      throw new CliError(`--port ${port}: the port is already in use`, 1);
    }
    server = await startBrowserServer({ port: 0, rendererDir, supervisor });
  }
  process.stdout.write(`AURA Lab is running in browser mode. Open this URL (it carries this session's secret):\n${server.url}\n`);
  if (share !== undefined) process.stdout.write(await shareBanner(supervisor));
  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await supervisor.stop();
  return 0;
}

/** Source files newer than the build mean the UI shown is not the code in the tree. */
function warnIfStale(rendererDir: string): void {
  const builtMs = statSync(join(rendererDir, 'index.html')).mtimeMs;
  if (newestSourceMs() > builtMs) {
    process.stderr.write('aura-lab: warning: the UI build is older than the sources; run npm run build to see current changes\n');
  }
}

function validateCommand(file: string): number {
  try {
    const { scenario } = readScenarioFile(resolve(file));
    process.stdout.write(`${file}: valid scenario ${scenario.name} (${scenario.workload.length} generator${scenario.workload.length === 1 ? '' : 's'})\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    const lines = error.issues.length > 0 ? error.issues.map(formatIssue) : [error.message];
    process.stderr.write(`${lines.join('\n')}\n`);
    return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    case 'version':
    case '--version':
      process.stdout.write(`${appVersion}\n`);
      return 0;
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false }, speed: { type: 'string' } },
      });
      const seed = parseSeed(values.seed);
      return runCommand({
        scenario: one(positionals, 'scenario file', 'run'),
        json: values.json,
        speed: parseSpeed(values.speed),
        ...(seed === undefined ? {} : { seed }),
        ...(values.out === undefined ? {} : { out: values.out }),
      });
    }
    case 'serve': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { port: { type: 'string' }, share: { type: 'boolean', default: false }, 'share-port': { type: 'string' }, 'share-host': { type: 'string' }, 'share-url-host': { type: 'string' } },
      });
      if (positionals.length > 0) throw new CliError(`serve: unexpected argument ${positionals[0]}`, 2);
      for (const flag of ['share-port', 'share-host', 'share-url-host'] as const) if (values[flag] !== undefined && !values.share) throw new CliError(`serve: --${flag} needs --share`, 2);
      const sharePort = parsePort(values['share-port']);
      const shareAddress = parseShareAddress(values['share-host'], values['share-url-host'], { host: '--share-host', urlHost: '--share-url-host' });
      return serveCommand(parsePort(values.port), values.share ? { ...(sharePort === undefined ? {} : { port: sharePort }), ...shareAddress } : undefined);
    }
    case 'validate': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
      return validateCommand(one(positionals, 'scenario file', 'validate'));
    }
    case 'verify': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      return verifyCommand(one(positionals, 'run directory', 'verify'), values.json);
    }
    case 'backup': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      return backupCommand(one(positionals, 'run directory', 'backup'), values.json);
    }
    case 'repair': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } } });
      return repairCommand(one(positionals, 'run directory', 'repair'), { json: values.json, force: values.force });
    }
    case 'restore': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false }, from: { type: 'string' } } });
      return repairCommand(one(positionals, 'run directory', 'restore'), { json: values.json, force: true, ...(values.from === undefined ? {} : { backupFile: values.from }) });
    }
    case 'replay': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      return replayCommand(one(positionals, 'run directory', 'replay'), values.json);
    }
    case 'diff': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      if (positionals.length !== 2) throw new CliError('diff: expected two run directories; see aura-lab --help', 2);
      return diffCommand(positionals[0] as string, positionals[1] as string, values.json);
    }
    case 'fork': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { at: { type: 'string' }, set: { type: 'string', multiple: true, default: [] }, out: { type: 'string' }, json: { type: 'boolean', default: false }, speed: { type: 'string' } },
      });
      if (values.at === undefined || !/^[1-9]\d*$/.test(values.at)) throw new CliError(`fork: --at expects a position (a positive integer), got ${JSON.stringify(values.at ?? '')}`, 2);
      let set;
      try {
        set = values.set.map(parseSetArgument);
      } catch (error) {
        if (error instanceof AuraError) throw new CliError(error.message, 2);
        throw error;
      }
      return forkCommand({
        from: one(positionals, 'run', 'fork'),
        at: Number(values.at),
        set,
        json: values.json,
        speed: parseSpeed(values.speed),
        ...(values.out === undefined ? {} : { out: values.out }),
      });
    }
    case 'schema':
      // It takes nothing: an option or argument is refused like any other command's unknown one.
      parseArgs({ args: rest, allowPositionals: false, options: {} });
      return schemaCommand();
    case 'sweep': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean', default: false } } });
      const threads = values.threads === undefined ? undefined : Number(values.threads);
      if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) throw new CliError(`--threads: expected 1-64, got ${JSON.stringify(values.threads)}`, 2);
      return sweepCommand(one(positionals, 'experiment file', 'sweep'), values.out, threads, values.json);
    }
    case 'experiment':
      return experimentCommand(rest);
    case 'session':
      return sessionCommand(rest);
    case 'drill': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false }, list: { type: 'boolean', default: false } } });
      if (positionals.length > 1) throw new CliError(`drill: expected one drill name, got ${positionals.length}`, 2);
      const seed = parseSeed(values.seed);
      return drillCommand({ name: positionals[0], json: values.json, list: values.list, ...(seed === undefined ? {} : { seed }), ...(values.out === undefined ? {} : { out: values.out }) });
    }
    case 'export': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, json: { type: 'boolean', default: false } } });
      return exportCommand(one(positionals, 'run directory', 'export'), values.out, values.json);
    }
    case 'import': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, json: { type: 'boolean', default: false } } });
      return importCommand(one(positionals, 'run file', 'import'), values.out, values.json);
    }
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}; see aura-lab --help`, 2);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`aura-lab: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`aura-lab: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`aura-lab: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
