import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonValue } from '../../src/core/kernel/canonical.ts';
import { eventsPerSecondByType } from '../../src/core/projections/events-per-second.ts';
import { foldEvents } from '../../src/core/projections/projection.ts';
import { findProjection, projectionNames } from '../../src/core/projections/registry.ts';
import { RunKernel } from '../../src/core/sim/kernel.ts';
import { validateScenario } from '../../src/core/sim/scenario.ts';
import { anyVersion } from '../../src/core/ports/event-store.ts';
import { MemoryEventStore } from '../../src/core/testing/memory-event-store.ts';
import { helloScenarioText } from '../support/fixtures.ts';

function helloLog(seed: number) {
  const store = new MemoryEventStore();
  const kernel = new RunKernel(validateScenario(parse(helloScenarioText)), seed);
  while (kernel.status !== 'completed') {
    const planned = kernel.advance(Number.POSITIVE_INFINITY, 500);
    store.appendBatch(planned.map((item) => ({ stream: item.stream, events: [item.event], expected: anyVersion })));
  }
  return store.readAll(1, Number.MAX_SAFE_INTEGER);
}

describe('events-per-second-by-type projection', () => {
  const events = helloLog(1);

  it('counts every workload event once, in the second it happened, and ignores lifecycle events', () => {
    const state = foldEvents(eventsPerSecondByType, eventsPerSecondByType.initial(), events);
    expect(state.total).toBe(3300);
    expect(state.types).toEqual(['OrderPlaced', 'OrderShipped', 'PaymentCaptured']);
    expect(Object.keys(state.seconds)).toHaveLength(60);
    for (const bucket of Object.values(state.seconds)) {
      expect((bucket.OrderPlaced ?? 0) + (bucket.OrderShipped ?? 0)).toBe(40);
      expect(bucket.PaymentCaptured).toBe(15);
    }
  });

  it('gives the same state folded in any batches, through JSON, as in one pass (what workers do)', () => {
    const whole = canonicalJson(foldEvents(eventsPerSecondByType, eventsPerSecondByType.initial(), events));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        let stateJson = canonicalJson(eventsPerSecondByType.initial());
        let offset = 0;
        let turn = 0;
        while (offset < events.length) {
          const size = sizes[turn % sizes.length]!;
          const state = foldEvents(eventsPerSecondByType, JSON.parse(stateJson) as ReturnType<typeof eventsPerSecondByType.initial>, events.slice(offset, offset + size));
          stateJson = canonicalJson(state);
          offset += size;
          turn += 1;
        }
        expect(stateJson).toBe(whole);
      }),
      { numRuns: 30 },
    );
  });

  it('is registered under its name', () => {
    expect(projectionNames).toContain('events-per-second-by-type');
    const definition = findProjection('events-per-second-by-type');
    expect(definition?.apply(definition.initial(), events[1]!) as JsonValue).toMatchObject({ total: 1 });
    expect(findProjection('no-such-projection')).toBeUndefined();
  });
});
