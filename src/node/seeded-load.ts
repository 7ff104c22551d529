/**
 * Deterministic load: batches of events made from a seed and a batch number, so whoever
 * appended them (a load writer killed mid-run, a drill, a trial) can rebuild exactly what was
 * appended and compare it with what survived.
 */
import { asEventId, asStreamName } from '../core/kernel/ids.ts';
import { createRandom } from '../core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../core/ports/event-store.ts';
import type { SqliteEventStore } from './sqlite-event-store.ts';

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
