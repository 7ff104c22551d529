/**
 * The event log browser's API (runs.history, events.read, events.facets, events.verify), driven
 * through the engine supervisor like any client, and checked against SQL on the run's file.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairEventLog } from '../../src/node/repair.ts';
import type { EventFilter, RunSummary, Verification } from '../../src/shared/api.ts';
import { rejection, startEngine, type EngineHarness } from '../support/engine.ts';
import { temporaryDirectory, tinyScenarioText } from '../support/fixtures.ts';
import { countEvents, dumpEvents } from '../support/run-dir.ts';

let engine: EngineHarness;
const scenarios = temporaryDirectory('aura-lab-event-api-');
const scenarioFile = join(scenarios.path, 'browse.yaml');
let run: RunSummary;

beforeAll(async () => {
  // 20 s: 1,000 order events over 3 streams, 140 payments on 1 stream, and 2 lifecycle events.
  writeFileSync(scenarioFile, tinyScenarioText({ name: 'browse', seconds: 20, perSecond: 50 }));
  engine = await startEngine();
  const started = await engine.client.request('run.start', { scenario: scenarioFile, speed: 'max' });
  run = await engine.waitForRun(started.runId);
});

afterAll(async () => {
  await engine?.close();
  scenarios.remove();
});

/** Runs a query on a run's file, read-only. */
function sql<T>(outDir: string, query: string, ...params: unknown[]): T[] {
  const db = new Database(join(outDir, 'events.sqlite'), { readonly: true });
  try {
    return db.prepare(query).all(...params) as T[];
  } finally {
    db.close();
  }
}

function matchingPositions(outDir: string, where: string, ...params: unknown[]): number[] {
  return sql<{ position: number }>(outDir, `SELECT e.position FROM events e JOIN streams s USING (stream_id) JOIN event_types t USING (type_id) WHERE ${where} ORDER BY e.position`, ...params).map(
    (row) => row.position,
  );
}

/** Every position of a filtered read, paged by position the way the browser scrolls. */
async function pageByPosition(runId: string, filter: EventFilter, limit: number): Promise<{ positions: number[]; total: number }> {
  const positions: number[] = [];
  let from = 1;
  let total = -1;
  for (;;) {
    const page = await engine.client.request('events.read', { runId, fromPosition: from, limit, filter });
    total = page.total;
    positions.push(...page.events.map((event) => event.position));
    if (page.events.length < limit) return { positions, total };
    from = page.events.at(-1)!.position + 1;
  }
}

