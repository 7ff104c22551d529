/**
 * What every store accepts, checked the same way everywhere so that bad input gets the same
 * typed error from the in-memory and the SQLite store, and changes nothing.
 */
import { AuraError } from '../kernel/errors.ts';
import { asEventId, type EventId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { lostStream, type NewEvent } from './event.ts';

const hex32 = /^[0-9a-f]{32}$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const streamNamePattern = /^[A-Za-z0-9$][A-Za-z0-9._:$@/+=-]*$/;
/** Event types starting with `$` are the lab's own (a lost-event tombstone): appends cannot use them. */
const eventTypePattern = /^[A-Za-z][A-Za-z0-9_.$-]*$/;
/** A lone surrogate: a string with one has no UTF-8 encoding to store and hash alike. */
const loneSurrogate = /\p{Cs}/u;

/** An event id as 32 lowercase hex digits; a UUID is accepted and normalised. */
export function normalizeEventId(id: string): EventId {
  if (id.length === 32 && hex32.test(id)) return id as EventId;
  const lower = id.toLowerCase();
  if (hex32.test(lower)) return asEventId(lower);
  if (uuid.test(lower)) return asEventId(lower.replace(/-/g, ''));
  throw new AuraError('validation', `event id ${JSON.stringify(id.slice(0, 80))} is not 128 bits of hex (32 hex digits or a UUID)`);
}

export function checkStreamName(stream: string): void {
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > limits.streamNameLengthMax || !streamNamePattern.test(stream)) {
    throw new AuraError('validation', `stream name ${JSON.stringify(String(stream).slice(0, 80))} is invalid: 1-${limits.streamNameLengthMax} characters of letters, digits and . _ : $ @ / + = -`);
  }
  // A repair numbers $lost's tombstones in position order: an appended event there would be renumbered, and its hash broken.
  if (stream === lostStream) throw new AuraError('validation', `stream ${lostStream} holds a repair's tombstones and takes no appends`);
}

/** Throws unless the value is plain JSON: null, booleans, finite numbers, strings, arrays, plain objects. */
export function checkJsonValue(value: unknown, what: string, depth = 0): void {
  if (depth > 64) throw new AuraError('validation', `${what} is nested deeper than 64 levels`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new AuraError('validation', `${what} is not JSON: it contains the number ${String(value)}`);
      return;
    case 'object': {
      if (value === null) return;
      if (Array.isArray(value)) {
        for (let index = 0; index < value.length; index++) checkJsonValue(value[index], what, depth + 1);
        return;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) throw new AuraError('validation', `${what} is not JSON: it contains an object that is not a plain object`);
      for (const key in value) checkJsonValue((value as Record<string, unknown>)[key], what, depth + 1);
      return;
    }
    default:
      throw new AuraError('validation', `${what} is not JSON: it contains ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`);
  }
}

/** Event types already seen valid (a handful per log): checked once, not per event. */
const validTypes = new Set<string>();

/** Checks an event's envelope and payload; returns its normalised id. */
export function checkNewEvent(event: NewEvent): EventId {
  const id = normalizeEventId(String(event.id));
  if (!validTypes.has(event.type)) {
    if (typeof event.type !== 'string' || event.type.length === 0 || event.type.length > limits.eventTypeLengthMax || !eventTypePattern.test(event.type)) {
      throw new AuraError('validation', `event ${id}: type ${JSON.stringify(String(event.type).slice(0, 80))} is invalid`);
    }
    if (validTypes.size < 10_000) validTypes.add(event.type);
  }
  if (!Number.isSafeInteger(event.schemaVersion) || event.schemaVersion < 1) throw new AuraError('validation', `event ${id}: schemaVersion must be an integer from 1 to 2^53 - 1`);
  const metadata = event.metadata as NewEvent['metadata'] | undefined;
  if (metadata === undefined || !Number.isSafeInteger(metadata.virtualTimeUs) || metadata.virtualTimeUs < 0) {
    throw new AuraError('validation', `event ${id}: metadata.virtualTimeUs must be a non-negative integer`);
  }
  if (metadata.causationId !== undefined) normalizeEventId(metadata.causationId);
  if (metadata.correlationId !== undefined && (typeof metadata.correlationId !== 'string' || metadata.correlationId.length > 256)) {
    throw new AuraError('validation', `event ${id}: metadata.correlationId must be a string of at most 256 characters`);
  }
  if (metadata.correlationId !== undefined && loneSurrogate.test(metadata.correlationId)) {
    throw new AuraError('validation', `event ${id}: metadata.correlationId is not well-formed Unicode (it has a lone surrogate)`);
  }
  checkJsonValue(event.payload, `event ${id}: payload`);
  return id;
}

export function checkEventSize(id: string, payloadText: string): void {
  if (payloadText.length > limits.eventBytesMax) {
    throw new AuraError('limit', `event ${id}: payload is ${payloadText.length} bytes; the limit is ${limits.eventBytesMax}`);
  }
}
