/**
 * "Inject now" in Chromium against `aura-lab serve`: a live run of baseline.yaml at speed 5, a
 * load spike injected from the Drills tab's chaos catalogue, listed there with its window, and
 * drawn as a band on the run panel's throughput chart and the time-travel metrics charts.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, screenshotsDir, type BrowserSession } from '../support/browser.ts';

let session: BrowserSession;
let page: Page;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-inject-', { width: 1400, height: 1100 });
  page = session.page;
});

afterAll(async () => {
  await session?.close();
});

const attribute = (testId: string, name: string): Promise<string | null> =>
  page
    .getByTestId(testId)
    .first()
    .getAttribute(name, { timeout: 1_000 })
    .catch(() => null);

describe('Inject now', () => {
  it('injects a load spike into the live run and draws its window on the run charts', async () => {
    await page.goto(session.serve.url);
    await expect.poll(() => page.getByTestId('engine-status').getAttribute('data-state', { timeout: 2_000 }), { timeout: 20_000 }).toBe('ready');
    await page.getByTestId('scenario-baseline').click();
    await page.getByTestId('speed-select').selectOption('5');
    await page.getByTestId('start-run').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 10_000 }).toBe('running');
    const runId = (await page.locator('.run-id').textContent())!;
    await page.getByTestId('chart-series').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="throughput-chart"] svg').getAttribute('data-fault-bands')).toBe('0');

    await page.getByTestId('tab-drills').click();
    await page.getByTestId('inject-now').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('inject-run').inputValue()).toBe(runId);
    // The generators come from the run's RunStarted event.
    await expect.poll(() => page.locator('[data-testid="inject-generator"] option').allTextContents(), { timeout: 10_000 }).toEqual(['orders', 'requests']);
    await page.getByTestId('inject-kind').selectOption('load-spike');
    await page.getByTestId('inject-generator').selectOption('orders');

    // A bad factor is the engine's typed error, naming the field.
    await page.getByTestId('inject-factor').fill('1');
    await page.getByTestId('inject-submit').click();
    await expect.poll(() => attribute('inject-error', 'data-code'), { timeout: 10_000 }).toBe('validation');
    expect(await page.getByTestId('inject-error').textContent()).toContain('fault.factor');

    await page.getByTestId('inject-factor').fill('3');
    await page.getByTestId('inject-duration').fill('20s');
    await page.getByTestId('inject-submit').click();
    await page.getByTestId('inject-result').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('inject-result').textContent()).toMatch(/^Injected load-spike-1 into .*: orders rate ×3 for 20s, [\d.]+ s – [\d.]+ s \(virtual\)\.$/);
    await expect.poll(() => page.getByTestId('injected-fault').count()).toBe(1);
    expect(await page.getByTestId('injected-fault').getAttribute('data-kind')).toBe('load-spike');
    await page.screenshot({ path: join(screenshotsDir, 'chaos-inject-form.png'), fullPage: true });

    // The run panel's chart draws the window as a band, with its tooltip.
    await page.getByTestId('tab-run').click();
    const throughput = page.locator('[data-testid="throughput-chart"] svg');
    await expect.poll(() => throughput.getAttribute('data-fault-bands').then(Number), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => throughput.locator('rect.fault-band').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(await throughput.locator('rect.fault-band title').first().textContent()).toMatch(/^load-spike [\d.]+ s – [\d.]+ s · orders rate ×3 for 20s$/);
    await page.screenshot({ path: join(screenshotsDir, 'chaos-inject-band.png'), fullPage: true });

    // So do the time-travel metrics charts (the engine's telemetry lists the fault).
    await page.getByTestId('tab-time-travel').click();
    const metrics = page.locator('[data-testid="metrics-events-chart"] svg');
    await expect.poll(() => metrics.getAttribute('data-fault-bands', { timeout: 1_000 }).then(Number).catch(() => 0), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);

    await page.getByTestId('tab-run').click();
    await page.getByTestId('stop-run').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 20_000 }).toBe('stopped');
    expect(Number(await throughput.getAttribute('data-fault-bands'))).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
