/**
 * `npm run bench -- store [--events N] [--rounds R]`: the event store, side by side with a plain
 * better-sqlite3 prepared-insert loop writing the same rows, in the same run.
 *
 * Measures (medians over rounds, rotating which of the writers goes first):
 * - batched appends (appendBatch, 5,000 events per call, one event per append, 1,000 streams),
 *   with the chain linked in SQLite (the native library) and, side by side, in JavaScript;
 * - one-event appends through group commit (8 concurrent writers), with latency percentiles;
 * - read all (pages of 5,000; packed by SQLite, and side by side as rows through better-sqlite3)
 *   and full chain verification.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../src/core/events/event.ts';
import { asEventId, asStreamName, type StreamName } from '../../src/core/kernel/ids.ts';
import { createRandom } from '../../src/core/kernel/random.ts';
import { anyVersion, type StreamAppend } from '../../src/core/ports/event-store.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { createSchema, openDatabase } from '../../src/node/sqlite-schema.ts';
import { verifyEventLogParallel } from '../../src/node/verify-parallel.ts';
import { WalCheckpointer } from '../../src/node/wal-checkpointer.ts';
import { benchOptions, median, percentile, progress, report, round, target } from './harness.ts';

const options = benchOptions({ events: 300_000, rounds: 3, 'group-events': 100_000 });
const eventsPerRound = options.events;
const rounds = options.rounds;
const groupEvents = options['group-events'];
const streamCount = 1_000;
/** Clients appending one event at a time, each waiting for its acknowledgement before the next. */
const concurrentWriters = 8;
const batchEvents = 5_000;
const dir = mkdtempSync(join(tmpdir(), 'aura-bench-store-'));

/** ~300-byte order events, deterministic, with increasing ids like the run kernel's. */
function makeEvents(count: number, seed: number): { stream: StreamName; event: NewEvent }[] {
  const random = createRandom(seed);
  const out: { stream: StreamName; event: NewEvent }[] = [];
  for (let index = 0; index < count; index++) out.push(makeEvent(random, index));
  return out;
}

function makeEvent(random: ReturnType<typeof createRandom>, index: number): { stream: StreamName; event: NewEvent } {
  {
    const id = index.toString(16).padStart(16, '0') + random.nextUint32().toString(16).padStart(8, '0') + random.nextUint32().toString(16).padStart(8, '0');
    return {
      stream: asStreamName(`order-${random.int(0, streamCount - 1)}`),
      event: {
        id: asEventId(id),
        type: index % 3 === 0 ? 'OrderShipped' : 'OrderPlaced',
        schemaVersion: 1,
        payload: {
          orderNumber: 100_000 + index,
          customer: { id: `customer-${random.int(1, 50_000)}`, tier: ['gold', 'silver', 'bronze'][random.int(0, 2)] as string, region: 'eu-west' },
          items: [
            { sku: `sku-${random.int(1000, 9999)}`, quantity: random.int(1, 5), priceCents: random.int(100, 20_000) },
            { sku: `sku-${random.int(1000, 9999)}`, quantity: random.int(1, 5), priceCents: random.int(100, 20_000) },
          ],
          currency: 'EUR',
          channel: 'web',
          note: 'deliver between 9:00 and 17:00, ring twice',
        },
        metadata: { virtualTimeUs: index * 60 },
      },
    };
  }
}

function fresh(name: string): string {
  const path = join(dir, name);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  return path;
}

/**
 * Ours: appendBatch, 5,000 one-event appends per call. Each batch of events is made just before
 * it is appended, outside the timed section, so the heap stays small and only the store is
 * timed. `native`: rows linked and inserted in SQLite (the default when the library is built);
 * false: in JavaScript. Returns events/s and whether the native link ran.
 */
function appendBatched(count: number, seed: number, path: string, native: boolean): { rate: number; native: boolean } {
  const store = new SqliteEventStore(path, { backgroundCheckpoints: true, nativeAppends: native });
  const ran = store.nativeAppends;
  const random = createRandom(seed);
  let timedMs = 0;
  for (let start = 0; start < count; start += batchEvents) {
    const appends: StreamAppend[] = [];
    for (let index = start; index < Math.min(count, start + batchEvents); index++) {
      const item = makeEvent(random, index);
      appends.push({ stream: item.stream, events: [item.event], expected: anyVersion });
    }
    const begin = performance.now();
    store.appendBatch(appends);
    timedMs += performance.now() - begin;
  }
  store.close();
  return { rate: count / (timedMs / 1000), native: ran };
}

