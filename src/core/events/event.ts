import type { JsonValue } from '../kernel/canonical.ts';
import type { EventId, StreamName } from '../kernel/ids.ts';

/**
 * The logical event: everything here is hashed and replayed. Wall-clock time is telemetry and
 * never appears in an event.
 */
export interface EventMetadata {
  /** Virtual time of the event, in microseconds since the start of the run. */
  readonly virtualTimeUs: number;
  /** The event that caused this one. */
  readonly causationId?: EventId;
  /** The conversation, debate or drill this event belongs to. */
  readonly correlationId?: string;
}

export interface NewEvent {
  /** Idempotency key: 128 bits as 32 hex digits (a UUID is accepted and normalised). */
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

/**
 * A repair that cannot recover an event puts this tombstone in its place: same position, and
 * same stream and version where those were readable (else the `$lost` stream). It keeps the
 * original hash, so the chain continues; verification reports it as a declared loss.
 */
export const lostEventType = '$EventLost';
export const lostStream = '$lost' as StreamName;

/**
 * What a tombstone's payload ({ position, stream, version }: the lost event it stands for)
 * names: a stream only when it is a string, a version only when it is a safe integer. Undefined
 * when the payload is not JSON text of an object.
 */
export function lostClaim(payloadText: unknown): { readonly position: unknown; readonly stream: string | null; readonly version: number | null } | undefined {
  if (typeof payloadText !== 'string') return undefined;
  let named: unknown;
  try {
    named = JSON.parse(payloadText);
  } catch {
    return undefined;
  }
  if (typeof named !== 'object' || named === null) return undefined;
  const { position, stream, version } = named as { position?: unknown; stream?: unknown; version?: unknown };
  return { position, stream: typeof stream === 'string' ? stream : null, version: Number.isSafeInteger(version) ? (version as number) : null };
}

/** A stream's category: its name up to the first dash (`order-17` is in category `order`). */
export function streamCategory(stream: string): string {
  const dash = stream.indexOf('-');
  return dash < 0 ? stream : stream.slice(0, dash);
}

/** A plain-object copy of a recorded event, field by field (stored events may carry more fields). */
export function toPlainEvent(event: RecordedEvent, changes: Partial<Pick<RecordedEvent, 'schemaVersion' | 'payload'>> = {}): RecordedEvent {
  return {
    position: event.position,
    stream: event.stream,
    version: event.version,
    id: event.id,
    type: event.type,
    schemaVersion: changes.schemaVersion ?? event.schemaVersion,
    payload: changes.payload === undefined ? event.payload : changes.payload,
    metadata: event.metadata,
  };
}
