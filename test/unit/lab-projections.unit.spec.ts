import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/events/event.ts';
import { labEventTypes } from '../../src/core/events/lab-events.ts';
import { canonicalJson, type JsonValue } from '../../src/core/kernel/canonical.ts';
import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { foldShard, initialShardState, mayConcern, mergeShards, replayProjection, shardCount, shardOf } from '../../src/core/projections/projection.ts';
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
      d1: { question: 'incident?', agents: ['a', 'b', 'c'], protocol: 'simultaneous', rounds: { '1': { yes: 1, no: 1 }, '2': { yes: 1 } }, status: 'consensus', consensus: { answer: 'yes', round: 2 } },
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
