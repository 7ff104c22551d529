import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, screenshotsDir as screenshots, type BrowserSession } from '../support/browser.ts';
import { countEvents } from '../support/run-dir.ts';

let session: BrowserSession;
let page: Page;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-', { width: 1280, height: 860 });
  page = session.page;
});

afterAll(async () => {
  await session?.close();
});

async function runHelloToCompletion(seed: string): Promise<{ storeCount: number; outDir: string }> {
  await page.getByTestId('scenario-hello').click();
  await page.getByTestId('seed-input').fill(seed);
  await page.getByTestId('speed-select').selectOption('20');
  await page.getByTestId('start-run').click();
  await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 10_000 }).toBe('running');
  // The chart is live: series are drawn while the run is still going.
  await page.getByTestId('chart-series').first().waitFor({ timeout: 10_000 });
  expect(await page.getByTestId('run-status').textContent()).toBe('running');
  await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 60_000 }).toBe('completed');
  const storeCount = Number((await page.getByTestId('store-count').textContent())!.replace(/,/g, ''));
  const outDir = (await page.getByTestId('run-out-dir').textContent())!;
  return { storeCount, outDir };
}

describe('AURA Lab in the browser', () => {
  it('runs hello.yaml with a live chart, and the final count equals the events in the store', async () => {
    await page.goto(session.serve.url);
    // The secret leaves the address bar once the page has it.
    await expect.poll(() => page.url()).not.toContain('token=');
    await expect.poll(() => page.getByTestId('engine-status').getAttribute('data-state'), { timeout: 20_000 }).toBe('ready');
    await page.getByTestId('scenario-hello').waitFor();
    const { storeCount, outDir } = await runHelloToCompletion('1');
    expect(storeCount).toBe(3302);
    expect(countEvents(outDir)).toBe(storeCount);
    expect(await page.getByTestId('event-count').textContent()).toBe('3,302');
    expect(await page.getByTestId('projection-checkpoint').textContent()).toBe('position 3,302');
    const series = page.getByTestId('chart-series');
    expect(await series.count()).toBe(3);
    expect(await series.evaluateAll((paths) => paths.map((path) => path.getAttribute('data-type')))).toEqual(['OrderPlaced', 'OrderShipped', 'PaymentCaptured']);
    expect((await series.first().getAttribute('d'))!.length).toBeGreaterThan(100);
    await page.screenshot({ path: join(screenshots, 'hello-run.png'), fullPage: true });
  });

  it('stays up when the engine host is killed, shows the restart, and runs again afterwards', async () => {
    const pidBefore = Number(await page.getByTestId('engine-status').getAttribute('data-pid'));
    expect(pidBefore).toBeGreaterThan(0);
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const restartShown = page.getByTestId('engine-restarting').waitFor({ timeout: 15_000 });
    process.kill(pidBefore, 'SIGKILL');
    await restartShown;
    expect(await page.getByTestId('engine-status').getAttribute('data-state')).toBe('restarting');
    await page.screenshot({ path: join(screenshots, 'engine-restarting.png') });
    await expect.poll(() => page.getByTestId('engine-status').getAttribute('data-state'), { timeout: 20_000 }).toBe('ready');
    const pidAfter = Number(await page.getByTestId('engine-status').getAttribute('data-pid'));
    expect(pidAfter).not.toBe(pidBefore);
    // Same page, never reloaded.
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    const { storeCount, outDir } = await runHelloToCompletion('2');
    expect(storeCount).toBe(countEvents(outDir));
    expect(storeCount).toBe(3302);
    await page.screenshot({ path: join(screenshots, 'after-restart-run.png'), fullPage: true });
  });
});
