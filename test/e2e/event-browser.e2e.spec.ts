/**
 * The event log browser in Chromium against `aura-lab serve`: a run of 1,000,002 events,
 * browsed, filtered, inspected and verified through the UI, and checked against SQL on its file.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairEventLog } from '../../src/node/repair.ts';
import { openBrowserSession, screenshotsDir as screenshots, type BrowserSession } from '../support/browser.ts';

/** Rows the DOM may hold at most: the list is virtualized. */
const domRowsMax = 150;
let session: BrowserSession;
let page: Page;
let outDir: string;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-events-', { width: 1280, height: 900 });
  page = session.page;
});

afterAll(async () => {
  await session?.close();
});

function query<T>(runDir: string, sql: string, ...params: unknown[]): T {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).get(...params) as T;
  } finally {
    db.close();
  }
}

const domRows = (): Promise<number> => page.locator('[data-testid="event-row"], [data-testid="event-row-pending"]').count();
const total = async (): Promise<number> => Number(await page.getByTestId('event-total').getAttribute('data-total'));
const shownPositions = (): Promise<number[]> => page.getByTestId('event-row').evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-position'))));

/** Waits until every row in view has been fetched. */
async function rowsLoaded(): Promise<void> {
  await page.getByTestId('event-row').first().waitFor({ timeout: 15_000 });
  await expect.poll(() => page.getByTestId('event-row-pending').count(), { timeout: 15_000 }).toBe(0);
}

async function startRun(scenario: string, speed: string): Promise<string> {
  await page.getByTestId('tab-run').click();
  await page.getByTestId(`scenario-${scenario}`).click();
  await page.getByTestId('speed-select').selectOption(speed);
  await page.getByTestId('start-run').click();
  await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 10_000 }).toBe('running');
  await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 60_000 }).toBe('completed');
  return (await page.getByTestId('run-out-dir').textContent())!;
}

