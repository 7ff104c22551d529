import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/events/event.ts';
import { labEventTypes } from '../../src/core/events/lab-events.ts';
import { canonicalJson, type JsonValue } from '../../src/core/kernel/canonical.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { foldShard, initialShardState, mayConcern, mergeShardStates, mergeShards, replayProjection, shardCount, shardOf } from '../../src/core/projections/projection.ts';
import { findProjection, projectionNames } from '../../src/core/projections/registry.ts';
import { MemoryEventStore } from '../../src/core/testing/memory-event-store.ts';
import { labLog } from '../support/lab-log.ts';

function logOf(seed: number, batches: number, poison = false): RecordedEvent[] {
  const store = new MemoryEventStore();
  for (const batch of labLog(seed, batches, { poison })) store.appendBatch(batch);
  return store.readAll(1, 1_000_000);
}

let position = 0;
const recorded = (type: string, payload: Record<string, unknown>, virtualTimeUs = 0, stream = 'x-1'): RecordedEvent => {
  position += 1;
  return { position, stream: asStreamName(stream), version: position, id: asEventId(position.toString(16).padStart(32, '0')), type, schemaVersion: 1, payload: payload as RecordedEvent['payload'], metadata: { virtualTimeUs } };
};

describe('the lab projections', () => {
  it('fold in any split of shards and batches to the same state as one replay (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (seed, sizes) => {
        const events = logOf(seed, 12, true);
        for (const name of projectionNames) {
          const definition = findProjection(name)!;
          const shards = Array.from({ length: shardCount(definition) }, (_, shard) => {
            let state = initialShardState(definition);
            let offset = 0;
            let turn = 0;
            while (offset < events.length) {
              const size = sizes[turn % sizes.length]!;
              const outcome = foldShard(definition, shard, JSON.parse(canonicalJson(state)), events.slice(offset, offset + size));
              if (outcome.halted) return state;
              state = outcome.state;
              offset += size;
              turn += 1;
            }
            return state;
          });
          if (definition.onPoison !== 'halt') expect(canonicalJson(mergeShards(definition, shards)), name).toBe(replayProjection(definition, events).stateJson);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('keep each partition in one shard', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 8 }), (key, shards) => {
        const shard = shardOf(key, shards);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(shards);
        expect(shardOf(key, shards)).toBe(shard);
      }),
    );
    expect(shardOf('anything', 1)).toBe(0);
  });

  it('tally a debate: answers per round, and its consensus', () => {
    const definition = findProjection('debate-standings')!;
    const events = [
      recorded(labEventTypes.debateStarted, { debateId: 'd1', question: 'incident?', agents: ['a', 'b', 'c'], protocol: 'simultaneous' }),
      recorded(labEventTypes.argumentMade, { debateId: 'd1', agent: 'a', round: 1, answer: 'yes', confidence: 0.9 }),
      recorded(labEventTypes.argumentMade, { debateId: 'd1', agent: 'b', round: 1, answer: 'no', confidence: 0.6 }),
      recorded(labEventTypes.argumentMade, { debateId: 'd1', agent: 'b', round: 2, answer: 'yes', confidence: 0.7 }),
      recorded(labEventTypes.consensusReached, { debateId: 'd1', answer: 'yes', round: 2 }),
    ];
    expect(JSON.parse(replayProjection(definition, events).stateJson)).toEqual({
      d1: { question: 'incident?', agents: ['a', 'b', 'c'], protocol: 'simultaneous', rounds: { '1': { yes: 1, no: 1 }, '2': { yes: 1 } }, status: 'consensus', consensus: { answer: 'yes', round: 2 }, started: true },
    });
  });

  it('draw agent belief timelines and fault windows', () => {
    const beliefs = findProjection('agent-beliefs')!;
    const faults = findProjection('fault-windows')!;
    const events = [
      recorded(labEventTypes.argumentMade, { debateId: 'd', agent: 'a', round: 1, answer: 'yes', confidence: 0.5 }, 1_000),
      recorded(labEventTypes.faultInjected, { faultId: 'f1', kind: 'partition', target: 'peer-1' }, 2_000),
      recorded(labEventTypes.argumentMade, { debateId: 'd', agent: 'a', round: 2, answer: 'no', confidence: 0.8 }, 3_000),
      recorded(labEventTypes.faultCleared, { faultId: 'f1' }, 4_000),
    ];
    expect(JSON.parse(replayProjection(beliefs, events).stateJson).a.points.map((point: { answer: string; virtualTimeUs: number }) => [point.virtualTimeUs, point.answer])).toEqual([
      [1_000, 'yes'],
      [3_000, 'no'],
    ]);
    expect(JSON.parse(replayProjection(faults, events).stateJson)).toEqual({ windows: [{ faultId: 'f1', kind: 'partition', target: 'peer-1', startUs: 2_000, endUs: 4_000 }] });
  });

  it('count service levels, and refuse a request whose latency is not a number', () => {
    const slo = findProjection('slo-status')!;
    const events = [
      recorded('RequestCompleted', { latencyMs: 20, ok: true }, 0),
      recorded('RequestCompleted', { latencyMs: 150, ok: true }, 10),
      recorded('RequestCompleted', { latencyMs: 30, ok: false }, 1_500_000),
      recorded('RequestCompleted', { latencyMs: 'slow' }, 1_600_000),
      recorded('OrderPlaced', { amount: 3 }, 1_700_000),
    ];
    const result = replayProjection(slo, events);
    expect(JSON.parse(result.stateJson)).toMatchObject({ total: 3, good: 1, seconds: { '0': { total: 2, good: 1 }, '1': { total: 1, good: 0 } } });
    expect(result.parked).toEqual([{ position: events[3]!.position, error: expect.stringMatching(/latencyMs is "slow", expected a number/) as unknown }]);
  });

  it('park an event whose partition key cannot be read once, not once per shard', () => {
    const standings = findProjection('debate-standings')!;
    const bad = recorded(labEventTypes.argumentMade, { agent: 'a', round: 1, answer: 'yes', confidence: 1 });
    expect(replayProjection(standings, [bad]).parked.map((parked) => parked.position)).toEqual([bad.position]);
  });
});

