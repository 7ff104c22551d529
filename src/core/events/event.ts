import type { JsonValue } from '../kernel/canonical.ts';
import type { EventId, StreamName } from '../kernel/ids.ts';

/**
 * The logical event: everything here is hashed and replayed. Wall-clock time is telemetry and
 * never appears in an event.
 */
export interface EventMetadata {
  /** Virtual time of the event, in microseconds since the start of the run. */
  readonly virtualTimeUs: number;
  readonly causationId?: EventId;
  readonly correlationId?: string;
}

export interface NewEvent {
  /** Idempotency key; derived from the run's seeded PRNG, never a random UUID. */
  readonly id: EventId;
  readonly type: string;
  readonly schemaVersion: number;
  readonly payload: JsonValue;
  readonly metadata: EventMetadata;
}

export interface RecordedEvent extends NewEvent {
  /** Global position, 1-based, gap-free, assigned by the single writer. */
  readonly position: number;
  readonly stream: StreamName;
  /** Version within the stream, 1-based. */
  readonly version: number;
}

/** Streams whose names start with `$` belong to the lab itself (run lifecycle, operator actions). */
export const isSystemStream = (stream: string): boolean => stream.startsWith('$');

export const runStream = '$run' as StreamName;
