/**
 * The Projections tab in Chromium against `aura-lab serve`: poison.yaml run in real time, every
 * projection's health followed live, slo-status's poison events parked (and counted against SQL
 * on the run's file), a parked event opened in the event log, and throughput-by-stream rebuilt
 * in shadow while the run goes, compared equal and swapped in.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectionNames } from '../../src/core/projections/registry.ts';
import { openBrowserSession, screenshotsDir as screenshots, type BrowserSession } from '../support/browser.ts';

let session: BrowserSession;
let page: Page;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-projections-', { width: 1280, height: 900 });
  page = session.page;
});

afterAll(async () => {
  await session?.close();
});

/** Events whose latencyMs is there but not a number: the ones slo-status must park. */
function poisonCount(runDir: string): number {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM events WHERE json_type(payload, '$.latencyMs') NOT IN ('integer', 'real')`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** An attribute of an element that is on the page (or appears within 2 s). */
const attribute = (testId: string, name: string): Promise<string | null> => page.getByTestId(testId).getAttribute(name, { timeout: 2_000 });
const live = (): Promise<string | null> => attribute('projections-tab', 'data-live');

describe('projections tab', () => {
  it('follows every projection of a live run, parks poison events, and rebuilds one in shadow while the run goes', async () => {
    await page.goto(session.serve.url);
    await expect.poll(() => page.getByTestId('engine-status').getAttribute('data-state'), { timeout: 20_000 }).toBe('ready');
    // 20 virtual seconds at real time: live for 20 s, time enough to act on it.
    await page.getByTestId('scenario-poison').click();
    await page.getByTestId('speed-select').selectOption('1');
    await page.getByTestId('start-run').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 10_000 }).toBe('running');
    const outDir = (await page.getByTestId('run-out-dir').textContent())!;

    await page.getByTestId('tab-projections').click();
    await expect.poll(live, { timeout: 10_000 }).toBe('true');
    for (const name of projectionNames) await page.getByTestId(`projection-row-${name}`).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid^="projection-row-"]').count()).toBe(projectionNames.length);
    const lag = page.getByTestId('projection-lag-events-per-second-by-type');
    expect(await lag.textContent()).toMatch(/^\d[\d,]* ev · \d+(\.\d)? m?s$/);
    expect(Number.isInteger(Number(await lag.getAttribute('data-lag-events')))).toBe(true);
    expect(await attribute('projection-status-events-per-second-by-type', 'data-status')).toMatch(/^(live|catching_up)$/);

    // Rebuild while the run goes: a shadow build from position 1, compared equal and swapped in.
    expect(await live()).toBe('true');
    await page.getByTestId('projection-rebuild-throughput-by-stream').click();
    const compared = 'projection-last-compare-throughput-by-stream';
    await expect.poll(() => attribute(compared, 'data-swapped').catch(() => null), { timeout: 40_000 }).toBe('true');
    expect(await attribute(compared, 'data-equal')).toBe('true');
    expect(await page.getByTestId(compared).textContent()).toContain('equal at position');
    expect(await page.getByTestId('projection-action-error-throughput-by-stream').count()).toBe(0);

    // slo-status parks the requests whose latency is "timeout", and goes on.
    await expect.poll(async () => Number(await attribute('projection-parked-slo-status', 'data-parked')), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await live()).toBe('true');
    await page.getByTestId('projection-expand-slo-status').click();
    const parkedEvent = page.locator('[data-testid="projection-parked-list-slo-status"] [data-testid^="parked-event-"][data-position]').first();
    await parkedEvent.waitFor({ timeout: 10_000 });
    expect(await parkedEvent.textContent()).toMatch(/RequestCompleted at position \d+: latencyMs is "timeout", expected a number/);
    const position = Number(await parkedEvent.getAttribute('data-position'));
    expect(await page.getByTestId('projection-sparkline-slo-status').getAttribute('data-samples')).not.toBe('0');
    await page.screenshot({ path: join(screenshots, 'projections.png'), fullPage: true });

    // The parked event opens in the event log of the same run, at its position.
    const runId = (await attribute('projections-tab', 'data-run-id'))!;
    await page.getByTestId(`parked-event-open-${position}`).click();
    await expect.poll(() => page.getByTestId('event-inspector').getAttribute('data-position'), { timeout: 10_000 }).toBe(String(position));
    expect(await page.getByTestId('event-log-run').inputValue()).toBe(runId);
    await expect.poll(() => page.locator(`[data-testid="event-row"][data-position="${position}"]`).getAttribute('aria-selected', { timeout: 1_000 }).catch(() => null), { timeout: 10_000 }).toBe('true');
    expect(JSON.parse((await page.getByTestId('inspector-payload').textContent())!)).toMatchObject({ latencyMs: 'timeout' });

    // Once the run has finished: the final parked count is every poison event in the log.
    await page.getByTestId('tab-projections').click();
    await expect.poll(live, { timeout: 40_000 }).toBe('false');
    const poison = poisonCount(outDir);
    expect(poison).toBeGreaterThan(0);
    await expect.poll(() => attribute('projection-parked-slo-status', 'data-parked'), { timeout: 10_000 }).toBe(String(poison));
    for (const name of projectionNames) expect(await attribute(`projection-status-${name}`, 'data-status')).toBe('live');
    // A finished run's parked events are not listed: the count is shown, and why.
    await expect.poll(() => attribute('projection-parked-list-slo-status', 'data-state'), { timeout: 10_000 }).toBe('unavailable');
    expect(await page.getByTestId('projection-parked-unavailable-slo-status').textContent()).toContain(`${poison.toLocaleString('en')} parked events`);
    expect(await page.getByTestId('projection-rebuild-throughput-by-stream').isDisabled()).toBe(true);
  });
});
