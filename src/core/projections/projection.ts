import type { JsonValue } from '../kernel/canonical.ts';
import type { RecordedEvent } from '../events/event.ts';

/**
 * A projection is a pure fold over the event log. `apply` returns the next state; it may reuse
 * (mutate) the state it is given, because a runner never keeps a state it has passed to apply.
 * States are plain JSON so they can cross worker threads and be stored and compared as text.
 */
export interface ProjectionDefinition<State extends JsonValue = JsonValue> {
  readonly name: string;
  /** Bumped when apply changes meaning; a new version is rebuilt from position 1. */
  readonly version: number;
  readonly description: string;
  readonly initial: () => State;
  readonly apply: (state: State, event: RecordedEvent) => State;
}

/** Folds events into a state, in order. The reference every runner is checked against. */
export function foldEvents<State extends JsonValue>(
  definition: ProjectionDefinition<State>,
  state: State,
  events: Iterable<RecordedEvent>,
): State {
  let current = state;
  for (const event of events) current = definition.apply(current, event);
  return current;
}