describe('event log browser', () => {
  it('browses a run of a million events: virtualized, jumps, filters, inspects and verifies it', async () => {
    await page.goto(session.serve.url);
    await expect.poll(() => page.getByTestId('engine-status').getAttribute('data-state'), { timeout: 20_000 }).toBe('ready');
    outDir = await startRun('million', 'max');
    const head = query<{ head: number }>(outDir, 'SELECT MAX(position) AS head FROM events').head;
    const count = query<{ n: number }>(outDir, 'SELECT COUNT(*) AS n FROM events').n;
    expect(head).toBe(1_000_002);
    expect(count).toBe(head);

    await page.getByTestId('browse-events').click();
    await rowsLoaded();
    expect(await total()).toBe(count);
    expect(Number(await page.getByTestId('event-head').getAttribute('data-head'))).toBe(head);
    expect(await domRows()).toBeLessThan(domRowsMax);
    expect((await shownPositions()).slice(0, 3)).toEqual([1, 2, 3]);

    // Scrolling by wheel moves row by row and fetches pages as they come into view.
    const list = page.getByTestId('event-list');
    await list.hover();
    for (let step = 0; step < 20; step++) await page.mouse.wheel(0, 400);
    await rowsLoaded();
    const afterWheel = await shownPositions();
    expect(afterWheel[0]).toBeGreaterThan(200);
    expect(afterWheel[0]).toBeLessThan(600);
    expect(afterWheel.every((position, index) => index === 0 || position === afterWheel[index - 1]! + 1)).toBe(true);
    expect(await domRows()).toBeLessThan(domRowsMax);

    // Jump to the end: the last row is the head of the log.
    await page.getByTestId('jump-end').click();
    await rowsLoaded();
    expect((await shownPositions()).at(-1)).toBe(head);
    expect(await domRows()).toBeLessThan(domRowsMax);

    // Jump to a position: it is in view, selected and inspected.
    await page.getByTestId('jump-position').fill('500000');
    await page.getByTestId('jump-go').click();
    await expect.poll(() => page.getByTestId('event-inspector').getAttribute('data-position')).toBe('500000');
    await rowsLoaded();
    expect(await shownPositions()).toContain(500_000);
    expect(await page.locator('[data-testid="event-row"][data-position="500000"]').getAttribute('aria-selected')).toBe('true');

    // Filter by one type: every row has it, and the total is SQL's count.
    const type = 'PaymentRefunded';
    const typeCount = query<{ n: number }>(outDir, 'SELECT COUNT(*) AS n FROM events JOIN event_types USING (type_id) WHERE name = ?', type).n;
    await page.getByTestId(`filter-type-${type}`).click();
    await expect.poll(total, { timeout: 15_000 }).toBe(typeCount);
    await rowsLoaded();
    const typesShown = await page.getByTestId('event-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-type')));
    expect(typesShown.length).toBeGreaterThan(10);
    expect(new Set(typesShown)).toEqual(new Set([type]));
    // Also at the end of the filtered list.
    await page.getByTestId('jump-end').click();
    await rowsLoaded();
    const lastOfType = query<{ p: number }>(outDir, 'SELECT MAX(position) AS p FROM events JOIN event_types USING (type_id) WHERE name = ?', type).p;
    expect((await shownPositions()).at(-1)).toBe(lastOfType);
    expect(new Set(await page.getByTestId('event-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-type'))))).toEqual(new Set([type]));

    // The inspector shows the payload as stored.
    const row = page.getByTestId('event-row').nth(5);
    const position = Number(await row.getAttribute('data-position'));
    await row.click();
    await expect.poll(() => page.getByTestId('event-inspector').getAttribute('data-position')).toBe(String(position));
    const stored = query<{ payload: string; stream: string }>(outDir, 'SELECT payload, name AS stream FROM events JOIN streams USING (stream_id) WHERE position = ?', position);
    expect(JSON.parse((await page.getByTestId('inspector-payload').textContent())!)).toEqual(JSON.parse(stored.payload));
    expect(await page.getByTestId('inspector-meta').textContent()).toContain(stored.stream);

    // Verify the whole log from the UI.
    expect(await page.getByTestId('integrity-badge').getAttribute('data-state')).toBe('unverified');
    await page.getByTestId('verify-log').click();
    await expect.poll(() => page.getByTestId('integrity-badge').getAttribute('data-state'), { timeout: 30_000 }).toBe('intact');
    expect(await page.getByTestId('integrity-badge').textContent()).toBe('intact · 1,000,002 events');
    await page.screenshot({ path: join(screenshots, 'event-browser.png'), fullPage: true });
  });

  it('shows where a damaged log breaks', async () => {
    // A copy of a small finished run with one payload byte changed, as another run on disk.
    const helloDir = await startRun('hello', 'max');
    const copyDir = join(session.home, 'runs', 'hello-damaged');
    mkdirSync(copyDir, { recursive: true });
    copyFileSync(join(helloDir, 'events.sqlite'), join(copyDir, 'events.sqlite'));
    const manifest = JSON.parse(readFileSync(join(helloDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(copyDir, 'manifest.json'), JSON.stringify({ ...manifest, runId: 'hello-damaged' }));
    const db = new Database(join(copyDir, 'events.sqlite'));
    // The first shipment by post or pickup from position 1,234 on: its carrier's first letter
    // changes, in three bits (a repair puts back a single flipped bit by the event's hash).
    const bad = (db.prepare(`SELECT MIN(position) AS p FROM events WHERE position >= 1234 AND payload LIKE '{"carrier":"p%'`).get() as { p: number }).p;
    expect(db.prepare(`UPDATE events SET payload = replace(payload, '"carrier":"p', '"carrier":"w') WHERE position = ?`).run(bad).changes).toBe(1);
    db.close();

    await page.getByTestId('tab-event-log').click();
    await page.getByTestId('refresh-history').click();
    await page.getByTestId('event-log-run').selectOption('hello-damaged');
    await rowsLoaded();
    expect(await total()).toBe(3302);
    await page.getByTestId('verify-log').click();
    await expect.poll(() => page.getByTestId('integrity-badge').getAttribute('data-state'), { timeout: 30_000 }).toBe('damaged');
    expect(await page.getByTestId('integrity-badge').getAttribute('data-first-bad')).toBe(String(bad));
    expect(await page.getByTestId('integrity-badge').textContent()).toBe(`damaged at position ${bad.toLocaleString('en')}`);
    expect(await page.getByTestId('integrity-problems').textContent()).toContain(`position ${bad.toLocaleString('en')}: chain`);

    // Repaired with no backup, the event is lost: the log verifies but for it.
    expect((await repairEventLog(join(copyDir, 'events.sqlite'), { backupsDir: join(copyDir, 'backups'), nowMs: 1 })).lostPositions).toEqual([bad]);
    await page.getByTestId('verify-log').click();
    await expect.poll(() => page.getByTestId('integrity-badge').getAttribute('data-state'), { timeout: 30_000 }).toBe('lost');
    expect(await page.getByTestId('integrity-badge').textContent()).toBe('1 lost in a repair · 3,302 events');
    expect(await page.getByTestId('integrity-problems').textContent()).toContain(`position ${bad.toLocaleString('en')}: lost`);
  });
});