/**
 * The baseline: a plain better-sqlite3 loop writing the same rows from the same events, the way
 * one would without a store: one prepared INSERT per event in 5,000-row transactions, the payload
 * serialised with JSON.stringify and the id converted to bytes in the loop. It has no validation,
 * no hash chain (a constant 32 bytes fill the hash column), no stream index and no bookkeeping:
 * the ratio is the price of those. Stream ids and versions are prepared outside the timed section.
 */
function baselineInsertLoop(count: number, seed: number, path: string): number {
  const db = openDatabase(path, { backgroundCheckpoints: true });
  createSchema(db);
  const checkpointer = new WalCheckpointer(path);
  const random = createRandom(seed);
  const streamIds = new Map<string, number>();
  const versions = new Map<string, number>();
  const insertStream = db.prepare('INSERT INTO streams (name, category, version) VALUES (?, ?, 0)');
  db.prepare("INSERT INTO event_types (type_id, name) VALUES (1, 'OrderPlaced'), (2, 'OrderShipped')").run();
  const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const placeholderHash = Buffer.alloc(32, 7);
  let timedMs = 0;
  for (let start = 0; start < count; start += batchEvents) {
    const batch: { event: NewEvent; streamId: number; version: number }[] = [];
    for (let index = start; index < Math.min(count, start + batchEvents); index++) {
      const item = makeEvent(random, index);
      let streamId = streamIds.get(item.stream);
      if (streamId === undefined) {
        streamId = Number(insertStream.run(item.stream, 'order').lastInsertRowid);
        streamIds.set(item.stream, streamId);
      }
      const version = (versions.get(item.stream) ?? 0) + 1;
      versions.set(item.stream, version);
      batch.push({ event: item.event, streamId, version });
    }
    const firstPosition = start + 1;
    const begin = performance.now();
    db.transaction(() => {
      for (let index = 0; index < batch.length; index++) {
        const { event, streamId, version } = batch[index]!;
        insert.run(firstPosition + index, streamId, version, Buffer.from(event.id, 'hex'), event.type === 'OrderPlaced' ? 1 : 2, event.schemaVersion, JSON.stringify(event.payload), event.metadata.virtualTimeUs, null, null, placeholderHash);
      }
    })();
    timedMs += performance.now() - begin;
  }
  checkpointer.stop();
  db.close();
  return count / (timedMs / 1000);
}

/**
 * One-event appends from 8 concurrent writers through group commit. Each writer makes its
 * event just before appending it, as a client would: nothing large stays on the heap, so GC
 * pauses are the store's own, not the benchmark's.
 */
async function groupCommit(count: number, path: string): Promise<{ rate: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const store = new SqliteEventStore(path, { backgroundCheckpoints: true });
  const latencies = new Float64Array(count);
  const random = createRandom(7);
  let next = 0;
  const writers = concurrentWriters;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < count) {
        const index = next++;
        const item = makeEvent(random, index);
        const begin = performance.now();
        await store.append(item.stream, [item.event], anyVersion);
        latencies[index] = performance.now() - begin;
      }
    }),
  );
  const rate = count / ((performance.now() - started) / 1000);
  store.close();
  latencies.sort();
  return { rate, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies[latencies.length - 1] ?? 0 };
}

/** Events/s reading the whole log in pages; `native`: packed pages (the default), false: rows through better-sqlite3. */
function readAll(path: string, native: boolean): number {
  const store = new SqliteEventStore(path, { nativeReads: native });
  if (native && !store.nativeReads) throw new Error('packed reads are not there: is the native library built?');
  const started = performance.now();
  let position = 1;
  let count = 0;
  for (;;) {
    const page = store.readAll(position, batchEvents);
    if (page.length === 0) break;
    count += page.length;
    position = page[page.length - 1]!.position + 1;
  }
  const rate = count / ((performance.now() - started) / 1000);
  store.close();
  return rate;
}

/** Events per second, and how the chain was checked (the report says). */
async function verify(path: string, native: boolean): Promise<{ rate: number; chainCheck: string }> {
  // As `aura-lab verify` runs it: the calling thread checks slices too.
  const result = await verifyEventLogParallel(path, { native, onCallerThread: true });
  if (!result.ok) throw new Error(`benchmark log failed verification: ${JSON.stringify(result.problems[0])}`);
  return { rate: result.events / (result.wallMs / 1000), chainCheck: result.chainCheck };
}

