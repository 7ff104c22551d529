/**
 * The Drills tab in Chromium against `aura-lab serve`: each of the four disaster-recovery drills
 * is run in automatic mode from the drill console, and its scorecard must show every target
 * with its measured value, nothing acknowledged lost, no checker anomaly, and a verdict that
 * agrees with its rows. Timing targets are benchmark figures (npm run bench -- chaos runs every
 * drill on an idle machine); these machines are shared and noisy, so a test does not fail on a
 * slow second. Then a game day of complete-failure: the
 * trainee's timeline never shows the kill while the drill runs, a wrong runbook action is
 * recorded and refused, restart-engine after the symptom recovers the engine, and the scorecard
 * and the debrief appear (the timeline drawn with the hidden fault revealed, the Markdown and
 * HTML downloads). The chaos catalogue lists every fault by layer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, screenshotsDir as screenshots, type BrowserSession } from '../support/browser.ts';

let session: BrowserSession;
let page: Page;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-drills-', { width: 1400, height: 1300 });
  page = session.page;
});

let opened = false;
/** The page on the Drills tab, once (the tests share one page, in order). */
async function openDrillsTab(): Promise<void> {
  if (opened) return;
  await page.goto(session.serve.url);
  await expect.poll(() => page.getByTestId('engine-status').getAttribute('data-state', { timeout: 2_000 }), { timeout: 20_000 }).toBe('ready');
  await page.getByTestId('tab-drills').click();
  await expect.poll(() => page.locator('[data-testid="drill-select"] option').count(), { timeout: 10_000 }).toBe(4);
  opened = true;
}

afterAll(async () => {
  await session?.close();
});

const live = (): ReturnType<Page['getByTestId']> => page.getByTestId('drill-live');
const liveAttribute = (name: string): Promise<string | null> => live().getAttribute(name, { timeout: 1_000 }).catch(() => null);

interface Row {
  metric: string | null;
  met: string | null;
  value: string | null;
  text: string;
}

/** Starts a drill from the console and waits for its state to appear; returns its id. */
async function startDrill(drill: string, mode: 'auto' | 'trainer'): Promise<string> {
  await openDrillsTab();
  const previous = await liveAttribute('data-drill-id');
  await page.getByLabel('Drill', { exact: true }).selectOption(drill);
  await page.getByLabel('Mode', { exact: true }).selectOption(mode);
  await page.getByRole('button', { name: 'Start drill', exact: true }).click();
  await expect.poll(async () => ((await liveAttribute('data-drill-id')) ?? previous) !== previous && (await liveAttribute('data-drill')) === drill, { timeout: 10_000, message: `${drill} starts` }).toBe(true);
  expect(await liveAttribute('data-mode')).toBe(mode);
  return (await liveAttribute('data-drill-id')) ?? '';
}

async function waitForEnd(drill: string, timeoutMs: number): Promise<string> {
  await expect.poll(() => liveAttribute('data-status'), { timeout: timeoutMs, interval: 250, message: `${drill} finishes` }).not.toBe('running');
  return (await liveAttribute('data-status')) ?? '';
}

async function scorecardRows(): Promise<Row[]> {
  return page.getByTestId('scorecard-row').evaluateAll((rows) =>
    rows.map((row) => ({ metric: row.getAttribute('data-metric'), met: row.getAttribute('data-met'), value: row.getAttribute('data-value'), text: Array.from(row.querySelectorAll('td'), (cell) => cell.textContent ?? '').join(' | ') })),
  );
}

const drills: readonly { drill: string; targets: number; timeoutMs: number }[] = [
  { drill: 'complete-failure', targets: 3, timeoutMs: 45_000 },
  { drill: 'database-corruption', targets: 3, timeoutMs: 90_000 },
  { drill: 'network-partition', targets: 3, timeoutMs: 45_000 },
  { drill: 'performance-degradation', targets: 4, timeoutMs: 45_000 },
];

