import { asEventId, asStreamName } from '../../src/core/kernel/ids.ts';
import { createRandom } from '../../src/core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../../src/core/ports/event-store.ts';
import type { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';

/** Deterministic batches of events (seeded), so a test can rebuild exactly what was appended. */
export function seededBatch(seed: number, batchIndex: number, size: number, streams = 40): StreamAppend[] {
  const random = createRandom(seed).split(`batch-${batchIndex}`);
  return Array.from({ length: size }, (_, index) => {
    const sequence = batchIndex * size + index;
    return {
      stream: asStreamName(`order-${random.int(0, streams - 1)}`),
      events: [
        {
          id: asEventId(sequence.toString(16).padStart(16, '0') + random.nextUint32().toString(16).padStart(8, '0') + random.nextUint32().toString(16).padStart(8, '0')),
          type: random.int(0, 2) === 0 ? 'OrderShipped' : 'OrderPlaced',
          schemaVersion: 1,
          payload: { sequence, amount: random.int(1, 10_000), note: 'x'.repeat(random.int(20, 200)) },
          metadata: { virtualTimeUs: sequence * 1_000 },
        },
      ],
      expected: anyVersion,
    };
  });
}

export function appendSeeded(store: SqliteEventStore, seed: number, batches: number, size: number, firstBatch = 0): void {
  for (let batch = firstBatch; batch < firstBatch + batches; batch++) store.appendBatch(seededBatch(seed, batch, size));
}
