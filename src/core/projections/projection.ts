import { canonicalJson, type JsonValue } from '../kernel/canonical.ts';
import { hashString32 } from '../kernel/random.ts';
import type { RecordedEvent } from '../events/event.ts';

/** What a runner does when `apply` throws on an event (a poison event). */
export type PoisonPolicy =
  /** Park the event with its error and go on with the next one. */
  | 'continue'
  /** Park the event and stop the projection until an operator acts. */
  | 'halt';

/**
 * A projection is a pure fold over the event log. `apply` returns the next state; it may reuse
 * (mutate) the state it is given, because a runner never keeps a state it has passed to apply.
 * States are plain JSON so they can cross worker threads and be stored and compared as text.
 *
 * A partitioned projection (`partitionBy`) keeps one state per partition key: its whole state is
 * `{ [key]: state }`, events without a key are not its business, and the partitions are spread
 * over `shards` shards that workers fold independently (events of one partition always go to
 * the same shard, in log order).
 */
export interface ProjectionDefinition<State extends JsonValue = JsonValue> {
  readonly name: string;
  /** Bumped when apply changes meaning; a new version is rebuilt in shadow from position 1. */
  readonly version: number;
  readonly description: string;
  readonly initial: () => State;
  readonly apply: (state: State, event: RecordedEvent) => State;
  readonly partitionBy?: (event: RecordedEvent) => string | undefined;
  /** Shards of a partitioned projection (default 2). */
  readonly shards?: number;
  /** Default 'continue'. */
  readonly onPoison?: PoisonPolicy;
  /**
   * A promise about `apply`: it returns the state untouched for every event whose payload has no
   * property of this name at its top level. A runner may then skip an event whose stored JSON
   * text does not mention the name at all, without parsing the payload (see `mayConcern`).
   * Unpartitioned projections only: a partitioned one's partitionBy decides what concerns it.
   */
  readonly payloadKey?: string;
  /**
   * Joins the folds of two consecutive ranges: `merge(fold(initial, A), fold(initial, B))` equals
   * `fold(initial, A then B)` as canonical JSON, for every split. A runner may then fold the
   * ranges of a long catch-up on several workers at once, each reading only its own range, and
   * join the results in order. It may reuse (mutate) either argument. For a partitioned
   * projection it joins one partition's states (see `mergeShardStates`).
   *
   * Declaring it also promises that whether apply throws on an event does not depend on the
   * state, and that apply leaves the state untouched when it throws, so that a poison event is
   * parked the same way whichever range it falls in.
   */
  readonly merge?: (before: State, after: State) => State;
}

/**
 * False only when the event cannot concern a projection with this payloadKey: its stored JSON
 * text (when the event carries it, as events read from SQLite do) has no `"key"` and no \u
 * escape (JSON.stringify writes every key literally; an escaped key could hide one). Everything
 * else is looked at, so skipping never changes a projection's state, only its cost.
 */
export function mayConcern(quotedKey: string | undefined, event: RecordedEvent): boolean {
  if (quotedKey === undefined) return true;
  const text = (event as { readonly payloadJson?: unknown }).payloadJson;
  return typeof text !== 'string' || text.includes(quotedKey) || text.includes('\\u');
}

export function shardCount(definition: ProjectionDefinition): number {
  return definition.partitionBy === undefined ? 1 : Math.max(1, definition.shards ?? 2);
}

/** The shard a partition key belongs to. */
export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : hashString32(key) % shards;
}

/** The state of one shard before any event. */
export function initialShardState(definition: ProjectionDefinition): JsonValue {
  return definition.partitionBy === undefined ? definition.initial() : {};
}

export interface ParkedEvent {
  readonly position: number;
  readonly error: string;
}

export interface FoldOutcome {
  readonly state: JsonValue;
  /** Last position looked at (applied, skipped as not this shard's, or parked). */
  readonly lastPosition: number;
  readonly applied: number;
  readonly parked: readonly ParkedEvent[];
  /** Set when the policy is 'halt' and an event threw: the fold stopped before it. */
  readonly halted?: ParkedEvent;
}

/**
 * Folds events into one shard's state. Shared by the workers and by the reference replay, so
 * that the two cannot disagree about partitions, shards or poison events.
 */
