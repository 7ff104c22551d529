import type { JsonValue } from '../kernel/canonical.ts';
import type { ProjectionDefinition } from './projection.ts';

/** A request is good when it succeeded within this latency (the seed's p95 target is 100 ms). */
export const sloLatencyMs = 100;
/** The availability objective: good requests / all requests. */
export const sloObjective = 0.999;

/**
 * Service levels, from every event whose payload reports a request (`latencyMs`, optionally
 * `ok`): good and total per virtual second, and overall with the error budget left. An event
 * whose latencyMs is not a number is a poison event: the projection refuses it.
 */
export interface SloStatus {
  [key: string]: JsonValue;
  total: number;
  good: number;
  seconds: Record<string, { total: number; good: number }>;
  latencyMs: number;
  objective: number;
}

export const sloStatus: ProjectionDefinition<SloStatus> = {
  name: 'slo-status',
  version: 1,
  description: `Availability: requests that succeeded within ${sloLatencyMs} ms, against ${sloObjective * 100}%`,
  initial: () => ({ total: 0, good: 0, seconds: {}, latencyMs: sloLatencyMs, objective: sloObjective }),
  // apply returns the state untouched unless the payload has latencyMs: most events' payloads need not be parsed.
  payloadKey: 'latencyMs',
  apply: (state, event) => {
    const payload = event.payload as Record<string, unknown> | null;
    if (payload === null || typeof payload !== 'object' || !('latencyMs' in payload)) return state;
    const latency = payload.latencyMs;
    if (typeof latency !== 'number' || !Number.isFinite(latency)) {
      throw new TypeError(`${event.type} at position ${event.position}: latencyMs is ${JSON.stringify(latency)}, expected a number`);
    }
    const good = payload.ok !== false && latency <= sloLatencyMs;
    const second = String(Math.floor(event.metadata.virtualTimeUs / 1_000_000));
    const bucket = (state.seconds[second] ??= { total: 0, good: 0 });
    bucket.total += 1;
    state.total += 1;
    if (good) {
      bucket.good += 1;
      state.good += 1;
    }
    return state;
  },
  merge: (before, after) => {
    for (const [second, counts] of Object.entries(after.seconds)) {
      const bucket = (before.seconds[second] ??= { total: 0, good: 0 });
      bucket.total += counts.total;
      bucket.good += counts.good;
    }
    before.total += after.total;
    before.good += after.good;
    return before;
  },
};
