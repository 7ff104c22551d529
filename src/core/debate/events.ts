/**
 * Debate records as lab events: one record, one event (a fault record is an instant window, so
 * it maps to FaultInjected then FaultCleared; a crash stays open). The kernel that appends them
 * chooses streams, ids and virtual times.
 */
import { labEventTypes } from '../events/lab-events.ts';
import type { JsonValue } from '../kernel/canonical.ts';
import type { DebateRecord } from './records.ts';

/** The debate's event types (named once, in lab-events.ts). */
export const debateEventTypes = labEventTypes;

export interface DebateEvent {
  readonly type: string;
  readonly payload: { readonly [key: string]: JsonValue };
}

function payloadOf(record: DebateRecord): { [key: string]: JsonValue } {
  const { type: _type, ...rest } = record;
  return rest as unknown as { [key: string]: JsonValue };
}

export function debateRecordEvents(record: DebateRecord): DebateEvent[] {
  switch (record.type) {
    case 'debate-started':
      return [{ type: debateEventTypes.debateStarted, payload: payloadOf(record) }];
    case 'argument':
      return [{ type: debateEventTypes.argumentMade, payload: payloadOf(record) }];
    case 'vote':
      return [{ type: debateEventTypes.voteCast, payload: payloadOf(record) }];
    case 'consensus-reached':
      return [{ type: debateEventTypes.consensusReached, payload: payloadOf(record) }];
    case 'consensus-failed':
      return [{ type: debateEventTypes.consensusFailed, payload: payloadOf(record) }];
    case 'decision':
      return [{ type: debateEventTypes.debateDecided, payload: payloadOf(record) }];
    case 'fault': {
      const injected: DebateEvent = { type: debateEventTypes.faultInjected, payload: payloadOf(record) };
      return record.kind === 'crash' ? [injected] : [injected, { type: debateEventTypes.faultCleared, payload: { faultId: record.faultId } }];
    }
  }
}

/** Every record of a debate as events, in order. */
export function debateEvents(records: readonly DebateRecord[]): DebateEvent[] {
  const out: DebateEvent[] = [];
  for (const record of records) out.push(...debateRecordEvents(record));
  return out;
}
