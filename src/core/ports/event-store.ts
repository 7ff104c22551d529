import type { EventId, StreamName } from '../kernel/ids.ts';
import type { NewEvent, RecordedEvent } from '../events/event.ts';

export type ExpectedVersion =
  | { readonly kind: 'any' }
  | { readonly kind: 'no_stream' }
  | { readonly kind: 'exact'; readonly version: number };

export const anyVersion: ExpectedVersion = { kind: 'any' };

export interface StreamAppend {
  readonly stream: StreamName;
  readonly events: readonly NewEvent[];
  readonly expected: ExpectedVersion;
}

export interface AppendResult {
  readonly firstPosition: number;
  readonly lastPosition: number;
  /** The stream's version after the append. */
  readonly streamVersion: number;
}

/**
 * The event store port. Implementations: the SQLite store (src/node) and the in-memory store
 * (src/core/testing); both pass the same contract tests. Synchronous, because the real store is
 * a single writer on one SQLite connection.
 */
export interface EventStore {
  /** Appends to several streams in one transaction: all or nothing. */
  appendBatch(appends: readonly StreamAppend[]): AppendResult[];
  /** Events with position >= fromPosition, in position order, at most maxCount. */
  readAll(fromPosition: number, maxCount: number): RecordedEvent[];
  /** Events of one stream with version >= fromVersion, in version order, at most maxCount. */
  readStream(stream: StreamName, fromVersion: number, maxCount: number): RecordedEvent[];
  /** Position of the last event, 0 when empty. */
  headPosition(): number;
  /** Number of events stored. */
  count(): number;
  /** The event with this id, if any. */
  findById(id: EventId): RecordedEvent | undefined;
}