describe('payloadKey: skipping events whose stored payload text cannot concern a projection', () => {
  const withText = (position: number, payload: JsonValue, text = JSON.stringify(payload)): RecordedEvent & { payloadJson: string } => ({
    position,
    stream: asStreamName('api-1'),
    version: position,
    id: asEventId(position.toString(16).padStart(32, '0')),
    type: 'RequestCompleted',
    schemaVersion: 1,
    payload,
    metadata: { virtualTimeUs: position * 1_000_000 },
    payloadJson: text,
  });

  it('mayConcern: false only without the quoted key and without any \\u escape', () => {
    const key = JSON.stringify('latencyMs');
    expect(mayConcern(key, withText(1, { latencyMs: 5 }))).toBe(true);
    expect(mayConcern(key, withText(2, { amount: 5 }))).toBe(false);
    expect(mayConcern(key, withText(3, { note: 'latencyMs' }))).toBe(true); // mentioned: looked at
    expect(mayConcern(key, withText(4, { latencyMs: 5 }, '{"latency\\u004ds":5}'))).toBe(true); // escaped key
    const plain: RecordedEvent = { ...withText(5, { amount: 1 }) };
    delete (plain as { payloadJson?: string }).payloadJson;
    expect(mayConcern(key, plain)).toBe(true); // no stored text: apply decides
    expect(mayConcern(undefined, withText(6, { amount: 5 }))).toBe(true);
  });

  it('slo-status folds to the same state and the same applied count with and without stored texts, poison events included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ latencyMs: fc.integer({ min: 0, max: 300 }), ok: fc.boolean() }),
            fc.record({ amount: fc.integer({ min: 1, max: 500 }), currency: fc.constant('EUR') }),
            fc.record({ latencyMs: fc.constant('slow') }),
            fc.record({ nested: fc.record({ latencyMs: fc.integer() }) }),
          ),
          { maxLength: 60 },
        ),
        (payloads) => {
          const definition = findProjection('slo-status')!;
          const stored = payloads.map((payload, index) => withText(index + 1, payload as JsonValue));
          const plain = stored.map(({ payloadJson: _text, ...event }) => event);
          const a = foldShard(definition, 0, definition.initial(), stored);
          const b = foldShard(definition, 0, definition.initial(), plain);
          expect(canonicalJson(a.state)).toBe(canonicalJson(b.state));
          expect(a.applied).toBe(b.applied);
          expect(a.parked).toEqual(b.parked);
        },
      ),
      { seed: 20261126, numRuns: 200 },
    );
  });
});

