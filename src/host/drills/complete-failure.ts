/**
 * Drill: complete system failure. A real engine host runs a scenario at full speed; at a seeded
 * moment it is killed with SIGKILL. The engine supervisor notices and starts a new host (in
 * trainer mode it waits for the trainee's restart); the drill measures the time until the new
 * engine answers and serves the interrupted run's log, probes availability every 50 ms, and
 * checks that every head the engine acknowledged to its clients (run.progress) is in the log
 * with the same hash, the chain is intact and the projections equal a replay.
 */
import { join } from 'node:path';
import { checkAvailability, type AvailabilityWindow } from '../../core/chaos/checkers.ts';
import { createRandom } from '../../core/kernel/random.ts';
import { LatencyHistogram } from '../../core/kernel/histogram.ts';
import { checkRunLog } from '../../node/chaos-checks.ts';
import { killProcess } from '../../node/process-faults.ts';
import { runFiles } from '../../node/run-files.ts';
import type { ServerMessage } from '../../shared/api.ts';
import { ApiClient } from '../../shared/client.ts';
import { EngineSupervisor } from '../engine-supervisor.ts';
import { awaitTrainee, numberParam, sleep, stringParam, type DrillContext, type DrillOutcome } from './context.ts';

export async function completeFailure(context: DrillContext): Promise<DrillOutcome> {
  const scenario = stringParam(context, 'scenario', 'stress.yaml');
  const killAfterMin = numberParam(context, 'killAfterMinMs', 800, 50, 60_000);
  const killAfterMax = numberParam(context, 'killAfterMaxMs', 1_600, killAfterMin, 60_000);
  const observeAfterMs = numberParam(context, 'observeAfterMs', 1_000, 0, 60_000);
  const killAfterMs = createRandom(context.seed).split('complete-failure').int(killAfterMin, killAfterMax);
  const trainer = context.mode === 'trainer';
  const supervisor = new EngineSupervisor({ dataDir: join(context.dir, 'engine'), scenariosDir: context.scenariosDir, restart: !trainer });
  const client = new ApiClient((message) => link.send(message));
  let runId = '';
  const acknowledged: { position: number; hash: string }[] = [];
  let restartingAt: number | undefined;
  let noticed: (() => void) | undefined;
  const engineDown = new Promise<void>((resolve) => (noticed = resolve));
  const link = supervisor.connect((message: ServerMessage) => {
    client.handle(message);
    if (message.type !== 'push') return;
    if (message.topic === 'run.progress' && message.data.runId === runId && message.data.headPosition > 0) acknowledged.push({ position: message.data.headPosition, hash: message.data.headHash });
    if (message.topic === 'engine.status' && (message.data.state === 'restarting' || message.data.state === 'stopped') && restartingAt === undefined && killedAt !== undefined) {
      restartingAt = context.now();
      noticed?.();
      context.record(trainer ? 'symptom' : 'detected', `engine ${message.data.state}: ${message.data.reason ?? ''}`.trim());
    }
  });
  let killedAt: number | undefined;
  const windows: AvailabilityWindow[] = [];
  const probeLatency = new LatencyHistogram();
  let probing = true;
  let probeLoop: Promise<void> = Promise.resolve();
  const probe = async (): Promise<void> => {
    while (probing) {
      const started = context.now();
      const up = await client.request('engine.info', {}, 250).then(
        () => true,
        () => false,
      );
      const ended = context.now();
      if (up) probeLatency.record(ended - started);
      windows.push({ startMs: started, endMs: Math.max(ended, started + 50), up });
      await sleep(Math.max(0, 50 - (ended - started)));
    }
  };
  try {
    context.progress('starting the engine', 0);
    await supervisor.start();
    const started = await client.request('run.start', { scenario, seed: context.seed, speed: 'max' });
    runId = started.runId;
    const loadStartedAt = context.now();
    probeLoop = probe();
    context.record('note', `load: ${scenario} at full speed (run ${runId})`);
    context.progress('load', 0.2);
    await sleep(killAfterMs);
    const pid = supervisor.pid;
    if (pid === null) throw new Error('the engine host is not running');
    killedAt = context.now();
    killProcess(pid);
    context.record('fault', `kill -9 the engine host (pid ${pid}) after ${killAfterMs} ms of load`, trainer);
    context.progress('killed: waiting for recovery', 0.5);
    // The supervisor notices the death (the child's exit) before anything can be said about recovery.
    await engineDown;
    let actionAt: number | undefined;
    if (trainer) {
      const { atMs } = await awaitTrainee(context, ['restart-engine']);
      actionAt = atMs;
      await supervisor.start();
    } else {
      await supervisor.whenReady();
    }
    // Serving: the new engine answers, and reads the interrupted run's log.
    await client.request('engine.info', {}, 5_000);
    await client.request('events.read', { runId, fromPosition: 1, limit: 10 }, 5_000);
    const servingAt = context.now();
    context.record('recovered', 'engine back: answering and serving the interrupted run');
    context.progress('observing', 0.7);
    await sleep(observeAfterMs);
    probing = false;
    await probeLoop;
    const detectedAt = trainer ? (actionAt ?? servingAt) : (restartingAt ?? servingAt);
    const throughput = acknowledged.length === 0 ? 0 : (acknowledged.at(-1)?.position ?? 0) / Math.max(0.001, (killedAt - loadStartedAt) / 1_000);
    context.progress('checking', 0.85);
    const availability = checkAvailability(windows, 0);
    const { report } = await checkRunLog(runFiles.eventLog(started.outDir), { acknowledged, projections: true, extra: [availability] });
    context.record('check', report.ok ? 'checkers: no anomaly' : `checkers: ${report.anomalyTotal} anomalies`);
    const lost = (report.anomalies['lost-acknowledged']?.count ?? 0) + (report.anomalies['altered-acknowledged']?.count ?? 0) + (report.anomalies['unnamed-loss']?.count ?? 0);
    return {
      measurements: {
        recoveryMs: servingAt - killedAt,
        timeToDetectMs: detectedAt - killedAt,
        timeToRecoverMs: servingAt - detectedAt,
        lostAcknowledged: lost,
        unnamedLoss: report.anomalies['unnamed-loss']?.count ?? 0,
        anomalies: report.anomalyTotal,
        availability: availability.availability,
        p95Ms: probeLatency.percentileMs(0.95),
        throughputPerSecond: Math.round(throughput),
      },
      checks: report,
      details: { runId, killAfterMs, acknowledgements: acknowledged.length, acknowledgedHead: acknowledged.at(-1)?.position ?? 0, runDir: started.outDir },
    };
  } finally {
    probing = false;
    await probeLoop.catch(() => undefined);
    link.close();
    await supervisor.stop();
  }
}
