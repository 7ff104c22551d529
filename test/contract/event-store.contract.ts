/**
 * One contract for every EventStore: the in-memory reference and the SQLite store run the same
 * tests. Each setup returns a fresh, empty store (optionally with upcasters).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../src/core/events/event.ts';
import { subscribe } from '../../src/core/events/subscription.ts';
import { UpcasterRegistry } from '../../src/core/events/upcasting.ts';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { asEventId, asStreamName, type StreamName } from '../../src/core/kernel/ids.ts';
import { anyVersion, type EventStore, type ExpectedVersion } from '../../src/core/ports/event-store.ts';

let counter = 0;
/** A new event with a fresh id (a 32-hex-digit counter, so ids never collide within a process). */
export function newEvent(type = 'Something', payload: NewEvent['payload'] = { n: 1 }, metadata: Partial<NewEvent['metadata']> = {}): NewEvent {
  counter += 1;
  return { id: asEventId(counter.toString(16).padStart(32, '0')), type, schemaVersion: 1, payload, metadata: { virtualTimeUs: counter, ...metadata } };
}

const a = asStreamName('order-1');
const b = asStreamName('order-2');
const c = asStreamName('payment-1');

/** The error code of an action that may throw or reject (stores may complete appends either way). */
async function codeOf(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    if (error instanceof AuraError) return error.code;
    throw error;
  }
  return undefined;
}

async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuraError) return error.code;
    throw error;
  }
  return undefined;
}

/** What a log looks like, for comparing stores with each other and with a model. */
const shape = (events: readonly RecordedEvent[]) => events.map((event) => [event.position, event.stream, event.version, event.id, event.type, event.payload]);

export type StoreSetup = (options?: { upcasters?: UpcasterRegistry }) => { store: EventStore; close: () => void };

