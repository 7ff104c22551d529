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

/** Which events a read or a subscription returns. Empty fields match everything. */
export interface ReadFilter {
  readonly types?: readonly string[];
  /** Streams whose category (the name up to the first dash) is this. */
  readonly category?: string;
  readonly streams?: readonly StreamName[];
}

export type ReadDirection = 'forward' | 'backward';

/**
 * The event store port. Implementations: the SQLite store (src/node) and the in-memory store
 * (src/core/testing); both pass the same contract tests (test/contract).
 */
export interface EventStore {
  /**
   * Appends to several streams in one transaction: all or nothing. A store may complete it
   * synchronously (the in-memory store, the single-thread SQLite store) or asynchronously (the
   * SQLite store with a writer thread); callers `await` it either way.
   */
  appendBatch(appends: readonly StreamAppend[]): AppendResult[] | Promise<AppendResult[]>;
  /**
   * Appends to one stream. Appends that arrive together share one commit (group commit); each
   * succeeds or fails on its own.
   */
  append(stream: StreamName, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  /** Events with position >= fromPosition that match the filter, in position order, at most maxCount. */
  readAll(fromPosition: number, maxCount: number, filter?: ReadFilter): RecordedEvent[];
  /**
   * Events of one stream from a version: forward (versions >= fromVersion, ascending) or backward
   * (versions <= fromVersion, descending; pass Number.MAX_SAFE_INTEGER for the end).
   */
  readStream(stream: StreamName, fromVersion: number, maxCount: number, direction?: ReadDirection): RecordedEvent[];
  /** The stream's version, 0 when it does not exist. */
  streamVersion(stream: StreamName): number;
  /** Position of the last event, 0 when empty. */
  headPosition(): number;
  /** Number of events stored. */
  count(): number;
  /** The event with this id, if any. */
  findById(id: EventId): RecordedEvent | undefined;
  /** Called with the new head after every commit. Returns an unsubscribe function. */
  onAppended(listener: (headPosition: number) => void): () => void;
}