/** The first finished verification of a run pushed after message `since`; it must be in `state`. */
async function verification(runId: string, state: Verification['state'], since = 0, timeoutMs = 30_000): Promise<Verification> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = engine.received.slice(since).find((message) => message.type === 'push' && message.topic === 'events.verified' && message.data.runId === runId && message.data.state !== 'running');
    if (found?.type === 'push' && found.topic === 'events.verified') {
      expect(found.data.state).toBe(state);
      return found.data;
    }
    if (Date.now() > deadline) throw new Error(`no verification result for ${runId} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('event log browser API', () => {
  it('lists the run in runs.history with the counts of its log', async () => {
    expect(run.status).toBe('completed');
    const { runs } = await engine.client.request('runs.history', {});
    const entry = runs.find((candidate) => candidate.runId === run.runId);
    expect(entry).toEqual({
      runId: run.runId,
      scenario: 'browse',
      seed: 7,
      status: 'completed',
      outDir: run.outDir,
      events: countEvents(run.outDir),
      headPosition: run.headPosition,
      headHash: run.headHash,
      live: false,
    });
    expect(entry?.events).toBe(1142);
  });

  it('reads pages by offset and by position, row for row as stored', async () => {
    const stored = dumpEvents(run.outDir) as { position: number; stream: string; version: number; id: string; type: string; schema_version: number; payload: string; virtual_time_us: number }[];
    const first = await engine.client.request('events.read', { runId: run.runId, limit: 100 });
    expect(first.total).toBe(1142);
    expect(first.headPosition).toBe(1142);
    expect(first.offset).toBe(0);
    expect(first.events.map((event) => event.position)).toEqual(stored.slice(0, 100).map((row) => row.position));
    for (const [index, event] of first.events.entries()) {
      const row = stored[index]!;
      expect(event).toEqual({
        position: row.position,
        stream: row.stream,
        version: row.version,
        id: row.id.toLowerCase(),
        type: row.type,
        schemaVersion: row.schema_version,
        virtualTimeUs: row.virtual_time_us,
        payload: JSON.parse(row.payload) as unknown,
      });
    }
    // Without a filter, offset k is position k + 1; the last page is short.
    const tail = await engine.client.request('events.read', { runId: run.runId, offset: 1000, limit: 500 });
    expect(tail.events.map((event) => event.position)).toEqual(Array.from({ length: 142 }, (_, index) => 1001 + index));
    expect(tail.offset).toBe(1000);
    const byPosition = await engine.client.request('events.read', { runId: run.runId, fromPosition: 50, limit: 10 });
    expect(byPosition.events.map((event) => event.position)).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
    expect(byPosition.offset).toBe(49);
    const past = await engine.client.request('events.read', { runId: run.runId, offset: 5000, limit: 10 });
    expect(past).toMatchObject({ events: [], total: 1142 });
  });

  it('filters by type, stream and category with totals equal to SQL counts; position paging and offset jumps agree', async () => {
    const shipped = matchingPositions(run.outDir, 't.name = ?', 'OrderShipped');
    expect(shipped.length).toBeGreaterThan(100);
    const paged = await pageByPosition(run.runId, { types: ['OrderShipped'] }, 37);
    expect(paged.positions).toEqual(shipped);
    expect(paged.total).toBe(shipped.length);
    // A jump by offset lands where paging by position got to.
    const jump = await engine.client.request('events.read', { runId: run.runId, offset: 40, limit: 5, filter: { types: ['OrderShipped'] } });
    expect(jump.events.map((event) => event.position)).toEqual(shipped.slice(40, 45));
    expect(jump.events.every((event) => event.type === 'OrderShipped')).toBe(true);
    expect(jump.offset).toBe(40);
    // A filtered read by position says where it is only when asked to (it costs a scan).
    const unlocated = await engine.client.request('events.read', { runId: run.runId, fromPosition: shipped[40]!, limit: 1, filter: { types: ['OrderShipped'] } });
    expect(unlocated.offset).toBeNull();
    const located = await engine.client.request('events.read', { runId: run.runId, fromPosition: shipped[40]!, limit: 1, filter: { types: ['OrderShipped'] }, locate: true });
    expect(located.offset).toBe(40);

    const cases: [EventFilter, string, unknown[]][] = [
      [{ category: 'payment' }, 's.category = ?', ['payment']],
      [{ streams: ['order-1'] }, 's.name = ?', ['order-1']],
      [{ types: ['OrderPlaced', 'PaymentCaptured'] }, 't.name IN (?, ?)', ['OrderPlaced', 'PaymentCaptured']],
      [{ types: ['OrderPlaced'], category: 'order', streams: ['order-0', 'order-2'] }, "t.name = ? AND s.category = ? AND s.name IN ('order-0', 'order-2')", ['OrderPlaced', 'order']],
    ];
    for (const [filter, where, params] of cases) {
      const expected = matchingPositions(run.outDir, where, ...params);
      const page = await engine.client.request('events.read', { runId: run.runId, limit: 500, filter });
      expect(page.total, JSON.stringify(filter)).toBe(expected.length);
      expect(page.events.map((event) => event.position)).toEqual(expected.slice(0, 500));
    }
    expect((await engine.client.request('events.read', { runId: run.runId, limit: 500, filter: { category: 'payment' } })).total).toBe(140);
    // A type the log does not have matches nothing.
    expect(await engine.client.request('events.read', { runId: run.runId, limit: 10, filter: { types: ['NoSuchType'] } })).toEqual({ events: [], total: 0, offset: 0, headPosition: 1142 });
  });

  it('gives facets for the filter controls, equal to SQL counts', async () => {
    const facets = await engine.client.request('events.facets', { runId: run.runId });
    const byType = sql<{ name: string; count: number }>(run.outDir, 'SELECT t.name, COUNT(*) AS count FROM events JOIN event_types t USING (type_id) GROUP BY t.name ORDER BY t.name');
    expect(facets.types).toEqual(byType);
    expect(facets.types.map((type) => type.name)).toEqual(['OrderPlaced', 'OrderShipped', 'PaymentCaptured', 'RunCompleted', 'RunStarted']);
    expect(facets.categories).toEqual([
      { name: '$run', count: 2 },
      { name: 'order', count: 1000 },
      { name: 'payment', count: 140 },
    ]);
    expect(facets.streams).toBe(5);
    expect(facets.headPosition).toBe(1142);
  });

  it('answers malformed params and unknown runs with typed errors', async () => {
    const runId = run.runId;
    const invalid: [string, Promise<unknown>][] = [
      ['limit over 500', engine.client.request('events.read', { runId, limit: 501 })],
      ['limit 0', engine.client.request('events.read', { runId, limit: 0 })],
      ['no limit', engine.client.request('events.read', { runId } as never)],
      ['negative offset', engine.client.request('events.read', { runId, offset: -1, limit: 10 })],
      ['position 0', engine.client.request('events.read', { runId, fromPosition: 0, limit: 10 })],
      ['both offset and position', engine.client.request('events.read', { runId, fromPosition: 3, offset: 2, limit: 10 })],
      ['unknown filter field', engine.client.request('events.read', { runId, limit: 10, filter: { kind: 'x' } as never })],
      ['types not a list', engine.client.request('events.read', { runId, limit: 10, filter: { types: 'OrderPlaced' } as never })],
      ['extra field', engine.client.request('events.facets', { runId, extra: 1 } as never)],
      ['path as run id', engine.client.request('events.verify', { runId: '../../etc' })],
      ['params on runs.history', engine.client.request('runs.history', { all: true } as never)],
    ];
    for (const [what, request] of invalid) {
      const error = await rejection(request);
      expect(error.code, what).toBe('validation');
    }
    const both = await rejection(engine.client.request('events.read', { runId, fromPosition: 3, offset: 2, limit: 10 }));
    expect(both.issues[0]).toMatchObject({ path: ['offset'], message: 'give fromPosition or offset, not both' });
    for (const request of [
      engine.client.request('events.read', { runId: 'no-such-run', limit: 10 }),
      engine.client.request('events.facets', { runId: 'no-such-run' }),
      engine.client.request('events.verify', { runId: 'no-such-run' }),
    ]) {
      const error = await rejection(request);
      expect(error.code).toBe('not_found');
      expect(error.message).toMatch(/no run no-such-run/);
    }
  });

  it('verifies a good run on a worker thread and pushes progress and "intact"', async () => {
    const started = await engine.client.request('events.verify', { runId: run.runId });
    expect(started).toMatchObject({ runId: run.runId, state: 'running', checked: 0, total: 1142 });
    const result = await verification(run.runId, 'intact');
    expect(result).toMatchObject({ checked: 1142, total: 1142, firstBadPosition: null, problems: [] });
    expect(result.wallMs).toBeGreaterThanOrEqual(0);
    // The engine answered while it verified, and answers after.
    expect((await engine.client.request('events.read', { runId: run.runId, limit: 1 })).total).toBe(1142);
  });

  it('finds a changed payload byte in a copy of a closed run: "damaged" at that position', async () => {
    // A copy of the finished (rollback-journal) file, as another run under the data directory.
    const copyId = 'damaged-copy';
    const copyDir = join(engine.dataDir, 'runs', copyId);
    mkdirSync(copyDir, { recursive: true });
    expect(existsSync(join(run.outDir, 'events.sqlite-wal'))).toBe(false);
    copyFileSync(join(run.outDir, 'events.sqlite'), join(copyDir, 'events.sqlite'));
    const manifest = JSON.parse(readFileSync(join(run.outDir, 'manifest.json'), 'utf8')) as { runId: string };
    writeFileSync(join(copyDir, 'manifest.json'), JSON.stringify({ ...manifest, runId: copyId }));
    const db = new Database(join(copyDir, 'events.sqlite'));
    const original = (db.prepare('SELECT payload FROM events WHERE position = 777').get() as { payload: string }).payload;
    // One byte: a digit, or else the last letter of the last string value, replaced by another of
    // its kind, so the JSON stays valid; two bits or more change (a repair puts back a single
    // flipped bit by the event's hash).
    const digit = original.search(/[0-9]/);
    const at = digit >= 0 ? digit : original.lastIndexOf('"') - 1;
    const byte = original[at]!;
    const replacement = digit >= 0 ? String((Number(byte) + 5) % 10) : String.fromCharCode(byte.charCodeAt(0) ^ 3);
    const changed = original.slice(0, at) + replacement + original.slice(at + 1);
    expect(changed.length).toBe(original.length);
    expect(changed).not.toBe(original);
    db.prepare('UPDATE events SET payload = ? WHERE position = 777').run(changed);
    // And a later payload that is no longer JSON at all: the browser still shows it.
    db.prepare(`UPDATE events SET payload = substr(payload, 1, length(payload) - 1) WHERE position = 900`).run();
    db.close();

    const { runs } = await engine.client.request('runs.history', {});
    expect(runs.find((entry) => entry.runId === copyId)).toMatchObject({ status: 'completed', events: 1142, outDir: copyDir, live: false });
    const read = await engine.client.request('events.read', { runId: copyId, fromPosition: 777, limit: 1 });
    expect(read.events[0]?.payload).toEqual(JSON.parse(changed));
    const broken = await engine.client.request('events.read', { runId: copyId, fromPosition: 900, limit: 1 });
    expect(broken.events[0]?.payloadError).toMatch(/not valid JSON/);
    expect(typeof broken.events[0]?.payload).toBe('string');

    await engine.client.request('events.verify', { runId: copyId });
    const result = await verification(copyId, 'damaged');
    expect(result.firstBadPosition).toBe(777);
    expect(result.problems.map((problem) => problem.position)).toEqual(expect.arrayContaining([777, 900]));
    expect(result.problems[0]).toMatchObject({ position: 777, kind: 'chain' });
    expect(result.declaredLost).toBe(0);
    // Repaired (no backup: both events lost), the log verifies but for them: "lost", not "damaged".
    const repaired = await repairEventLog(join(copyDir, 'events.sqlite'), { backupsDir: join(copyDir, 'backups'), nowMs: 1 });
    expect(repaired.lostPositions).toEqual([777, 900]);
    const sinceRepair = engine.received.length;
    await engine.client.request('events.verify', { runId: copyId });
    const afterRepair = await verification(copyId, 'lost', sinceRepair);
    expect(afterRepair).toMatchObject({ checked: 1142, firstBadPosition: 777, declaredLost: 2 });
    expect(afterRepair.problems.map((problem) => [problem.position, problem.kind])).toEqual([[777, 'lost'], [900, 'lost']]);
    // Damage after the declared losses: the first bad position is the damage's, the losses listed after it.
    const again = new Database(join(copyDir, 'events.sqlite'));
    again.prepare(`UPDATE events SET payload = substr(payload, 1, length(payload) - 1) WHERE position = 1000`).run();
    again.close();
    const sinceDamage = engine.received.length;
    await engine.client.request('events.verify', { runId: copyId });
    const damagedAgain = await verification(copyId, 'damaged', sinceDamage);
    expect(damagedAgain).toMatchObject({ firstBadPosition: 1000, declaredLost: 2 });
    expect(damagedAgain.problems.map((problem) => [problem.position, problem.kind])).toEqual([[1000, 'chain'], [777, 'lost'], [900, 'lost']]);
    // The original is untouched.
    const since = engine.received.length;
    await engine.client.request('events.verify', { runId: run.runId });
    expect((await verification(run.runId, 'intact', since)).checked).toBe(1142);
  });

  it('calls a log that ends before its head record says damaged, at the first position it lacks', async () => {
    // Every event of the copy links; its head record says 58 more were acknowledged.
    const copyId = 'short-copy';
    const copyDir = join(engine.dataDir, 'runs', copyId);
    mkdirSync(copyDir, { recursive: true });
    copyFileSync(join(run.outDir, 'events.sqlite'), join(copyDir, 'events.sqlite'));
    const manifest = JSON.parse(readFileSync(join(run.outDir, 'manifest.json'), 'utf8')) as { runId: string };
    writeFileSync(join(copyDir, 'manifest.json'), JSON.stringify({ ...manifest, runId: copyId }));
    writeFileSync(join(copyDir, 'head.json'), JSON.stringify({ headPosition: 1_200, headHash: 'cd'.repeat(32) }));
    await engine.client.request('events.verify', { runId: copyId });
    const result = await verification(copyId, 'damaged');
    expect(result).toMatchObject({ checked: 1142, firstBadPosition: 1143, declaredLost: 0 });
    expect(result.problems).toEqual([{ position: 1143, kind: 'head', detail: 'the head record says the log reached 1200 (cdcdcdcdcdcd…), the file ends at 1142: positions 1143-1200 were acknowledged and not in it' }]);
  });

  it('browses a live run as it grows, refuses to verify it, and leaves the finished file self-contained', async () => {
    const started = await engine.client.request('run.start', { scenario: scenarioFile, speed: 2, seed: 11 });
    const grown = async (above: number): Promise<number> => {
      for (;;) {
        const page = await engine.client.request('events.read', { runId: started.runId, limit: 500, filter: { category: 'order' } });
        if (page.total > above) return page.total;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const first = await grown(0);
    const second = await grown(first);
    expect(second).toBeGreaterThan(first);
    const live = (await engine.client.request('runs.history', {})).runs.find((entry) => entry.runId === started.runId);
    expect(live).toMatchObject({ status: 'running', live: true });
    // Newest first: the live run leads the list.
    expect((await engine.client.request('runs.history', {})).runs[0]?.runId).toBe(started.runId);
    expect((await rejection(engine.client.request('events.verify', { runId: started.runId }))).code).toBe('conflict');
    const facets = await engine.client.request('events.facets', { runId: started.runId });
    expect(facets.types.reduce((sum, type) => sum + type.count, 0)).toBe(facets.headPosition);

    const stopped = await engine.client.request('run.stop', { runId: started.runId });
    expect(stopped.status).toBe('stopped');
    // No reader kept the file open: the writer switched it back to a rollback journal.
    expect(existsSync(join(stopped.outDir, 'events.sqlite-wal'))).toBe(false);
    expect(sql<{ journal_mode: string }>(stopped.outDir, 'PRAGMA journal_mode')[0]?.journal_mode).toBe('delete');
    const after = await engine.client.request('events.read', { runId: started.runId, limit: 10, filter: { category: 'order' } });
    expect(after.total).toBe(matchingPositions(stopped.outDir, 's.category = ?', 'order').length);
    expect((await engine.client.request('runs.history', {})).runs.find((entry) => entry.runId === started.runId)).toMatchObject({ status: 'stopped', live: false, events: countEvents(stopped.outDir) });
  });
});
