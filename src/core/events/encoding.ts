import { canonicalJson } from '../kernel/canonical.ts';
import { toPlainEvent, type RecordedEvent } from './event.ts';

/** The hash of the (empty) log before the first event. */
export const genesisHashHex = '0'.repeat(64);

/**
 * The text an event's chain hash covers, after the previous event's hash:
 *   hash_i = SHA-256( UTF-8( hash_{i-1} as hex + "\n" + framing_i ) )
 * framing_i = position, stream, version, id, type, schemaVersion, virtualTimeUs, causationId,
 * correlationId and the payload's JSON text, separated by newlines. Names cannot contain a
 * newline and JSON text escapes them, so the framing is unambiguous.
 */
export function hashFraming(
  position: number,
  stream: string,
  version: number,
  id: string,
  type: string,
  schemaVersion: number,
  virtualTimeUs: number,
  causationId: string | undefined,
  correlationId: string | undefined,
  payloadText: string,
): string {
  return `${position}\n${stream}\n${version}\n${id}\n${type}\n${schemaVersion}\n${virtualTimeUs}\n${causationId ?? ''}\n${correlationId ?? ''}\n${payloadText}`;
}

/** The canonical encoding of a recorded event, for byte-for-byte comparisons of logs. */
export function encodeRecordedEvent(event: RecordedEvent): string {
  return canonicalJson(toPlainEvent(event));
}

/** The content that decides whether a re-appended event id is the same event. */
export function eventContentKey(stream: string, event: Pick<RecordedEvent, 'type' | 'schemaVersion' | 'payload' | 'metadata'>): string {
  return canonicalJson({ stream, type: event.type, schemaVersion: event.schemaVersion, payload: event.payload, metadata: event.metadata });
}
