/**
 * Performance degradation under extreme load, for real: a load generator offers appends on a
 * wall-clock schedule (a base rate, then a spike of `spikeFactor` times it) through the ingest
 * gate to a real log while the disk is made slow. Latency is measured from each append's
 * scheduled moment to its commit (no coordinated omission: a stalled writer delays the
 * schedule's clock, not the measurement). Every offer ends acknowledged or refused with a typed
 * busy error; the check then finds every acknowledged append in the log.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Acknowledged, CheckReport } from '../core/chaos/checkers.ts';
import { LatencyHistogram } from '../core/kernel/histogram.ts';
import { asEventId, asStreamName } from '../core/kernel/ids.ts';
import { createRandom } from '../core/kernel/random.ts';
import { anyVersion } from '../core/ports/event-store.ts';
import { checkRunLog } from './chaos-checks.ts';
import { IngestGate, type SlowDisk } from './ingest-gate.ts';
import { SqliteEventStore } from './sqlite-event-store.ts';

export interface DegradationOptions {
  readonly dir: string;
  readonly seed: number;
  readonly baseRatePerSecond?: number;
  readonly spikeFactor?: number;
  readonly warmupMs?: number;
  readonly spikeMs?: number;
  readonly cooldownMs?: number;
  /** Share of appends that are priority events (0..1). */
  readonly priorityShare?: number;
  readonly slowDisk?: SlowDisk;
  /** In trainer mode the gate sheds nothing by itself until `shedLoad` is called: false gives a gate as large as the whole spike. */
  readonly backpressure?: boolean;
  /** With backpressure off: when this resolves (a trainee sheds load), the gate's normal limits apply. */
  readonly shedWhen?: Promise<unknown>;
  readonly onProgress?: (stage: string, fraction: number) => void;
}

export interface DegradationResult {
  readonly offered: number;
  readonly acknowledged: number;
  readonly refused: number;
  /** Offers that ended neither acknowledged nor refused (must be 0). */
  readonly silentlyLost: number;
  /** Appends the store refused with an error other than back-pressure, by message. */
  readonly failed: Readonly<Record<string, number>>;
  readonly priority: { readonly offered: number; readonly acknowledged: number; readonly p50Ms: number; readonly p95Ms: number; readonly p99Ms: number };
  readonly normal: { readonly offered: number; readonly acknowledged: number; readonly p95Ms: number };
  readonly throughputPerSecond: number;
  readonly wallMs: number;
  readonly checks: CheckReport;
}

export async function runDegradationTrial(options: DegradationOptions): Promise<DegradationResult> {
  const dir = join(options.dir, `degradation-${options.seed}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'events.sqlite');
  const store = new SqliteEventStore(path, { backgroundCheckpoints: true });
  const base = options.baseRatePerSecond ?? 1_500;
  const factor = options.spikeFactor ?? 10;
  const warmupMs = options.warmupMs ?? 1_000;
  const spikeMs = options.spikeMs ?? 3_000;
  const cooldownMs = options.cooldownMs ?? 1_000;
  const totalMs = warmupMs + spikeMs + cooldownMs;
  const share = options.priorityShare ?? 0.05;
  const slow = options.slowDisk ?? { latencyMs: 4, perEventMs: 0.1 };
  const limits = { capacity: 5_000, priorityReserve: 1_000, maxBatch: 100 };
  const gate = new IngestGate(store, options.backpressure === false ? { ...limits, capacity: 1_000_000 } : limits);
  options.shedWhen?.then(
    () => gate.setLimits(limits),
    () => undefined,
  );
  const random = createRandom(options.seed).split('degradation');
  const priorityLatency = new LatencyHistogram();
  const normalLatency = new LatencyHistogram();
  const acknowledged: Acknowledged[] = [];
  const counts = { offered: 0, acked: 0, refused: 0, priorityOffered: 0, priorityAcked: 0, normalOffered: 0, normalAcked: 0 };
  const pending = new Set<Promise<void>>();
  /** Appends the store refused (not back-pressure): the message and how many. */
  const failures = new Map<string, number>();

  const rateAt = (ms: number): number => (ms >= warmupMs && ms < warmupMs + spikeMs ? base * factor : base);
  const started = performance.now();
  let scheduledUpTo = 0;
  let sequence = 0;
  let spikeOn = false;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now() - started;
      if (!spikeOn && now >= warmupMs) {
        spikeOn = true;
        gate.setSlowDisk(slow);
      }
      if (spikeOn && now >= warmupMs + spikeMs) {
        spikeOn = false;
        gate.setSlowDisk(undefined);
      }
      // Every append due by now, each with its own scheduled moment.
      const until = Math.min(now, totalMs);
      while (scheduledUpTo < until) {
        const rate = rateAt(scheduledUpTo);
        const at = scheduledUpTo;
        scheduledUpTo += 1_000 / rate;
        const priority = random.nextFloat() < share;
        const index = sequence++;
        counts.offered += 1;
        if (priority) counts.priorityOffered += 1;
        else counts.normalOffered += 1;
        const promise = gate
          .offer(
            {
              stream: asStreamName(priority ? `alert-${index % 8}` : `reading-${index % 64}`),
              events: [{ id: asEventId(index.toString(16).padStart(32, '0')), type: priority ? 'AlertRaised' : 'ReadingTaken', schemaVersion: 1, payload: { index, value: random.int(0, 1_000) }, metadata: { virtualTimeUs: Math.round(at * 1_000) } }],
              expected: anyVersion,
            },
            priority,
          )
          .then(
            (result) => {
              const latency = performance.now() - started - at;
              (priority ? priorityLatency : normalLatency).record(latency);
              acknowledged.push({ position: result.lastPosition });
              counts.acked += 1;
              if (priority) counts.priorityAcked += 1;
              else counts.normalAcked += 1;
            },
            (error: unknown) => {
              if ((error as { code?: string }).code === 'limit') counts.refused += 1;
              else failures.set((error as Error).message, (failures.get((error as Error).message) ?? 0) + 1);
            },
          )
          .finally(() => pending.delete(promise));
        pending.add(promise);
      }
      options.onProgress?.('load', Math.min(1, now / totalMs));
      if (now >= totalMs) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all([...pending]);
  await gate.drain();
  const wallMs = performance.now() - started;
  store.closeFinished();
  const { report } = await checkRunLog(path, { acknowledged, projections: false });
  const priority = priorityLatency.summary();
  return {
    offered: counts.offered,
    acknowledged: counts.acked,
    refused: counts.refused,
    silentlyLost: counts.offered - counts.acked - counts.refused - [...failures.values()].reduce((sum, count) => sum + count, 0),
    failed: Object.fromEntries(failures),
    priority: { offered: counts.priorityOffered, acknowledged: counts.priorityAcked, p50Ms: priorityLatency.percentileMs(0.5), p95Ms: priorityLatency.percentileMs(0.95), p99Ms: priorityLatency.percentileMs(0.99) },
    normal: { offered: counts.normalOffered, acknowledged: counts.normalAcked, p95Ms: normalLatency.percentileMs(0.95) },
    throughputPerSecond: Math.round(counts.acked / (wallMs / 1_000)),
    wallMs,
    checks: report,
  };
  void priority;
}
