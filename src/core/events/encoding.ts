import { canonicalJson } from '../kernel/canonical.ts';
import type { RecordedEvent } from './event.ts';

/**
 * The canonical encoding of a recorded event: what the hash chain covers and what replays
 * compare. Field order is fixed by canonicalJson (sorted keys).
 */
export function encodeRecordedEvent(event: RecordedEvent): string {
  return canonicalJson({
    position: event.position,
    stream: event.stream,
    version: event.version,
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    payload: event.payload,
    metadata: event.metadata,
  });
}

/** The content that decides whether a re-appended event id is the same event. */
export function eventContentKey(stream: string, event: Pick<RecordedEvent, 'type' | 'schemaVersion' | 'payload' | 'metadata'>): string {
  return canonicalJson({ stream, type: event.type, schemaVersion: event.schemaVersion, payload: event.payload, metadata: event.metadata });
}
