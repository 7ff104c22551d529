/**
 * The Debates tab in Chromium against `aura-lab serve`: debate.yaml (11 triage debates of 5
 * agents and 3 rounds) is run at speed max from the UI; the tab lists its 11 debates, and
 * debate-triage-1 shows 5 agents in the influence graph, 3 rounds, a consensus share and 15
 * transcript rows (3 once filtered to one agent). Then a small persuasion sweep (20 replicates),
 * run into the serve instance's data directory, is charted: 3 lines (one per persuasion bias)
 * with error bars, exported as SVG and PNG.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, screenshotsDir as screenshots, type BrowserSession } from '../support/browser.ts';
import { repoRoot } from '../support/fixtures.ts';

let session: BrowserSession;
let page: Page;

beforeAll(async () => {
  session = await openBrowserSession('aura-lab-e2e-debates-', { width: 1400, height: 1100 });
  page = session.page;
  // A small sweep under the serve instance's data directory (sweeps/<name>), from a copy of the experiment with 20 replicates.
  const experiment = readFileSync(join(repoRoot, 'scenarios', 'experiments', 'persuasion.yaml'), 'utf8').replace(/^replicates: \d+$/m, 'replicates: 20');
  expect(experiment).toContain('replicates: 20');
  const copy = join(session.home, 'persuasion-small.yaml');
  writeFileSync(copy, experiment);
  const swept = spawnSync(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'sweep', copy, '--out', join(session.home, 'sweeps', 'persuasion'), '--threads', '1', '--json'], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, AURA_LAB_HOME: session.home }, timeout: 60_000 });
  expect(swept.status, swept.stderr).toBe(0);
  expect(JSON.parse(swept.stdout)).toMatchObject({ complete: true, cells: 9 });
});

afterAll(async () => {
  await session?.close();
});

const attribute = (testId: string, name: string): Promise<string | null> => page.getByTestId(testId).getAttribute(name, { timeout: 2_000 });

describe('debates', () => {
  it('lists a run’s debates, shows one as a graph, charts and a transcript, and charts a sweep with exports', async () => {
    await page.goto(session.serve.url);
    await expect.poll(() => attribute('engine-status', 'data-state'), { timeout: 20_000 }).toBe('ready');

    await page.getByTestId('scenario-debate').click();
    await page.getByTestId('speed-select').selectOption('max');
    await page.getByTestId('start-run').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 20_000, message: 'the debate run completes at speed max' }).toBe('completed');

    // The list: a debate every 5 virtual seconds of 60.
    await page.getByTestId('tab-debates').click();
    await expect.poll(() => attribute('debates-tab', 'data-run-id'), { timeout: 5_000 }).toMatch(/^debate-/);
    await expect.poll(() => attribute('debate-list', 'data-count').catch(() => null), { timeout: 10_000 }).toBe('11');
    const items = page.getByTestId('debate-item');
    expect(await items.count()).toBe(11);
    const ids = await items.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-debate-id')));
    expect(ids).toEqual(Array.from({ length: 11 }, (_, index) => `triage-${index + 1}`));
    expect(await items.evaluateAll((nodes) => nodes.every((node) => ['true', 'false'].includes(node.getAttribute('data-correct') ?? '')))).toBe(true);

    // debate-triage-1.
    await page.locator('[data-testid="debate-item"][data-stream="debate-triage-1"]').click();
    await expect.poll(() => attribute('debate-view', 'data-stream').catch(() => null), { timeout: 10_000 }).toBe('debate-triage-1');
    const nodes = page.getByTestId('debate-node');
    expect(await nodes.count()).toBe(5);
    expect(await nodes.evaluateAll((all) => all.map((node) => node.getAttribute('data-agent')))).toEqual(['ada', 'bob', 'cyd', 'dee', 'eve']);
    const answers = await nodes.evaluateAll((all) => all.map((node) => node.getAttribute('data-answer')));
    expect(answers.every((answer) => answer === 'incident' || answer === 'noise')).toBe(true);
    expect(await attribute('debate-rounds', 'data-rounds')).toBe('3');
    expect(await page.locator('[data-testid="debate-rounds"] [data-testid="debate-round"]').count()).toBe(3);
    expect(await page.locator('[data-testid="debate-trajectories"] [data-testid="trajectory"]').count()).toBe(5);
    // Each round's bar holds the 5 agents.
    expect(await page.getByTestId('debate-round').evaluateAll((bars) => bars.map((bar) => bar.getAttribute('data-total')))).toEqual(['5', '5', '5']);

    // The consensus meter: a share of the last round, and the decision.
    const share = Number(await attribute('consensus-meter', 'data-share'));
    expect(share).toBeGreaterThan(0.5);
    expect(share).toBeLessThanOrEqual(1);
    expect(Math.round(share * 5)).toBeCloseTo(share * 5, 6);
    expect(await attribute('consensus-meter', 'data-decision')).toMatch(/^(incident|noise)$/);

    // The transcript: 5 agents x 3 rounds, then one agent's 3.
    const rows = page.getByTestId('transcript-row');
    expect(await rows.count()).toBe(15);
    await page.getByTestId('transcript-filter-agent').selectOption('ada');
    await expect.poll(() => rows.count(), { timeout: 2_000 }).toBe(3);
    expect(await rows.evaluateAll((all) => all.map((row) => `${row.getAttribute('data-agent')}:${row.getAttribute('data-round')}`))).toEqual(['ada:1', 'ada:2', 'ada:3']);
    await page.screenshot({ path: join(screenshots, 'debates.png'), fullPage: true });

    // The sweep: accuracy against rounds, one line per persuasion bias, 95% CI error bars.
    await page.getByTestId('sweep-refresh').click();
    await expect.poll(() => page.locator('[data-testid="sweep-picker"] option[value="persuasion"]').count(), { timeout: 5_000 }).toBe(1);
    await page.getByTestId('sweep-picker').selectOption('persuasion');
    await expect.poll(() => page.getByTestId('sweep-line').count(), { timeout: 10_000 }).toBe(3);
    expect(await page.getByTestId('sweep-line').evaluateAll((lines) => lines.map((line) => line.getAttribute('data-series')))).toEqual(['0', '0.3', '0.6']);
    expect(await page.getByTestId('sweep-line').evaluateAll((lines) => lines.map((line) => line.getAttribute('data-points')))).toEqual(['3', '3', '3']);
    expect(await attribute('sweep-chart', 'data-metric')).toBe('accuracy');
    expect(await page.getByTestId('sweep-errorbar').count()).toBe(9);
    const bars = await page.getByTestId('sweep-errorbar').evaluateAll((all) => all.map((bar) => [Number(bar.getAttribute('data-low')), Number(bar.getAttribute('data-high'))]));
    expect(bars.every(([low, high]) => low! <= high! && low! >= -0.5 && high! <= 1.5)).toBe(true);

    // SVG export: the serialized svg element as a data URL, and as a download.
    const href = (await page.getByTestId('export-svg').getAttribute('href')) ?? '';
    expect(href.startsWith('data:image/svg+xml')).toBe(true);
    const svgText = decodeURIComponent(href.slice(href.indexOf(',') + 1));
    expect(svgText).toContain('<svg');
    expect(svgText.match(/data-testid="sweep-line"/g)).toHaveLength(3);
    const [svgDownload] = await Promise.all([page.waitForEvent('download', { timeout: 5_000 }), page.getByTestId('export-svg').click()]);
    expect(svgDownload.suggestedFilename()).toBe('persuasion-accuracy.svg');
    expect(readFileSync(await svgDownload.path(), 'utf8')).toContain('<svg');

    // PNG export: the SVG drawn on a canvas.
    const [pngDownload] = await Promise.all([page.waitForEvent('download', { timeout: 5_000 }), page.getByTestId('export-png').click()]);
    expect(pngDownload.suggestedFilename()).toBe('persuasion-accuracy.png');
    const png = readFileSync(await pngDownload.path());
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(await attribute('export-png', 'data-state')).toBe('done');
    await page.screenshot({ path: join(screenshots, 'debates-sweep.png'), fullPage: true });
  });
});
