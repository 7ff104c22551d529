import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { RunKernel, type PlannedEvent } from '../../src/core/sim/kernel.ts';
import { validateScenario, type Scenario } from '../../src/core/sim/scenario.ts';
import { helloScenarioText, tinyScenarioText } from '../support/fixtures.ts';

const tiny = validateScenario(parse(tinyScenarioText()));
const hello = validateScenario(parse(helloScenarioText));

function runAll(scenario: Scenario, seed: number, chunk = 1_000, step = Number.POSITIVE_INFINITY): PlannedEvent[] {
  const kernel = new RunKernel(scenario, seed);
  const all: PlannedEvent[] = [];
  let untilUs = 0;
  while (kernel.status !== 'completed') {
    untilUs = step === Number.POSITIVE_INFINITY ? step : untilUs + step;
    let planned: PlannedEvent[];
    do {
      planned = kernel.advance(untilUs, chunk);
      all.push(...planned);
    } while (planned.length === chunk);
  }
  return all;
}

describe('run kernel', () => {
  it('is a pure function of scenario and seed, event ids included', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), (seed) => {
        expect(canonicalJson(runAll(tiny, seed))).toBe(canonicalJson(runAll(tiny, seed)));
      }),
      { numRuns: 25 },
    );
  });

  it('gives different logs for different seeds', () => {
    expect(canonicalJson(runAll(tiny, 1))).not.toBe(canonicalJson(runAll(tiny, 2)));
  });

  it('does not depend on how time is advanced or how events are chunked', () => {
    const reference = canonicalJson(runAll(tiny, 5));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1_000, max: 2_000_000 }), (chunk, step) => {
        expect(canonicalJson(runAll(tiny, 5, chunk, step))).toBe(reference);
      }),
      { numRuns: 40 },
    );
  });

  it('generates exactly rate x duration workload events, in virtual-time order, between lifecycle events', () => {
    const events = runAll(hello, 1);
    expect(events).toHaveLength(60 * 40 + 60 * 15 + 2);
    expect(events[0]?.event.type).toBe('RunStarted');
    expect(events.at(-1)?.event.type).toBe('RunCompleted');
    expect(events.at(-1)?.event.payload).toEqual({ workloadEvents: 3300 });
    for (let index = 1; index < events.length; index++) {
      expect(events[index]!.event.metadata.virtualTimeUs).toBeGreaterThanOrEqual(events[index - 1]!.event.metadata.virtualTimeUs);
    }
    const workload = events.slice(1, -1);
    expect(workload.every((item) => item.event.metadata.virtualTimeUs < 60_000_000)).toBe(true);
  });

  it('keeps generators independent: changing one does not change the other', () => {
    const changed = structuredClone(tiny);
    changed.workload[1]!.rate = { profile: 'constant', perSecond: 3 };
    const orders = (events: PlannedEvent[]) => canonicalJson(events.filter((item) => item.stream.startsWith('order-')).map((item) => [item.stream, item.event.type, item.event.payload, item.event.metadata]));
    expect(orders(runAll(changed, 11))).toBe(orders(runAll(tiny, 11)));
  });

  it('generates payloads within their declared shapes', () => {
    for (const { event } of runAll(tiny, 3).slice(1, -1)) {
      const payload = event.payload as Record<string, unknown>;
      if (event.type === 'OrderPlaced') {
        expect(payload.amount).toBeGreaterThanOrEqual(1);
        expect(payload.amount).toBeLessThanOrEqual(100);
        expect(payload.note).toMatch(/^[a-z]{4}$/);
      } else if (event.type === 'OrderShipped') {
        expect(['post', 'courier']).toContain(payload.carrier);
      } else {
        expect(event.type).toBe('PaymentCaptured');
        expect(Number.isInteger(payload.sequence)).toBe(true);
      }
    }
  });

  it('weights event types as declared (3:2 in hello.yaml)', () => {
    const orders = runAll(hello, 2).filter((item) => item.stream.startsWith('order-'));
    const placed = orders.filter((item) => item.event.type === 'OrderPlaced').length;
    expect(placed / orders.length).toBeGreaterThan(0.55);
    expect(placed / orders.length).toBeLessThan(0.65);
  });
});
