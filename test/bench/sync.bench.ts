/**
 * `npm run bench -- sync`: shared-session figures, on real sockets on 127.0.0.1.
 *
 * - convergence after a heal: a session of 50 scenarios and 1,000 annotations, held by a host
 *   (SessionRepo + ShareServer) and a peer joined through a FaultProxy. Each trial partitions the
 *   link, edits on both sides (10 annotations and a scenario each), heals, and times until both
 *   repos have the same heads. Median of 5 (`--trials N`).
 * - session load: opening the host's SessionRepo of that size from disk and reading it. Median of 5.
 * - run transfer: a 1,000,000-event run (scenarios/million.yaml, made with the CLI) fetched by a
 *   peer over the share server's port (`fetchRunBundle`): the bundle bytes from request to a hashed
 *   file on disk, and, separately, the import (integrity check and every chain link). The export
 *   into the share cache is timed once, before. Baseline in the same run: a plain file copy of the
 *   same bundle. Median of 3 (`--transfers N`). `--no-transfer` skips it.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultProxy } from '../../src/node/fault-proxy.ts';
import { joinSession, type JoinedSession } from '../../src/node/session/join.ts';
import { bundleForRun, fetchRunBundle } from '../../src/node/session/run-transfer.ts';
import { addAnnotation, putScenario } from '../../src/node/session/session-doc.ts';
import { SessionRepo } from '../../src/node/session/session-repo.ts';
import { ShareServer } from '../../src/node/session/share-server.ts';
import { benchOptions, median, progress, report, round, target } from './harness.ts';

const options = benchOptions({ trials: 5, transfers: 3 }, ['no-transfer']);
const trials = options.trials;
const transfers = options.transfers;
const withTransfer = !options['no-transfer'];
const scenarioCount = 50;
const annotationCount = 1_000;
const retryIntervalMs = 200;
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'aura-bench-sync-'));
const hostDir = join(dir, 'host');
const peerDir = join(dir, 'peer');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sameHeads(a: SessionRepo, b: SessionRepo): boolean {
  const left = [...a.heads()].sort();
  const right = [...b.heads()].sort();
  return left.length === right.length && left.every((head, i) => head === right[i]);
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(2);
  }
}

function seed(session: SessionRepo): void {
  const scenarioText = readFileSync(join(root, 'scenarios', 'hello.yaml'), 'utf8');
  for (let i = 0; i < scenarioCount; i += 1) session.change((doc) => putScenario(doc, `scenario-${i}`, scenarioText.replace('name: hello', `name: scenario-${i}`)));
  for (let batch = 0; batch < annotationCount / 10; batch += 1) {
    session.change((doc) => {
      for (let i = batch * 10; i < batch * 10 + 10; i += 1) addAnnotation(doc, `note-${i}`, { runId: `run-${i % 20}`, position: 1 + i * 37, author: i % 2 === 0 ? 'trainer' : 'trainee', text: `annotation ${i}: the queue backs up here`, createdAtMs: 1_700_000_000_000 + i });
    });
  }
}

async function convergence(host: SessionRepo, peer: JoinedSession, proxy: FaultProxy): Promise<{ ms: number[]; annotations: number }> {
  const tick = progress(`${trials} partition/heal trials`);
  const ms: number[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    proxy.partition();
    for (const [side, session] of [
      ['host', host],
      ['peer', peer.session],
    ] as const) {
      for (let i = 0; i < 10; i += 1) session.change((doc) => addAnnotation(doc, `${side}-t${trial}-${i}`, { runId: 'run-1', position: 10_000 + trial * 100 + i, author: side, text: `${side} during partition ${trial}`, createdAtMs: 1_800_000_000_000 + i }));
      session.change((doc) => putScenario(doc, `scenario-${trial}`, `# edited by ${side} in trial ${trial}\nversion: 1\nname: scenario-${trial}\n`));
    }
    await sleep(100);
    if (sameHeads(host, peer.session)) throw new Error('the partition let changes through');
    const healed = performance.now();
    proxy.heal();
    await until(() => sameHeads(host, peer.session), 30_000, 'convergence after heal');
    ms.push(performance.now() - healed);
    tick(trial + 1, trials);
    await sleep(200);
  }
  return { ms, annotations: Object.keys(host.read().session.annotations).length };
}

async function sessionLoad(): Promise<{ ms: number[]; annotations: number; scenarios: number; historyChanges: number }> {
  const tick = progress(`${trials} session loads`);
  const ms: number[] = [];
  let annotations = 0;
  let scenarios = 0;
  let historyChanges = 0;
  for (let trial = 0; trial < trials; trial += 1) {
    const started = performance.now();
    const session = await SessionRepo.open({ dataDir: hostDir });
    const view = session.read();
    ms.push(performance.now() - started);
    annotations = Object.keys(view.session.annotations).length;
    scenarios = Object.keys(view.session.scenarios).length;
    historyChanges = session.history().length;
    await session.close();
    tick(trial + 1, trials);
  }
  return { ms, annotations, scenarios, historyChanges };
}

async function makeMillionRun(runDir: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    process.stderr.write('running scenarios/million.yaml at speed max (the CLI, in its own process)…\n');
    const child = spawn(process.execPath, [join(root, 'bin', 'aura-lab.mjs'), 'run', 'scenarios/million.yaml', '--speed', 'max', '--out', runDir, '--json'], { cwd: root, env: { ...process.env, AURA_LAB_HOME: join(dir, 'home') }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`aura-lab run exited ${code}`))));
  });
  return performance.now() - started;
}

interface TransferFigures {
  readonly bytes: number;
  readonly events: number;
  readonly runMs: number;
  readonly exportMs: number;
  readonly transferMs: number[];
  readonly importMs: number[];
  readonly copyMs: number[];
  readonly runLogBytes: number;
}

async function transfer(invite: string): Promise<TransferFigures> {
  const runDir = join(hostDir, 'runs', 'million');
  const runMs = await makeMillionRun(runDir);
  let started = performance.now();
  const bundle = await bundleForRun(hostDir, 'million');
  const exportMs = performance.now() - started;
  const transferMs: number[] = [];
  const importMs: number[] = [];
  const copyMs: number[] = [];
  let events = 0;
  const tick = progress(`${transfers} transfers of a ${(bundle.bytes / 1e6).toFixed(0)} MB bundle`);
  for (let trial = 0; trial < transfers; trial += 1) {
    const outDir = join(peerDir, 'runs', `million-${trial}`);
    const fetched = await fetchRunBundle({ invite, runId: 'million', outDir });
    if (fetched.bytes !== bundle.bytes || fetched.sha256 !== bundle.sha256) throw new Error('fetched a different bundle');
    transferMs.push(fetched.transferMs);
    importMs.push(fetched.importMs);
    events = fetched.events;
    rmSync(outDir, { recursive: true, force: true });
    // Baseline: the same bytes, copied from file to file.
    const copy = join(dir, `copy-${trial}.aura-run`);
    started = performance.now();
    copyFileSync(bundle.file, copy);
    copyMs.push(performance.now() - started);
    rmSync(copy, { force: true });
    tick(trial + 1, transfers);
  }
  return { bytes: bundle.bytes, events, runMs, exportMs, transferMs, importMs, copyMs, runLogBytes: statSync(join(runDir, 'events.sqlite')).size };
}

const mbPerSecond = (bytes: number, ms: number): number => round(bytes / 1e6 / (ms / 1000), 1);

async function main(): Promise<void> {
  let host: SessionRepo | undefined;
  let share: ShareServer | undefined;
  let proxy: FaultProxy | undefined;
  let peer: JoinedSession | undefined;
  try {
    host = await SessionRepo.open({ dataDir: hostDir, title: 'Sync benchmark' });
    seed(host);
    share = await ShareServer.start({ session: host, dataDir: hostDir, limits: { maxMessagesPerSecond: 10_000 } });
    const invite = share.createInvite('read-write');
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: share.port }, seed: 8, name: 'peer-host' });
    const started = performance.now();
    peer = await joinSession({ dataDir: peerDir, invite: invite.replace(/:(\d+)\/join/, `:${proxy.port}/join`), retryIntervalMs });
    const joinSessionRef = peer.session;
    const hostRef = host;
    await until(() => sameHeads(hostRef, joinSessionRef), 30_000, 'initial sync');
    const initialSyncMs = performance.now() - started;
    process.stderr.write(`initial sync of ${scenarioCount} scenarios and ${annotationCount} annotations: ${initialSyncMs.toFixed(0)} ms\n`);
    const converged = await convergence(host, peer, proxy);
    const moved = withTransfer ? await transfer(invite) : undefined;
    await peer.close();
    peer = undefined;
    await proxy.close();
    proxy = undefined;
    await share.close();
    share = undefined;
    await host.close();
    host = undefined;
    const load = await sessionLoad();

    const convergenceMs = round(median(converged.ms), 1);
    const loadMs = round(median(load.ms), 1);
    const transferResults =
      moved === undefined
        ? undefined
        : {
            bundleBytes: moved.bytes,
            events: moved.events,
            runLogBytes: moved.runLogBytes,
            runMs: round(moved.runMs),
            exportMs: round(moved.exportMs),
            transferMs: moved.transferMs.map((ms) => round(ms, 1)),
            medianTransferMs: round(median(moved.transferMs), 1),
            transferMBps: mbPerSecond(moved.bytes, median(moved.transferMs)),
            importMs: moved.importMs.map((ms) => round(ms)),
            medianImportMs: round(median(moved.importMs)),
            importEventsPerSecond: round(moved.events / (median(moved.importMs) / 1000)),
            baselineCopyMs: round(median(moved.copyMs), 1),
            baselineCopyMBps: mbPerSecond(moved.bytes, median(moved.copyMs)),
          };
    report(
      'sync',
      {
        parameters: { trials, transfers, scenarios: scenarioCount, annotations: annotationCount, retryIntervalMs, editsPerSidePerPartition: 11, mb: '10^6 bytes' },
        results: {
          initialSyncMs: round(initialSyncMs),
          convergenceAfterHeal: { ms: converged.ms.map((ms) => round(ms, 1)), medianMs: convergenceMs, annotationsAtEnd: converged.annotations },
          sessionLoad: { ms: load.ms.map((ms) => round(ms, 1)), medianMs: loadMs, annotations: load.annotations, scenarios: load.scenarios, historyChanges: load.historyChanges },
          ...(transferResults === undefined ? {} : { runTransfer: transferResults }),
        },
      },
      [
        target('convergence after heal (50 scenarios, 1,000 annotations), median', convergenceMs, '<=', 1_000, 'ms'),
        target('session load from disk, median', loadMs, '<=', 200, 'ms'),
        ...(transferResults === undefined ? [] : [target('1,000,000-event run bundle transfer on loopback, median', transferResults.transferMBps, '>=', 50, 'MB/s')]),
      ],
    );
  } finally {
    await peer?.close().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await share?.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