export function foldShard(definition: ProjectionDefinition, shard: number, state: JsonValue, events: Iterable<RecordedEvent>, skip: ReadonlySet<number> = new Set()): FoldOutcome {
  const shards = shardCount(definition);
  const policy = definition.onPoison ?? 'continue';
  const quotedKey = definition.payloadKey === undefined ? undefined : JSON.stringify(definition.payloadKey);
  const parked: ParkedEvent[] = [];
  let current = state;
  let lastPosition = 0;
  let applied = 0;
  for (const event of events) {
    if (skip.has(event.position)) {
      lastPosition = event.position;
      continue;
    }
    try {
      if (definition.partitionBy === undefined) {
        // An event that cannot concern the projection is applied as the no-op it would be.
        if (mayConcern(quotedKey, event)) current = definition.apply(current, event);
        applied += 1;
      } else {
        let key: string | undefined;
        try {
          key = definition.partitionBy(event);
        } catch (error) {
          // A key that cannot be computed is every shard's problem: shard 0 alone reports it.
          if (shard !== 0) {
            lastPosition = event.position;
            continue;
          }
          throw error;
        }
        if (key !== undefined && shardOf(key, shards) === shard) {
          const partitions = current as Record<string, JsonValue>;
          partitions[key] = definition.apply(partitions[key] ?? definition.initial(), event);
          applied += 1;
        }
      }
    } catch (error) {
      const poison = { position: event.position, error: error instanceof Error ? error.message : String(error) };
      if (policy === 'halt') return { state: current, lastPosition, applied, parked, halted: poison };
      parked.push(poison);
    }
    lastPosition = event.position;
  }
  return { state: current, lastPosition, applied, parked };
}

/**
 * One shard's state after two consecutive ranges, from the states of each folded from the
 * initial shard state (`after` is reused). Only for projections that declare `merge`.
 */
export function mergeShardStates(definition: ProjectionDefinition, before: JsonValue, after: JsonValue): JsonValue {
  const merge = definition.merge;
  if (merge === undefined) throw new TypeError(`projection ${definition.name} cannot join folds of separate ranges (no merge)`);
  if (definition.partitionBy === undefined) return merge(before, after);
  const partitions = before as Record<string, JsonValue>;
  for (const [key, state] of Object.entries(after as Record<string, JsonValue>)) {
    const earlier = partitions[key];
    partitions[key] = earlier === undefined ? state : merge(earlier, state);
  }
  return partitions;
}

/** Merges the shards of a partitioned projection into its whole state (a plain fold has one). */
export function mergeShards(definition: ProjectionDefinition, shards: readonly JsonValue[]): JsonValue {
  if (definition.partitionBy === undefined) return shards[0] ?? definition.initial();
  const merged: Record<string, JsonValue> = {};
  for (const shard of shards) Object.assign(merged, shard as Record<string, JsonValue>);
  return merged;
}

/**
 * The reference: the whole projection folded on one thread from an empty state, shard by shard,
 * merged, as canonical JSON. Every runner's result must equal this, byte for byte.
 */
export function replayProjection(definition: ProjectionDefinition, events: readonly RecordedEvent[]): { stateJson: string; parked: ParkedEvent[]; halted?: ParkedEvent } {
  const states: JsonValue[] = [];
  const parked: ParkedEvent[] = [];
  let halted: ParkedEvent | undefined;
  for (let shard = 0; shard < shardCount(definition); shard++) {
    // The same event can throw in each shard only if it is that shard's; no double counting.
    const outcome = foldShard(definition, shard, initialShardState(definition), events);
    states.push(outcome.state);
    parked.push(...outcome.parked);
    if (outcome.halted && (halted === undefined || outcome.halted.position < halted.position)) halted = outcome.halted;
  }
  parked.sort((a, b) => a.position - b.position);
  return { stateJson: canonicalJson(mergeShards(definition, states)), parked, ...(halted === undefined ? {} : { halted }) };
}

/** Folds events into a state, in order (a plain, unpartitioned fold). */
export function foldEvents<State extends JsonValue>(definition: ProjectionDefinition<State>, state: State, events: Iterable<RecordedEvent>): State {
  let current = state;
  for (const event of events) current = definition.apply(current, event);
  return current;
}
