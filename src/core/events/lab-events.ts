/**
 * Event types the lab itself writes and reads: debates, faults, and the requests that service
 * levels are measured on. The projections in core/projections read them; the simulation, the
 * debate engine and the chaos engine write them.
 */
import type { RecordedEvent } from './event.ts';

export const labEventTypes = {
  debateStarted: 'DebateStarted',
  argumentMade: 'ArgumentMade',
  consensusReached: 'ConsensusReached',
  consensusFailed: 'ConsensusFailed',
  voteCast: 'VoteCast',
  debateDecided: 'DebateDecided',
  faultInjected: 'FaultInjected',
  faultCleared: 'FaultCleared',
} as const;

export interface DebateStartedPayload {
  readonly debateId: string;
  readonly question: string;
  readonly agents: readonly string[];
  readonly protocol: string;
}

export interface ArgumentMadePayload {
  readonly debateId: string;
  readonly agent: string;
  readonly round: number;
  readonly answer: string;
  readonly confidence: number;
}

export interface ConsensusReachedPayload {
  readonly debateId: string;
  readonly answer: string;
  readonly round: number;
}

export interface ConsensusFailedPayload {
  readonly debateId: string;
  readonly round: number;
  readonly reason: string;
}

export interface FaultInjectedPayload {
  readonly faultId: string;
  readonly kind: string;
  readonly target: string;
}

export interface FaultClearedPayload {
  readonly faultId: string;
}

/** A payload field, or a typed error naming the event (the projections' input checks). */
export function field<T>(event: RecordedEvent, name: string, check: (value: unknown) => value is T, expected: string): T {
  const value = (event.payload as Record<string, unknown> | null)?.[name];
  if (!check(value)) throw new TypeError(`${event.type} at position ${event.position}: ${name} is ${JSON.stringify(value) ?? 'missing'}, expected ${expected}`);
  return value;
}

export const isString = (value: unknown): value is string => typeof value === 'string';
export const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
export const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);