export function eventStoreContract(name: string, setup: StoreSetup): void {
  describe(`EventStore contract: ${name}`, () => {
    const withStore =
      (test: (store: EventStore) => void | Promise<void>, options?: { upcasters?: UpcasterRegistry }) =>
      async () => {
        const { store, close } = setup(options);
        try {
          await test(store);
        } finally {
          close();
        }
      };

    it(
      'assigns gap-free positions and per-stream versions across a batch',
      withStore(async (store) => {
        const results = await store.appendBatch([
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
        expect(store.headPosition()).toBe(4);
        expect(store.count()).toBe(4);
        expect(store.streamVersion(a)).toBe(3);
        expect(store.streamVersion(asStreamName('nobody'))).toBe(0);
      }),
    );

    it(
      'reads a stream forwards and backwards from a version',
      withStore(async (store) => {
        await store.appendBatch([{ stream: a, events: [1, 2, 3, 4, 5].map((n) => newEvent('Numbered', { n })), expected: anyVersion }]);
        const numbers = (events: RecordedEvent[]) => events.map((event) => (event.payload as { n: number }).n);
        expect(numbers(store.readStream(a, 2, 2))).toEqual([2, 3]);
        expect(numbers(store.readStream(a, 4, 10, 'forward'))).toEqual([4, 5]);
        expect(numbers(store.readStream(a, 4, 2, 'backward'))).toEqual([4, 3]);
        expect(numbers(store.readStream(a, Number.MAX_SAFE_INTEGER, 10, 'backward'))).toEqual([5, 4, 3, 2, 1]);
        expect(store.readStream(asStreamName('nobody'), 1, 10)).toEqual([]);
      }),
    );

    it(
      'filters reads of the whole log by type, category and stream',
      withStore(async (store) => {
        await store.appendBatch([
          { stream: a, events: [newEvent('OrderPlaced'), newEvent('OrderShipped')], expected: anyVersion },
          { stream: c, events: [newEvent('PaymentCaptured')], expected: anyVersion },
          { stream: b, events: [newEvent('OrderPlaced')], expected: anyVersion },
        ]);
        const positions = (events: RecordedEvent[]) => events.map((event) => event.position);
        expect(positions(store.readAll(1, 10, { types: ['OrderPlaced'] }))).toEqual([1, 4]);
        expect(positions(store.readAll(1, 10, { category: 'order' }))).toEqual([1, 2, 4]);
        expect(positions(store.readAll(1, 10, { category: 'payment' }))).toEqual([3]);
        expect(positions(store.readAll(1, 10, { streams: [b, c] }))).toEqual([3, 4]);
        expect(positions(store.readAll(2, 1, { category: 'order' }))).toEqual([2]);
        expect(positions(store.readAll(1, 10, { types: ['OrderPlaced'], category: 'order', streams: [b] }))).toEqual([4]);
        expect(store.readAll(1, 10, { types: ['NoSuchType'] })).toEqual([]);
        expect(positions(store.readAll(3, 10))).toEqual([3, 4]);
      }),
    );

    it(
      'rejects a wrong expected version with a typed concurrency error and leaves the log unchanged',
      withStore(async (store) => {
        await store.appendBatch([{ stream: a, events: [newEvent()], expected: anyVersion }]);
        expect(await codeOf(() => store.appendBatch([{ stream: a, events: [newEvent()], expected: { kind: 'no_stream' } }]))).toBe('concurrency');
        expect(
          await codeOf(() =>
            store.appendBatch([
              { stream: b, events: [newEvent()], expected: anyVersion },
              { stream: a, events: [newEvent()], expected: { kind: 'exact', version: 5 } },
            ]),
          ),
        ).toBe('concurrency');
        expect(store.count()).toBe(1);
        expect(store.readStream(b, 1, 10)).toEqual([]);
        expect(store.streamVersion(b)).toBe(0);
        // Still usable, and positions continue without a gap.
        expect((await store.appendBatch([{ stream: b, events: [newEvent()], expected: { kind: 'no_stream' } }]))[0]?.firstPosition).toBe(2);
      }),
    );

    it(
      'is idempotent on event ids, and refuses a reused id with other content',
      withStore(async (store) => {
        const events = [newEvent('X', { v: 1 }), newEvent('X', { v: 2 })];
        const first = await store.appendBatch([{ stream: a, events, expected: anyVersion }]);
        await store.appendBatch([{ stream: b, events: [newEvent()], expected: anyVersion }]);
        const again = await store.appendBatch([{ stream: a, events, expected: { kind: 'no_stream' } }]);
        expect(again).toEqual([{ firstPosition: first[0]!.firstPosition, lastPosition: first[0]!.lastPosition, streamVersion: 2 }]);
        expect(store.count()).toBe(3);
        // Key order in a payload does not make it different content.
        const reordered = { ...events[0]!, payload: { v: 1 } };
        expect((await store.appendBatch([{ stream: a, events: [reordered], expected: anyVersion }]))[0]?.firstPosition).toBe(1);
        expect(await codeOf(() => store.appendBatch([{ stream: a, events: [{ ...events[0]!, payload: { v: 99 } }], expected: anyVersion }]))).toBe('conflict');
        expect(await codeOf(() => store.appendBatch([{ stream: b, events: [events[1]!], expected: anyVersion }]))).toBe('conflict');
        expect(store.count()).toBe(3);
        // A UUID is the same id as its 32 hex digits.
        const hex = events[1]!.id;
        const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toUpperCase();
        expect(store.findById(asEventId(uuid))?.position).toBe(2);
      }),
    );

    it(
      'refuses bad input with a typed error and changes nothing',
      withStore(async (store) => {
        await store.appendBatch([{ stream: a, events: [newEvent()], expected: anyVersion }]);
        const bad: [string, () => unknown][] = [
          ['validation', () => store.appendBatch([{ stream: a, events: [newEvent('X', { x: Number.NaN })], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [newEvent('X', { x: undefined } as unknown as NewEvent['payload'])], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [newEvent('X', { when: new Date(0) } as unknown as NewEvent['payload'])], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [{ ...newEvent(), id: asEventId('not-an-id') }], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: asStreamName('bad stream\nname'), events: [newEvent()], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [newEvent('has space')], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [{ ...newEvent(), schemaVersion: 0 }], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [{ ...newEvent(), schemaVersion: 2 ** 60 }], expected: anyVersion }])],
          ['validation', () => store.appendBatch([{ stream: a, events: [newEvent('X', {}, { virtualTimeUs: -1 })], expected: anyVersion }])],
          // A lone surrogate has no UTF-8 form: stored and hashed, its bytes would differ.
          ['validation', () => store.appendBatch([{ stream: a, events: [newEvent('X', {}, { virtualTimeUs: 1, correlationId: 'half \uD800 pair' })], expected: anyVersion }])],
          // $lost holds a repair's tombstones, numbered by the repair.
          ['validation', () => store.appendBatch([{ stream: asStreamName('$lost'), events: [newEvent()], expected: anyVersion }])],
          ['limit', () => store.appendBatch([{ stream: a, events: [newEvent('Big', { blob: 'x'.repeat(70_000) })], expected: anyVersion }])],
          ['conflict', () => store.appendBatch([{ stream: b, events: [newEvent(), newEvent()].map((event, _, all) => ({ ...event, id: all[0]!.id })), expected: anyVersion }])],
        ];
        for (const [code, action] of bad) expect(await codeOf(action)).toBe(code);
        expect(store.count()).toBe(1);
        expect(store.streamVersion(b)).toBe(0);
        expect((await store.appendBatch([{ stream: b, events: [newEvent()], expected: { kind: 'no_stream' } }]))[0]?.firstPosition).toBe(2);
      }),
    );

    it(
      'rolls a whole batch back when a later append in it is bad: earlier appends, new streams and new types leave no trace',
      withStore(async (store) => {
        await store.appendBatch([{ stream: a, events: [newEvent()], expected: anyVersion }]);
        const fresh = asStreamName('fresh-1');
        const code = await codeOf(() =>
          store.appendBatch([
            { stream: fresh, events: [newEvent('NeverSeenType'), newEvent()], expected: { kind: 'no_stream' } },
            { stream: a, events: [newEvent()], expected: anyVersion },
            { stream: b, events: [newEvent('X', { x: Number.NaN })], expected: anyVersion },
          ]),
        );
        expect(code).toBe('validation');
        expect(store.count()).toBe(1);
        expect(store.headPosition()).toBe(1);
        expect(store.streamVersion(fresh)).toBe(0);
        expect(store.streamVersion(a)).toBe(1);
        expect(store.readStream(fresh, 1, 10)).toEqual([]);
        // The rolled-back stream is new again, and positions continue without a gap.
        const [result] = await store.appendBatch([{ stream: fresh, events: [newEvent('NeverSeenType')], expected: { kind: 'no_stream' } }]);
        expect(result).toMatchObject({ firstPosition: 2, lastPosition: 2, streamVersion: 1 });
        expect(store.readStream(fresh, 1, 10).map((event) => [event.position, event.type])).toEqual([[2, 'NeverSeenType']]);
      }),
    );

    it(
      'keeps metadata: virtual time, causation and correlation',
      withStore(async (store) => {
        const cause = newEvent();
        const effect = newEvent('Effect', { ok: true }, { causationId: cause.id, correlationId: 'debate-7', virtualTimeUs: 1_500_000 });
        await store.appendBatch([{ stream: a, events: [cause, effect], expected: anyVersion }]);
        expect(store.findById(effect.id)?.metadata).toEqual({ virtualTimeUs: 1_500_000, causationId: cause.id, correlationId: 'debate-7' });
        expect(store.findById(cause.id)?.metadata).toEqual({ virtualTimeUs: cause.metadata.virtualTimeUs });
      }),
    );

    it(
      'appends concurrently: each append succeeds or fails on its own',
      withStore(async (store) => {
        const outcomes = await Promise.allSettled([
          store.append(a, [newEvent()], { kind: 'no_stream' }),
          store.append(a, [newEvent()], { kind: 'exact', version: 1 }),
          store.append(a, [newEvent()], { kind: 'exact', version: 1 }),
          store.append(b, [newEvent('X', { x: Number.POSITIVE_INFINITY })], anyVersion),
          store.append(b, [newEvent(), newEvent()], { kind: 'no_stream' }),
        ]);
        expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
        expect(((outcomes[2] as PromiseRejectedResult).reason as AuraError).code).toBe('concurrency');
        expect(((outcomes[3] as PromiseRejectedResult).reason as AuraError).code).toBe('validation');
        expect(shape(store.readAll(1, 10)).map((row) => row.slice(0, 3))).toEqual([
          [1, a, 1],
          [2, a, 2],
          [3, b, 1],
          [4, b, 2],
        ]);
        const event = newEvent();
        const [first, second] = await Promise.all([store.append(c, [event], anyVersion), store.append(c, [event], anyVersion)]);
        expect(second).toEqual(first);
        expect(store.count()).toBe(5);
        expect(await rejectionCode(store.append(c, [{ ...event, payload: { other: true } }], anyVersion))).toBe('conflict');
      }),
    );

    it(
      'matches a model of expected versions for any sequence of appends (property)',
      withStore(async (store) => {
        const model = new Map<string, number>();
        let head = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.record({ stream: fc.constantFrom('s-1', 's-2', 's-3'), kind: fc.constantFrom('any', 'no_stream', 'exact'), offset: fc.integer({ min: -1, max: 1 }), size: fc.integer({ min: 1, max: 3 }) }), { maxLength: 20 }),
            async (steps) => {
              for (const step of steps) {
                const current = model.get(step.stream) ?? 0;
                const expected: ExpectedVersion = step.kind === 'any' ? anyVersion : step.kind === 'no_stream' ? { kind: 'no_stream' } : { kind: 'exact', version: Math.max(0, current + step.offset) };
                const accepted = expected.kind === 'any' || (expected.kind === 'no_stream' ? current === 0 : expected.version === current);
                const events = Array.from({ length: step.size }, () => newEvent());
                const code = await codeOf(() => store.appendBatch([{ stream: asStreamName(step.stream), events, expected }]));
                expect(code).toBe(accepted ? undefined : 'concurrency');
                if (accepted) {
                  model.set(step.stream, current + step.size);
                  head += step.size;
                }
                expect(store.headPosition()).toBe(head);
                expect(store.streamVersion(asStreamName(step.stream))).toBe(model.get(step.stream) ?? 0);
              }
            },
          ),
          { numRuns: 40 },
        );
        expect(store.readAll(1, 100_000).map((event) => event.position)).toEqual(Array.from({ length: head }, (_, index) => index + 1));
      }),
    );

    it(
      'returns original positions for any re-appended subset (property)',
      withStore(async (store) => {
        const log: { stream: StreamName; events: NewEvent[]; first: number }[] = [];
        await fc.assert(
          fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.constantFrom(a, b, c)), { minLength: 1, maxLength: 15 }), async (steps) => {
            for (const [replay, pick, stream] of steps) {
              const before = store.count();
              if (replay && log.length > 0) {
                const original = log[pick % log.length]!;
                const [result] = await store.appendBatch([{ stream: original.stream, events: original.events, expected: anyVersion }]);
                expect(result?.firstPosition).toBe(original.first);
                expect(store.count()).toBe(before);
              } else {
                const events = [newEvent('P', { pick }), newEvent('P', { pick: pick + 1 })];
                const [result] = await store.appendBatch([{ stream, events, expected: anyVersion }]);
                log.push({ stream, events, first: result!.firstPosition });
                expect(store.count()).toBe(before + 2);
              }
            }
          }),
          { numRuns: 30 },
        );
      }),
    );

    it(
      'upcasts old schema versions on read, leaving the log as written',
      withStore(
        async (store) => {
          await store.appendBatch([
            { stream: a, events: [{ ...newEvent('PriceSet', { cents: 1250 }), schemaVersion: 1 }], expected: anyVersion },
            { stream: a, events: [{ ...newEvent('PriceSet', { amount: { value: 3, currency: 'EUR' } }), schemaVersion: 3 }], expected: anyVersion },
          ]);
          const [old, current] = store.readAll(1, 10);
          expect(old).toMatchObject({ schemaVersion: 3, payload: { amount: { value: 12.5, currency: 'EUR' } } });
          expect(current).toMatchObject({ schemaVersion: 3, payload: { amount: { value: 3, currency: 'EUR' } } });
          // Idempotency compares what was written, not the upcast shape.
          const again = await store.appendBatch([{ stream: a, events: [{ ...newEvent('PriceSet', { cents: 1 }), schemaVersion: 1 }], expected: anyVersion }]);
          expect(again[0]?.firstPosition).toBe(3);
        },
        {
          upcasters: new UpcasterRegistry()
            .register({ type: 'PriceSet', fromVersion: 1, upcast: (payload) => ({ amount: (payload as { cents: number }).cents / 100 }) })
            .register({ type: 'PriceSet', fromVersion: 2, upcast: (payload) => ({ amount: { value: (payload as { amount: number }).amount, currency: 'EUR' } }) }),
        },
      ),
    );

    it(
      'delivers history then live events to a subscriber, with no gap and no duplicate',
      withStore(async (store) => {
        await store.appendBatch([{ stream: a, events: Array.from({ length: 25 }, () => newEvent()), expected: anyVersion }]);
        const subscription = subscribe(store, { fromPosition: 1, batchSize: 10 });
        const seen: number[] = [];
        const iterator = subscription[Symbol.asyncIterator]();
        for (let index = 0; index < 3; index++) seen.push(...((await iterator.next()).value ?? []).map((event: RecordedEvent) => event.position));
        expect(seen).toEqual(Array.from({ length: 25 }, (_, index) => index + 1));
        expect(subscription.live).toBe(true);
        const live = iterator.next();
        await store.append(b, [newEvent(), newEvent()], anyVersion);
        await store.appendBatch([{ stream: c, events: [newEvent()], expected: anyVersion }]);
        seen.push(...((await live).value ?? []).map((event: RecordedEvent) => event.position));
        if (seen.length < 28) seen.push(...((await iterator.next()).value ?? []).map((event: RecordedEvent) => event.position));
        expect(seen).toEqual(Array.from({ length: 28 }, (_, index) => index + 1));
        subscription.close();
        expect((await iterator.next()).done).toBe(true);
      }),
    );

    it(
      'delivers exactly the log to subscribers, whatever the interleaving of appends and pulls (property)',
      withStore(async (store) => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.oneof(fc.record({ append: fc.integer({ min: 1, max: 7 }), stream: fc.constantFrom(a, b, c) }), fc.record({ pull: fc.constant(true) })), { maxLength: 30 }),
            fc.integer({ min: 1, max: 8 }),
            fc.constantFrom(undefined, 'order', 'payment'),
            async (steps, batchSize, category) => {
              const start = store.headPosition() + 1;
              const subscription = subscribe(store, { fromPosition: start, batchSize, ...(category === undefined ? {} : { filter: { category } }) });
              const iterator = subscription[Symbol.asyncIterator]();
              const delivered: RecordedEvent[] = [];
              let pending: Promise<IteratorResult<readonly RecordedEvent[]>> | undefined;
              const pull = async () => {
                pending ??= iterator.next();
                const settled = await Promise.race([pending.then((result) => result), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5))]);
                if (settled !== undefined) {
                  pending = undefined;
                  if (!settled.done) {
                    expect(settled.value.length).toBeLessThanOrEqual(batchSize);
                    delivered.push(...settled.value);
                  }
                }
              };
              for (const step of steps) {
                if ('append' in step) await store.appendBatch([{ stream: step.stream, events: Array.from({ length: step.append }, () => newEvent()), expected: anyVersion }]);
                else await pull();
              }
              const expected = store.readAll(start, 100_000, category === undefined ? undefined : { category });
              while (delivered.length < expected.length) await pull();
              expect(shape(delivered)).toEqual(shape(expected));
              subscription.close();
            },
          ),
          { numRuns: 30 },
        );
      }),
    );
  });
}