async function main(): Promise<void> {
  const sample = makeEvents(1_000, 1);
  const bytes = sample.reduce((sum, item) => sum + JSON.stringify(item.event.payload).length, 0) / 1000;
  const ours: number[] = [];
  const oursJs: number[] = [];
  const nativeAppends: boolean[] = [];
  const baseline: number[] = [];
  const reads: number[] = [];
  const readsSql: number[] = [];
  const verifies: number[] = [];
  const verifiesJs: number[] = [];
  const nativeChecks: boolean[] = [];
  const groups: Awaited<ReturnType<typeof groupCommit>>[] = [];
  const tick = progress('store benchmark');
  const steps = rounds * 8;
  let done = 0;
  const writes: (() => void)[] = [
    () => {
      const { rate, native } = appendBatched(eventsPerRound, 1, fresh('ours.sqlite'), true);
      ours.push(rate);
      nativeAppends.push(native);
    },
    () => baseline.push(baselineInsertLoop(eventsPerRound, 1, fresh('baseline.sqlite'))),
    () => oursJs.push(appendBatched(eventsPerRound, 1, fresh('ours-javascript.sqlite'), false).rate),
  ];
  for (let round_ = 0; round_ < rounds; round_++) {
    // Rotate which goes first, so that none always runs on a warmer machine.
    for (let index = 0; index < writes.length; index++) {
      (writes[(round_ + index) % writes.length] as () => void)();
      tick(++done, steps);
    }
    // The same reads as rows through better-sqlite3, alternating which goes first.
    for (const native of round_ % 2 === 0 ? [true, false] : [false, true]) {
      (native ? reads : readsSql).push(readAll(join(dir, 'ours.sqlite'), native));
      tick(++done, steps);
    }
    // The same verification with its chain check in JavaScript, alternating which goes first.
    for (const native of round_ % 2 === 0 ? [true, false] : [false, true]) {
      const { rate, chainCheck } = await verify(join(dir, 'ours.sqlite'), native);
      (native ? verifies : verifiesJs).push(rate);
      if (native) nativeChecks.push(chainCheck === 'native');
      tick(++done, steps);
    }
    groups.push(await groupCommit(groupEvents, fresh('group.sqlite')));
    tick(++done, steps);
  }
  rmSync(dir, { recursive: true, force: true });
  const batched = median(ours);
  const plain = median(baseline);
  const group = { rate: median(groups.map((g) => g.rate)), p50Ms: median(groups.map((g) => g.p50Ms)), p99Ms: median(groups.map((g) => g.p99Ms)), maxMs: median(groups.map((g) => g.maxMs)) };
  report(
    'store',
    {
      parameters: { eventsPerRound, rounds, groupCommitEvents: groupEvents, streams: streamCount, batchEvents, payloadBytesMean: round(bytes), concurrentWriters },
      results: {
        batchedAppendsPerSecond: round(batched),
        baselineInsertLoopPerSecond: round(plain),
        batchedToBaselineRatio: round(batched / plain, 2),
        batchedNativeLink: nativeAppends.every((used) => used),
        batchedJavaScriptLinkPerSecond: round(median(oursJs)),
        batchedNativeToJavaScriptRatio: round(batched / median(oursJs), 2),
        groupCommitAppendsPerSecond: round(group.rate),
        groupCommitLatencyMs: { p50: round(group.p50Ms, 3), p99: round(group.p99Ms, 3), max: round(group.maxMs, 3) },
        readAllEventsPerSecond: round(median(reads)),
        readAllSqlRowsEventsPerSecond: round(median(readsSql)),
        readAllPackedToSqlRowsRatio: round(median(reads) / median(readsSql), 2),
        verifyEventsPerSecond: round(median(verifies)),
        verifyNativeChainCheck: nativeChecks.every((used) => used),
        verifyJavaScriptChainCheckEventsPerSecond: round(median(verifiesJs)),
        verifyNativeToJavaScriptRatio: round(median(verifies) / median(verifiesJs), 2),
        rounds: { batched: ours.map((value) => round(value)), batchedJavaScript: oursJs.map((value) => round(value)), baseline: baseline.map((value) => round(value)), readAll: reads.map((value) => round(value)), readAllSqlRows: readsSql.map((value) => round(value)), verify: verifies.map((value) => round(value)), verifyJavaScript: verifiesJs.map((value) => round(value)) },
      },
    },
    [
      target('batched appends', round(batched), '>=', 150_000, 'events/s', `at this run's ratio to the plain insert loop (${round(batched / plain, 2)}), 150,000 needs a machine where that loop runs ${round(150_000 / (batched / plain)).toLocaleString('en')} rows/s; here it ran ${round(plain).toLocaleString('en')}`),
      target('batched appends / baseline insert loop', round(batched / plain, 2), '>=', 0.6, 'ratio'),
      target('one-event appends through group commit', round(group.rate), '>=', 20_000, 'events/s'),
      target('group commit p99 latency', round(group.p99Ms, 3), '<=', 2, 'ms'),
      target('read all', round(median(reads)), '>=', 500_000, 'events/s'),
      target('full chain verification', round(median(verifies)), '>=', 500_000, 'events/s'),
    ],
  );
}

await main();