describe('merge: folds of separate ranges, joined in order, equal one fold over both', () => {
  /** Folds `events` cut at `cuts` into separate ranges, each from the initial state, and joins them. */
  function joined(name: string, shard: number, events: readonly RecordedEvent[], cuts: readonly number[]) {
    const definition = findProjection(name)!;
    const bounds = [...new Set([0, ...cuts.map((cut) => Math.min(cut, events.length)), events.length])].sort((a, b) => a - b);
    let state: JsonValue | undefined;
    let applied = 0;
    const parked: number[] = [];
    for (let index = 0; index + 1 < bounds.length; index++) {
      const outcome = foldShard(definition, shard, initialShardState(definition), events.slice(bounds[index], bounds[index + 1]));
      // Joined from their stored text, as the daemon does.
      const part = JSON.parse(JSON.stringify(outcome.state)) as JsonValue;
      state = state === undefined ? part : mergeShardStates(definition, state, part);
      applied += outcome.applied;
      parked.push(...outcome.parked.map((item) => item.position));
    }
    return { stateJson: canonicalJson(state ?? initialShardState(definition)), applied, parked };
  }

  function whole(name: string, shard: number, events: readonly RecordedEvent[]) {
    const definition = findProjection(name)!;
    const outcome = foldShard(definition, shard, initialShardState(definition), events);
    return { stateJson: canonicalJson(outcome.state), applied: outcome.applied, parked: outcome.parked.map((item) => item.position) };
  }

  const mergeable = projectionNames.filter((name) => findProjection(name)!.merge !== undefined);

  it('holds for every projection that declares merge, over seeded lab logs with poison events and any cuts (property)', () => {
    expect(mergeable).toEqual(['events-per-second-by-type', 'throughput-by-stream', 'debate-standings', 'agent-beliefs', 'slo-status']);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 6 }), (seed, cuts) => {
        const events = logOf(seed, 14, true);
        for (const name of mergeable) {
          for (let shard = 0; shard < shardCount(findProjection(name)!); shard++) expect(joined(name, shard, events, cuts), `${name} shard ${shard}`).toEqual(whole(name, shard, events));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('holds for throughput-by-stream when virtual time jumps back and forth between seconds (property)', () => {
    const event = fc.record({ stream: fc.constantFrom('order-1', 'order-2', 'order-3'), second: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 5 }), (specs, cuts) => {
        const events = specs.map((spec) => recorded('OrderPlaced', {}, spec.second * 1_000_000 + 1, spec.stream));
        for (let shard = 0; shard < 2; shard++) expect(joined('throughput-by-stream', shard, events, cuts)).toEqual(whole('throughput-by-stream', shard, events));
      }),
      { numRuns: 500 },
    );
  });

  it('agent-beliefs keeps the newest points and counts every one dropped across the cut', () => {
    const events = Array.from({ length: 2_600 }, (_, index) => recorded(labEventTypes.argumentMade, { debateId: 'd', agent: 'a', round: index, answer: 'yes', confidence: 0.5 }));
    for (const cut of [1, 700, 1_300, 2_000, 2_599]) expect(joined('agent-beliefs', shardOf('a', 2), events, [cut])).toEqual(whole('agent-beliefs', shardOf('a', 2), events));
    expect(JSON.parse(joined('agent-beliefs', shardOf('a', 2), events, [1_300]).stateJson).a.dropped).toBe(600);
  });

  it('a poison debate event leaves the standing untouched, so it parks the same in any range', () => {
    const definition = findProjection('debate-standings')!;
    const events = [
      recorded(labEventTypes.debateStarted, { debateId: 'd2', question: 'q', agents: ['a'], protocol: 'simultaneous' }),
      recorded(labEventTypes.debateStarted, { debateId: 'd2', question: 'changed?', agents: 'not a list', protocol: 'p' }),
      recorded(labEventTypes.consensusReached, { debateId: 'd2', round: 1 }),
    ];
    const outcome = replayProjection(definition, events);
    expect(outcome.parked.map((item) => item.position)).toEqual([events[1]!.position, events[2]!.position]);
    expect(JSON.parse(outcome.stateJson).d2).toMatchObject({ question: 'q', agents: ['a'], status: 'open', consensus: null, started: true });
    for (let cut = 0; cut <= events.length; cut++) expect(joined('debate-standings', shardOf('d2', 2), events, [cut])).toEqual(whole('debate-standings', shardOf('d2', 2), events));
  });
});
