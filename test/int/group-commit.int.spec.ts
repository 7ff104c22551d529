/**
 * Group commit must answer every append as if it had been appended alone, in arrival order:
 * appends arriving together share one transaction, refused appends (a wrong expected version, a
 * reused id with other content) and appends whose write fails fail alone, and a re-sent append
 * gets its original positions. The oracle: the same appends, one batch each, on a second store.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/core/events/event.ts';
import { asEventId, asStreamName, type StreamName } from '../../src/core/kernel/ids.ts';
import { createRandom, type Random } from '../../src/core/kernel/random.ts';
import { anyVersion, type ExpectedVersion } from '../../src/core/ports/event-store.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-group-commit-');
afterAll(() => work.remove());

interface Planned {
  readonly stream: StreamName;
  readonly events: NewEvent[];
  readonly expected: ExpectedVersion;
}

/** Appends whose payload says so fail in the database, once the row is in (after the unique id check, as a full disk would). */
function withFailingWrites(store: SqliteEventStore): SqliteEventStore {
  store.db.exec(`CREATE TRIGGER fail_marked AFTER INSERT ON events WHEN NEW.payload LIKE '%"failWrite":true%' BEGIN SELECT RAISE(ABORT, 'marked to fail'); END`);
  return store;
}

function plan(random: Random): Planned[] {
  const out: Planned[] = [];
  let sequence = 0;
  const event = (payload: NewEvent['payload']): NewEvent => ({ id: asEventId((sequence++).toString(16).padStart(32, '0')), type: random.int(0, 1) === 0 ? 'A' : 'B', schemaVersion: 1, payload, metadata: { virtualTimeUs: sequence } });
  for (let index = random.int(1, 30); index > 0; index--) {
    const stream = asStreamName(`s-${random.int(1, 8)}`);
    const roll = random.int(0, 9);
    if (roll === 0 && out.length > 0) {
      out.push(out[random.int(0, out.length - 1)] as Planned); // re-sent as it was
    } else if (roll === 1 && out.length > 0) {
      const earlier = out[random.int(0, out.length - 1)] as Planned;
      out.push({ ...earlier, events: earlier.events.map((item) => ({ ...item, payload: { changed: true } })) });
    } else {
      const events = Array.from({ length: random.int(1, 3) }, (_, at) => event({ index, at }));
      if (roll === 2) events[events.length - 1] = event({ failWrite: true });
      const expected: ExpectedVersion = roll === 3 ? { kind: 'no_stream' } : roll === 4 ? { kind: 'exact', version: random.int(0, 4) } : anyVersion;
      out.push({ stream, events, expected });
    }
  }
  return out;
}

function describeOutcome(outcome: PromiseSettledResult<unknown>): unknown {
  return outcome.status === 'fulfilled' ? outcome.value : { code: (outcome.reason as { code?: string }).code };
}

function rows(store: SqliteEventStore): unknown[] {
  const events = store.db.prepare('SELECT position, stream_id, version, hex(id), type_id, payload, hex(hash) FROM events ORDER BY position').raw().all();
  const streams = store.db.prepare('SELECT name, version FROM streams ORDER BY name').raw().all();
  return [...events, ...streams];
}

describe('group commit', () => {
  it('answers each append of a group as if it were appended alone, in order (property)', async () => {
    let run = 0;
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), async (seed) => {
        run += 1;
        const appends = plan(createRandom(seed));
        const grouped = withFailingWrites(new SqliteEventStore(join(work.path, `grouped-${run}.sqlite`)));
        const alone = withFailingWrites(new SqliteEventStore(join(work.path, `alone-${run}.sqlite`)));
        try {
          // Issued in one tick: one group commit.
          const together = await Promise.allSettled(appends.map((item) => grouped.append(item.stream, item.events, item.expected)));
          const expected: PromiseSettledResult<unknown>[] = [];
          for (const item of appends) {
            try {
              expected.push({ status: 'fulfilled', value: alone.appendBatch([item])[0] });
            } catch (error) {
              expected.push({ status: 'rejected', reason: error });
            }
          }
          failures += expected.filter((outcome) => outcome.status === 'rejected').length;
          expect(together.map(describeOutcome), `seed ${seed}`).toEqual(expected.map(describeOutcome));
          // The writers' caches (head, last hash, stream versions) agree too: one more append each.
          const next = { stream: asStreamName('s-1'), events: [{ id: asEventId('f'.repeat(32)), type: 'A', schemaVersion: 1, payload: { last: true }, metadata: { virtualTimeUs: 0 } }], expected: anyVersion };
          expect(await grouped.append(next.stream, next.events, next.expected)).toEqual(alone.appendBatch([next])[0]);
          expect(rows(grouped), `seed ${seed}`).toEqual(rows(alone));
        } finally {
          grouped.close();
          alone.close();
        }
      }),
      // 396708: a reused id whose write would fail (the conflict must win, as it does alone).
      { numRuns: 40, examples: [[396708]] },
    );
    expect(failures).toBeGreaterThan(0);
  });
});