describe('drills', () => {
  for (const { drill, targets, timeoutMs } of drills) {
    it(`${drill}: automatic recovery, a complete scorecard, nothing acknowledged lost`, async () => {
      await startDrill(drill, 'auto');
      // While it runs: the clock, the stage and the progress bar.
      expect(await page.getByRole('timer', { name: 'elapsed' }).textContent()).toMatch(/^\d+:\d\d\.\d$/);
      expect(await page.getByRole('progressbar', { name: 'drill progress' }).count()).toBe(1);
      const status = await waitForEnd(drill, timeoutMs);
      await expect.poll(() => page.getByTestId('drill-scorecard').count(), { timeout: 5_000 }).toBe(1);
      const rows = await scorecardRows();
      const score = await page.getByTestId('drill-score').textContent();
      // Anomalies by class, as the checkers found them (a repair's named losses are counted here too; the anomalies target excuses them).
      const anomalies = await page.getByTestId('drill-anomaly').evaluateAll((items) => items.map((item) => `${item.getAttribute('data-class') ?? ''} ${item.getAttribute('data-count') ?? ''}`).join(', ') || 'none');
      const elapsed = await page.getByTestId('drill-timer').getAttribute('data-elapsed-ms');
      const measured = await page.getByTestId('drill-measurements').textContent();
      console.log(`${drill}: ${status}, score ${score}, ${elapsed} ms, anomalies ${anomalies}\n${rows.map((row) => `  ${row.text}`).join('\n')}\n  ${measured ?? ''}`);
      expect(rows).toHaveLength(targets);
      for (const row of rows) expect(row.value, row.text).not.toBeNull();
      const correctness = rows.filter((row) => ['lostAcknowledged', 'unnamedLoss', 'anomalies'].includes(row.metric ?? ''));
      expect(correctness.length).toBeGreaterThan(0);
      expect(correctness.filter((row) => row.met !== 'true').map((row) => row.text)).toEqual([]);
      const allMet = rows.every((row) => row.met === 'true');
      expect(status, rows.map((row) => row.text).join('; ')).toBe(allMet ? 'passed' : 'failed');
      expect(await page.getByTestId('drill-verdict').textContent()).toContain(allMet ? 'PASSED' : 'FAILED');
      if (allMet) expect(score).toBe('100');
      else expect(Number(score)).toBeLessThan(100);
      // The debrief: the timeline drawn, downloads ready.
      await expect.poll(() => page.getByTestId('debrief-download-markdown').getAttribute('data-state'), { timeout: 5_000 }).toBe('ready');
      expect(Number(await page.getByTestId('debrief-timeline').getAttribute('data-bands'))).toBeGreaterThan(0);
      await page.screenshot({ path: join(screenshots, `drill-${drill}.png`), fullPage: true });
    });
  }

  it('complete-failure as a game day: symptoms only, the trainee restarts the engine, then scorecard and debrief', async () => {
    await startDrill('complete-failure', 'trainer');
    expect(await page.getByRole('button', { name: 'restart-engine', exact: true }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'acknowledge-alert', exact: true }).isEnabled()).toBe(true);
    const kinds = (): Promise<string[]> => page.getByTestId('drill-timeline-entry').evaluateAll((entries) => entries.map((entry) => entry.getAttribute('data-kind') ?? ''));
    const texts = (): Promise<string> => page.getByTestId('drill-timeline').textContent().then((text) => text ?? '');
    await expect.poll(kinds, { timeout: 20_000, message: 'the symptom appears' }).toContain('symptom');
    // The trainee sees the engine go away, not the kill.
    expect(await kinds()).not.toContain('fault');
    expect(await texts()).not.toContain('kill -9');
    expect(await liveAttribute('data-status')).toBe('running');
    // A wrong action is recorded and changes nothing.
    await page.getByRole('button', { name: 'acknowledge-alert', exact: true }).click();
    await expect.poll(texts, { timeout: 5_000 }).toContain('trainee: acknowledge-alert');
    expect(await liveAttribute('data-status')).toBe('running');
    expect(await kinds()).not.toContain('fault');
    expect(await kinds()).not.toContain('recovered');
    await page.screenshot({ path: join(screenshots, 'drill-gameday-running.png'), fullPage: true });

    await page.getByRole('button', { name: 'restart-engine', exact: true }).click();
    const status = await waitForEnd('complete-failure (game day)', 45_000);
    await expect.poll(() => page.getByTestId('drill-scorecard').count(), { timeout: 5_000 }).toBe(1);
    const rows = await scorecardRows();
    console.log(`complete-failure (game day): ${status}, score ${await page.getByTestId('drill-score').textContent()}\n${rows.map((row) => `  ${row.text}`).join('\n')}\n  ${(await page.getByTestId('drill-measurements').textContent()) ?? ''}`);
    expect(['passed', 'failed']).toContain(status);
    expect(rows).toHaveLength(3);
    expect(rows.find((row) => row.metric === 'lostAcknowledged')?.met).toBe('true');
    // Once finished, the whole timeline: the kill revealed, both actions, the recovery.
    const finalKinds = await kinds();
    expect(finalKinds).toContain('fault');
    expect(finalKinds).toContain('recovered');
    expect(await page.locator('[data-testid="drill-timeline-entry"][data-kind="fault"][data-hidden="true"]').count()).toBe(1);
    const finalText = await texts();
    expect(finalText).toContain('kill -9');
    expect(finalText).toContain('trainee: acknowledge-alert');
    expect(finalText).toContain('trainee: restart-engine');
    expect(await page.getByRole('button', { name: 'restart-engine', exact: true }).isDisabled()).toBe(true);

    // The debrief: the d3 timeline with the hidden fault as a band, the actions as marks.
    const timeline = page.getByTestId('debrief-timeline');
    await expect.poll(() => timeline.count(), { timeout: 5_000 }).toBe(1);
    expect(await timeline.locator('svg[aria-label="drill timeline"]').count()).toBe(1);
    expect(await page.locator('[data-testid="debrief-fault"][data-hidden="true"]').count()).toBe(1);
    expect(await page.locator('[data-testid="debrief-fault"] rect').getAttribute('stroke-dasharray')).toBe('4 3');
    expect(await page.locator('[data-testid="debrief-mark"][data-kind="action"]').count()).toBe(2);
    expect(await page.locator('[data-testid="debrief-mark"][data-kind="symptom"]').count()).toBe(1);
    expect(await timeline.locator('.axis .tick').count()).toBeGreaterThan(2);

    await expect.poll(() => page.getByTestId('debrief-download-markdown').getAttribute('data-state'), { timeout: 5_000 }).toBe('ready');
    const [markdown] = await Promise.all([page.waitForEvent('download', { timeout: 5_000 }), page.getByRole('link', { name: 'Download the debrief as Markdown' }).click()]);
    expect(markdown.suggestedFilename()).toMatch(/^debrief-complete-failure-.*\.md$/);
    const markdownText = readFileSync(await markdown.path(), 'utf8');
    expect(markdownText).toContain('# Debrief: Complete system failure');
    expect(markdownText).toContain('game day');
    expect(markdownText).toContain('fault (hidden)');
    expect(markdownText).toContain('trainee: acknowledge-alert');
    await expect.poll(() => page.getByTestId('debrief-download-html').getAttribute('data-state'), { timeout: 5_000 }).toBe('ready');
    const [html] = await Promise.all([page.waitForEvent('download', { timeout: 5_000 }), page.getByRole('link', { name: 'Download the debrief as HTML' }).click()]);
    expect(html.suggestedFilename()).toMatch(/\.html$/);
    expect(readFileSync(await html.path(), 'utf8')).toContain('<h1>Debrief: Complete system failure</h1>');

    // The chaos catalogue, by layer.
    const layers = await page.getByTestId('chaos-layer').evaluateAll((groups) => groups.map((group) => group.getAttribute('data-layer')));
    expect(layers.slice(0, 3)).toEqual(['engine', 'storage', 'network']);
    expect(layers).toContain('load');
    expect(new Set(layers).size).toBe(layers.length);
    expect(await page.getByTestId('chaos-fault').count()).toBe(Number(await page.getByTestId('chaos-catalogue').getAttribute('data-count')));
    expect(await page.locator('[data-testid="chaos-layer"][data-layer="network"] [data-testid="chaos-fault"][data-kind="net-partition"]').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'drill-gameday-debrief.png'), fullPage: true });
  });
});
