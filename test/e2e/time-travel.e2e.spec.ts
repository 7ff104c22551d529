/**
 * Run control and time travel in Chromium against `aura-lab serve`: hello.yaml at speed 5 is
 * paused, stepped by exactly 1 and 100 events, resumed and finished at speed max; a bar of its
 * timeline is clicked and the projection state there shown; an invalid fork is refused with the
 * path named, a valid one (orders at 100 per second) runs to completion, and the comparison of
 * source and fork diverges right after the fork position, with OrderPlaced differing.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, screenshotsDir as screenshots, type BrowserSession } from '../support/browser.ts';

let session: BrowserSession;
let page: Page;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-time-travel-', { width: 1280, height: 1000 });
  page = session.page;
});

afterAll(async () => {
  await session?.close();
});

const attribute = (testId: string, name: string): Promise<string | null> => page.getByTestId(testId).getAttribute(name, { timeout: 2_000 });
const eventCount = async (): Promise<number> => Number((await page.getByTestId('event-count').textContent())!.replace(/,/g, ''));

describe('run control and time travel', () => {
  it('pauses, steps and resumes a run, seeks on its timeline, forks it and compares the fork with it', async () => {
    await page.goto(session.serve.url);
    await expect.poll(() => attribute('engine-status', 'data-state'), { timeout: 20_000 }).toBe('ready');

    // hello.yaml at 5x real time: 12 s of wall time unless paused.
    await page.getByTestId('scenario-hello').click();
    await page.getByTestId('speed-select').selectOption('5');
    await page.getByTestId('start-run').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 10_000 }).toBe('running');
    expect(await attribute('run-state', 'data-paused')).toBe('false');
    expect(await page.getByTestId('run-speed').inputValue()).toBe('5');
    expect(await page.getByTestId('run-step').isDisabled()).toBe(true);

    // Paused: nothing is appended but steps, exactly as many events as asked.
    await page.getByTestId('run-pause').click();
    await expect.poll(() => attribute('run-state', 'data-paused'), { timeout: 5_000 }).toBe('true');
    expect(await page.getByTestId('run-state').textContent()).toBe('paused');
    const paused = await eventCount();
    expect(paused).toBeGreaterThan(1);
    await page.waitForTimeout(300);
    expect(await eventCount()).toBe(paused);
    expect(await page.getByTestId('run-step').isDisabled()).toBe(false);
    await page.getByTestId('run-step').click();
    await expect.poll(eventCount, { timeout: 5_000 }).toBe(paused + 1);
    await page.getByTestId('run-step-100').click();
    await expect.poll(eventCount, { timeout: 5_000 }).toBe(paused + 101);
    await page.waitForTimeout(300);
    expect(await eventCount()).toBe(paused + 101);

    // Resumed, then as fast as possible to the end.
    await page.getByTestId('run-resume').click();
    await expect.poll(() => attribute('run-state', 'data-paused'), { timeout: 5_000 }).toBe('false');
    await page.getByTestId('run-speed').selectOption('max');
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 20_000, message: 'the source run completes at speed max' }).toBe('completed');
    const total = await eventCount();
    // The workload (3,302 events with the lifecycle ones) plus RunPaused and RunResumed.
    expect(total).toBe(3_304);

    // The finished run's timeline: bars, and the pause and resume as markers.
    await page.getByTestId('tab-time-travel').click();
    const sourceId = await page.getByTestId('time-travel-run').inputValue();
    expect(sourceId).toMatch(/^hello-/);
    await expect.poll(() => attribute('timeline', 'data-head'), { timeout: 10_000 }).toBe(String(total));
    const bars = page.getByTestId('timeline-bar');
    const barCount = await bars.count();
    expect(barCount).toBeGreaterThan(10);
    const markers = await page.getByTestId('timeline-action').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-type')));
    expect(markers).toEqual(['RunPaused', 'RunResumed']);

    // Seek: click a bar a third of the way in; the state there is the projection's.
    const bar = bars.nth(Math.floor(barCount / 3));
    const first = Number(await bar.getAttribute('data-first'));
    const last = Number(await bar.getAttribute('data-last'));
    await bar.click();
    await expect.poll(() => attribute('seek-state', 'data-state'), { timeout: 5_000 }).toBe('loaded');
    const position = Number(await attribute('seek-position', 'data-position'));
    expect(Number.isInteger(position)).toBe(true);
    expect(position).toBeGreaterThanOrEqual(first);
    expect(position).toBeLessThanOrEqual(last);
    expect(await attribute('seek-state', 'data-position')).toBe(String(position));
    expect(await attribute('timeline-cursor', 'data-position')).toBe(String(position));
    const seenTotal = Number(await attribute('seek-state', 'data-total'));
    expect(seenTotal).toBeGreaterThan(0);
    expect(seenTotal).toBeLessThan(position);
    expect(await page.getByTestId('seek-state-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-type')))).toEqual(['OrderPlaced', 'OrderShipped', 'PaymentCaptured']);
    expect(Number(await attribute('seek-time', 'data-virtual-time-us'))).toBeGreaterThan(0);

    // The metrics dashboard is there; telemetry may not be recorded by this engine yet.
    await expect.poll(() => attribute('metrics-dashboard', 'data-state'), { timeout: 5_000 }).toMatch(/^(loaded|unavailable)$/);

    // A fork with a bad value is refused, naming the path; nothing is started.
    await page.getByTestId('fork-here').click();
    await page.getByTestId('fork-path').fill('workload.orders.rate.perSecond');
    await page.getByTestId('fork-value').fill('-1');
    await page.getByTestId('fork-submit').click();
    await expect.poll(() => page.getByTestId('fork-error').textContent({ timeout: 1_000 }).catch(() => ''), { timeout: 5_000 }).toContain('perSecond');
    expect(await page.getByTestId('time-travel-run').inputValue()).toBe(sourceId);

    // A fork at 100 orders per second: shown once started, followed to completion.
    await page.getByTestId('fork-value').fill('100');
    await page.getByTestId('fork-submit').click();
    await expect.poll(() => page.getByTestId('time-travel-run').inputValue(), { timeout: 5_000 }).not.toBe(sourceId);
    const forkId = await page.getByTestId('time-travel-run').inputValue();
    expect(forkId).toMatch(/^hello-fork-/);
    await expect.poll(() => attribute('time-travel-tab', 'data-status'), { timeout: 20_000, message: 'the fork completes' }).toBe('completed');
    await expect.poll(() => attribute('timeline', 'data-live'), { timeout: 5_000 }).toBe('false');
    expect(await page.getByTestId('timeline-action').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-position')))).toContain(String(position + 1));

    // Source against fork: the same first `position` events, then the change.
    await page.getByTestId('compare-a').selectOption(sourceId);
    await page.getByTestId('compare-b').selectOption(forkId);
    await page.getByTestId('compare-submit').click();
    await expect.poll(() => attribute('compare-divergence', 'data-position').catch(() => null), { timeout: 10_000 }).toBe(String(position + 1));
    expect(await attribute('compare-divergence', 'data-shared-prefix')).toBe(String(position));
    expect(await attribute('compare-event-b', 'data-type')).toBe('ParameterChanged');
    expect(await attribute('compare-event-a', 'data-type')).toMatch(/^(OrderPlaced|OrderShipped|PaymentCaptured|RunPaused|RunResumed)$/);
    const metric = (key: string) => page.locator(`[data-testid="compare-metrics"] [data-metric="${key}"]`);
    expect(await metric('OrderPlaced').getAttribute('data-differs')).toBe('true');
    expect(await metric('scenario').getAttribute('data-differs')).toBe('false');
    expect(await page.locator('[data-testid="compare-metrics"] tr.differs').count()).toBeGreaterThan(1);
    await page.screenshot({ path: join(screenshots, 'time-travel.png'), fullPage: true });
  });
});
