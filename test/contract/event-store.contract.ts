/**
 * One contract for every EventStore: the in-memory reference and the SQLite store run the same
 * tests. Each setup returns a fresh, empty store.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/core/events/event.ts';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion, type EventStore } from '../../src/core/ports/event-store.ts';

let counter = 0;
export function newEvent(type = 'Something', payload: NewEvent['payload'] = { n: 1 }): NewEvent {
  counter += 1;
  return { id: asEventId(`event-${counter}`), type, schemaVersion: 1, payload, metadata: { virtualTimeUs: counter } };
}

const a = asStreamName('order-1');
const b = asStreamName('order-2');

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof AuraError) return error.code;
    throw error;
  }
  return undefined;
}

export function eventStoreContract(name: string, setup: () => { store: EventStore; close: () => void }): void {
  describe(`EventStore contract: ${name}`, () => {
    const withStore = (test: (store: EventStore) => void) => () => {
      const { store, close } = setup();
      try {
        test(store);
      } finally {
        close();
      }
    };

    it(
      'assigns gap-free positions and per-stream versions across a batch',
      withStore((store) => {
        const results = store.appendBatch([
          { stream: a, events: [newEvent(), newEvent()], expected: { kind: 'no_stream' } },
          { stream: b, events: [newEvent()], expected: anyVersion },
          { stream: a, events: [newEvent()], expected: { kind: 'exact', version: 2 } },
        ]);
        expect(results).toEqual([
          { firstPosition: 1, lastPosition: 2, streamVersion: 2 },
          { firstPosition: 3, lastPosition: 3, streamVersion: 1 },
          { firstPosition: 4, lastPosition: 4, streamVersion: 3 },
        ]);
        expect(store.readAll(1, 100).map((event) => [event.position, event.stream, event.version])).toEqual([
          [1, a, 1],
          [2, a, 2],
          [3, b, 1],
          [4, a, 3],
        ]);
        expect(store.readStream(a, 2, 10).map((event) => event.version)).toEqual([2, 3]);
        expect(store.headPosition()).toBe(4);
        expect(store.count()).toBe(4);
      }),
    );

    it(
      'rejects a wrong expected version with a concurrency error and leaves the log unchanged',
      withStore((store) => {
        store.appendBatch([{ stream: a, events: [newEvent()], expected: anyVersion }]);
        expect(codeOf(() => store.appendBatch([{ stream: a, events: [newEvent()], expected: { kind: 'no_stream' } }]))).toBe('concurrency');
        expect(
          codeOf(() =>
            store.appendBatch([
              { stream: b, events: [newEvent()], expected: anyVersion },
              { stream: a, events: [newEvent()], expected: { kind: 'exact', version: 5 } },
            ]),
          ),
        ).toBe('concurrency');
        expect(store.count()).toBe(1);
        expect(store.readStream(b, 1, 10)).toEqual([]);
        // The store is still usable, and positions continue without a gap.
        expect(store.appendBatch([{ stream: b, events: [newEvent()], expected: { kind: 'no_stream' } }])[0]?.firstPosition).toBe(2);
      }),
    );

    it(
      'is idempotent on event ids, and refuses a reused id with other content',
      withStore((store) => {
        const events = [newEvent('X', { v: 1 }), newEvent('X', { v: 2 })];
        const first = store.appendBatch([{ stream: a, events, expected: anyVersion }]);
        const again = store.appendBatch([{ stream: a, events, expected: anyVersion }]);
        expect(again[0]?.firstPosition).toBe(first[0]?.firstPosition);
        expect(again[0]?.lastPosition).toBe(first[0]?.lastPosition);
        expect(store.count()).toBe(2);
        const changed = [{ ...events[0]!, payload: { v: 99 } }];
        expect(codeOf(() => store.appendBatch([{ stream: a, events: changed, expected: anyVersion }]))).toBe('conflict');
        expect(store.count()).toBe(2);
        expect(store.findById(events[1]!.id)?.position).toBe(2);
      }),
    );

    it(
      'reads back exactly what was appended, for any sequence of appends',
      withStore((store) => {
        fc.assert(
          fc.property(fc.array(fc.record({ stream: fc.constantFrom('s-1', 's-2', 's-3'), payload: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 30 }), (items) => {
            const before = store.headPosition();
            const appended = items.map((item) => ({ stream: asStreamName(item.stream), event: newEvent('Generated', JSON.parse(JSON.stringify(item.payload ?? null)) as NewEvent['payload']) }));
            if (appended.length > 0) store.appendBatch(appended.map((item) => ({ stream: item.stream, events: [item.event], expected: anyVersion })));
            const read = store.readAll(before + 1, 1_000);
            expect(read.map((event) => [event.stream, event.id, event.payload])).toEqual(appended.map((item) => [item.stream, item.event.id, item.event.payload]));
            expect(read.map((event) => event.position)).toEqual(appended.map((_, index) => before + index + 1));
          }),
          { numRuns: 30 },
        );
      }),
    );
  });
}
