/**
 * Drill: performance degradation under extreme load. A 10x load spike arrives while the disk
 * is slow; the ingest gate keeps priority events flowing and answers the excess with typed
 * back-pressure (busy, retry after) instead of accepting and losing it. In trainer mode the
 * gate takes everything (no back-pressure) until the trainee sheds load.
 */
import { awaitTrainee, numberParam, type DrillContext, type DrillOutcome } from './context.ts';
import { runDegradationTrial } from '../../node/degradation-trial.ts';

export async function performanceDegradation(context: DrillContext): Promise<DrillOutcome> {
  const trainer = context.mode === 'trainer';
  const spikeFactor = numberParam(context, 'spikeFactor', 10, 1, 100);
  const baseRatePerSecond = numberParam(context, 'baseRatePerSecond', 1_500, 10, 50_000);
  const spikeMs = numberParam(context, 'spikeMs', 3_000, 100, 600_000);
  const latencyMs = numberParam(context, 'slowDiskLatencyMs', 4, 0, 1_000);
  const perEventMs = numberParam(context, 'slowDiskPerEventMs', 0.1, 0, 100);
  const warmupMs = 1_000;
  context.record('note', `base load ${baseRatePerSecond} events/s, 5% priority`);
  const faultTimer = setTimeout(() => {
    context.record('fault', `load spike x${spikeFactor} with a slow disk (${latencyMs} ms + ${perEventMs} ms per event at each commit)`, trainer);
    if (trainer) context.record('symptom', 'commit latency climbs; the queue grows');
  }, warmupMs);
  try {
    const result = await runDegradationTrial({
      dir: context.dir,
      seed: context.seed,
      baseRatePerSecond,
      spikeFactor,
      spikeMs,
      warmupMs,
      slowDisk: { latencyMs, perEventMs },
      backpressure: !trainer,
      ...(trainer ? { shedWhen: awaitTrainee(context, ['shed-load']) } : {}),
      onProgress: (stage, fraction) => context.progress(stage, fraction * 0.9),
    });
    context.record('recovered', `load back to base; ${result.refused.toLocaleString('en-US')} appends refused with busy, ${result.silentlyLost} lost silently`);
    context.record('check', result.checks.ok ? 'checkers: no anomaly' : `checkers: ${result.checks.anomalyTotal} anomalies`);
    const lost = (result.checks.anomalies['lost-acknowledged']?.count ?? 0) + (result.checks.anomalies['unnamed-loss']?.count ?? 0);
    return {
      measurements: {
        p95Ms: result.priority.p95Ms,
        lostAcknowledged: lost,
        unnamedLoss: result.silentlyLost,
        anomalies: result.checks.anomalyTotal,
        throughputPerSecond: result.throughputPerSecond,
        availability: result.offered === 0 ? 1 : result.priority.acknowledged / Math.max(1, result.priority.offered),
      },
      checks: result.checks,
      details: { offered: result.offered, acknowledged: result.acknowledged, refusedWithBackpressure: result.refused, priority: result.priority, normal: result.normal, failed: result.failed },
    };
  } finally {
    clearTimeout(faultTimer);
  }
}
