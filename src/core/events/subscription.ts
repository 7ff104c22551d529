/**
 * Catch-up subscriptions over any EventStore: read history from a position, then switch to live
 * events, with no gap and no duplicate. The subscriber pulls batches (an async iterator), so a
 * slow subscriber is never sent more than one batch ahead: backpressure by construction.
 *
 * No gap, no duplicate: the subscription keeps one cursor (the last position it has looked at)
 * and always reads from the store after it; live notifications only wake it up.
 */
import type { RecordedEvent } from './event.ts';
import type { EventStore, ReadFilter } from '../ports/event-store.ts';
import { limits } from '../kernel/limits.ts';

export interface SubscriptionOptions {
  /** First position to deliver (1 for the whole log). */
  readonly fromPosition: number;
  readonly filter?: ReadFilter;
  /** Largest batch handed to the subscriber. */
  readonly batchSize?: number;
}

export interface Subscription extends AsyncIterable<readonly RecordedEvent[]> {
  /** Position of the last event looked at (delivered, or skipped by the filter). */
  readonly position: number;
  /** True once every event up to the head at the last read has been delivered. */
  readonly live: boolean;
  close(): void;
}

export function subscribe(store: EventStore, options: SubscriptionOptions): Subscription {
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 1_000, limits.readEventsMax));
  let cursor = Math.max(0, options.fromPosition - 1);
  let live = false;
  let closed = false;
  let wake: (() => void) | undefined;
  const unsubscribe = store.onAppended(() => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  });

  const nextBatch = async (): Promise<readonly RecordedEvent[] | undefined> => {
    while (!closed) {
      // Arm the wake-up before reading, so that an append between the read and the wait is not missed.
      const appended = new Promise<void>((resolve) => (wake = resolve));
      const head = store.headPosition();
      if (cursor < head) {
        const events = store.readAll(cursor + 1, batchSize, options.filter);
        const last = events.at(-1);
        if (events.length === batchSize && last !== undefined) {
          cursor = last.position;
        } else {
          // Fewer than a full batch: everything up to the head has been looked at.
          cursor = head;
        }
        live = cursor >= head;
        if (events.length > 0) return events;
        continue;
      }
      live = true;
      await appended;
    }
    return undefined;
  };

  return {
    get position() {
      return cursor;
    },
    get live() {
      return live;
    },
    close() {
      closed = true;
      unsubscribe();
      wake?.();
    },
    [Symbol.asyncIterator]() {
      return {
        next: async () => {
          const batch = await nextBatch();
          return batch === undefined ? { done: true, value: undefined } : { done: false, value: batch };
        },
        return: async () => {
          closed = true;
          unsubscribe();
          wake?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
