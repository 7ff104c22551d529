/**
 * Shared sessions across two lab hosts: two `aura-lab serve --share` processes (their own
 * AURA_LAB_HOME and their own copy of the scenarios directory), a Chromium page on each. Host B
 * joins host A's session through B's UI with an invite made in A's UI; A shares a local scenario,
 * a chaos plan and a drill note through its UI; annotations added on either page appear on the
 * other, each page lists the other user in presence (with A's Time travel cursor on B's page), and
 * each header badge shows one peer. B's page shows every section, the history and the session at
 * a past change; A puts its run in the session and B fetches it from A, verified, as a local run.
 * B uses the shared scenario (saved into its scenarios directory): it is listed in B's run tab
 * and runs there; A removes the chaos plan, and it goes from B's page.
 */
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotsDir } from '../support/browser.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';

interface Host {
  readonly url: string;
  readonly page: Page;
  /** The host's own scenarios directory (a copy of the repository's). */
  readonly scenariosDir: string;
  output(): string;
  stop(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
let browser: Browser;
let a: Host;
let b: Host;
/** The run Alice made in the first test. */
let aliceRun: string | undefined;
const sharedScenario = readFileSync(join(repoRoot, 'scenarios', 'hello.yaml'), 'utf8');

/** `aura-lab serve --share` on a new home; resolves with the URL it prints once it has printed the invite too. */
async function startSharedHost(): Promise<{ url: string; scenariosDir: string; output: () => string; stop: () => Promise<void> }> {
  const home = temporaryDirectory('aura-lab-e2e-session-');
  // Each host writes session scenarios into its own scenarios directory, never the repository's.
  const scenariosDir = join(home.path, 'scenarios');
  cpSync(join(repoRoot, 'scenarios'), scenariosDir, { recursive: true });
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'serve', '--port', '0', '--share'], {
    cwd: repoRoot,
    env: { ...process.env, AURA_LAB_HOME: home.path, AURA_LAB_SCENARIOS_DIR: scenariosDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = (): Promise<void> =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    }).then(() => home.remove());
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aura-lab serve --share printed no invite in 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(output)?.[0];
      if (found !== undefined && /aura-lab:\/\/127\.0\.0\.1:\d+\/join\?token=/.test(output)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aura-lab serve --share exited with ${code}:\n${output}`));
    });
  });
  return { url, scenariosDir, output: () => output, stop };
}

async function openHost(name: string): Promise<Host> {
  const serve = await startSharedHost();
  cleanups.push(serve.stop);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(serve.url);
  await page.locator('[data-testid="engine-status"][data-state="ready"]').waitFor({ timeout: 20_000 });
  await page.getByTestId('tab-session').click();
  await page.getByTestId('session-name').fill(name);
  return { url: serve.url, page, scenariosDir: serve.scenariosDir, output: serve.output, stop: serve.stop };
}

const texts = (page: Page): Promise<string[]> => page.getByTestId('annotation').evaluateAll((nodes) => nodes.map((node) => node.querySelector('.annotation-text')?.textContent ?? ''));

async function annotate(page: Page, runId: string, position: number, text: string): Promise<void> {
  await page.getByTestId('annotation-run').fill(runId);
  await page.getByTestId('annotation-position').fill(String(position));
  await page.getByTestId('annotation-text').fill(text);
  await page.getByTestId('annotation-add').click();
}

beforeAll(async () => {
  browser = await launchChromium();
  [a, b] = await Promise.all([openHost('alice'), openHost('bob')]);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await browser?.close();
});

describe('a session shared between two lab hosts', () => {
  it('joins through the UI, syncs annotations both ways, and shows presence and one peer', async () => {
    // Alone, each badge says so.
    await expect.poll(() => a.page.getByTestId('sync-status').textContent(), { timeout: 10_000 }).toContain('no peers connected');

    // A makes an invite in its UI; B pastes it and joins.
    await a.page.getByTestId('invite-read-write').click();
    const invite = await a.page.getByTestId('invite-text-read-write').inputValue();
    expect(invite).toMatch(/^aura-lab:\/\/127\.0\.0\.1:\d+\/join\?token=/);
    await b.page.getByTestId('join-invite').fill(invite);
    await b.page.getByTestId('join-submit').click();
    await b.page.getByTestId('joined').waitFor({ timeout: 20_000 });

    // A shares a local scenario (under another name), a chaos plan and a drill note through its UI.
    await a.page.getByTestId('session-share-scenario-select').selectOption('hello.yaml');
    await a.page.getByTestId('session-share-scenario-name').fill('hello-shared');
    await a.page.getByTestId('session-share-scenario').click();
    await a.page.locator('[data-testid="session-scenario"][data-name="hello-shared"]').waitFor({ timeout: 10_000 });
    // Once the engine has answered, the name typed is cleared.
    await expect.poll(() => a.page.getByTestId('session-share-scenario-name').inputValue(), { timeout: 10_000 }).toBe('');
    await expect.poll(() => a.page.locator('[data-testid="session-share-plan-select"] option[value="chaos/load-spike.yaml"]').count(), { timeout: 10_000 }).toBe(1);
    await a.page.getByTestId('session-share-plan-select').selectOption('chaos/load-spike.yaml');
    await a.page.getByTestId('session-share-plan').click();
    await a.page.locator('[data-testid="session-chaos-plan"][data-name="load-spike"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => a.page.locator('[data-testid="session-note-drill"] option[value="network-partition"]').count(), { timeout: 10_000 }).toBe(1);
    await a.page.getByTestId('session-note-drill').selectOption('network-partition');
    // Nothing to add without text; a name that is not a file's is refused inline.
    expect(await a.page.getByTestId('session-note-add').isDisabled()).toBe(true);
    await a.page.getByTestId('session-note-text').fill('Heal the partition after 30 s');
    await a.page.getByTestId('session-note-add').click();
    await a.page.locator('[data-testid="session-drill-note"][data-drill="network-partition"]').waitFor({ timeout: 10_000 });
    await a.page.getByTestId('session-share-scenario-select').selectOption('hello.yaml');
    await a.page.getByTestId('session-share-scenario-name').fill('not a name!');
    await a.page.getByTestId('session-share-scenario').click();
    await expect.poll(() => a.page.getByTestId('session-share-scenario-error').textContent(), { timeout: 10_000 }).toContain('name');
    await a.page.getByTestId('session-share-scenario-name').fill('');

    // Annotations travel both ways.
    await annotate(a.page, 'run-a', 5, 'hello from A');
    await annotate(b.page, 'run-b', 7, 'hello from B');
    for (const host of [a, b]) {
      await expect.poll(() => texts(host.page), { timeout: 10_000 }).toEqual(expect.arrayContaining(['hello from A', 'hello from B']));
    }
    const onB = b.page.locator('[data-testid="annotation"][data-run="run-a"]');
    expect(await onB.getAttribute('data-position')).toBe('5');
    expect(await onB.textContent()).toContain('alice');

    // One peer on each side, everything acknowledged.
    for (const host of [a, b]) {
      await expect.poll(() => host.page.getByTestId('sync-status').getAttribute('data-peers'), { timeout: 10_000 }).toBe('1');
      await expect.poll(() => host.page.getByTestId('sync-status').getAttribute('data-pending'), { timeout: 10_000 }).toBe('0');
      expect(await host.page.getByTestId('sync-status').textContent()).toContain('1 peer');
    }

    // Presence: each page lists the other user.
    await expect.poll(() => a.page.locator('[data-testid="presence-peer"][data-name="bob"]').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => b.page.locator('[data-testid="presence-peer"][data-name="alice"]').count(), { timeout: 10_000 }).toBe(1);

    // Alice seeks in Time travel; Bob sees where she is.
    await a.page.getByTestId('tab-run').click();
    await a.page.getByTestId('scenario-hello').click();
    await a.page.getByTestId('speed-select').selectOption('max');
    await a.page.getByTestId('start-run').click();
    await expect.poll(() => a.page.getByTestId('run-status').textContent({ timeout: 1_000 }).catch(() => ''), { timeout: 30_000 }).toBe('completed');
    await a.page.getByTestId('tab-time-travel').click();
    const runId = await a.page.getByTestId('time-travel-run').inputValue();
    aliceRun = runId;
    const bars = a.page.getByTestId('timeline-bar');
    await bars.first().waitFor({ timeout: 10_000 });
    await bars.nth(Math.floor((await bars.count()) / 2)).click();
    await expect.poll(() => a.page.getByTestId('seek-position').getAttribute('data-position'), { timeout: 5_000 }).not.toBeNull();
    const position = await a.page.getByTestId('seek-position').getAttribute('data-position');
    const alice = b.page.locator('[data-testid="presence-peer"][data-name="alice"]');
    await expect.poll(() => alice.getAttribute('data-run'), { timeout: 10_000 }).toBe(runId);
    await expect.poll(() => alice.getAttribute('data-position'), { timeout: 10_000 }).toBe(position);
    await b.page.screenshot({ path: join(screenshotsDir, 'session-b.png'), fullPage: true });

    // No invite token or session id in either host's log.
    const token = new URL(invite).searchParams.get('token')!;
    const documentId = new URL(invite).searchParams.get('doc')!;
    for (const host of [a, b]) {
      const logged = host.output().replace(/aura-lab:\/\/\S+/, '');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(documentId);
    }
  });

  it('shows every section and the history with a past view, and fetches the other host’s run verified', async () => {
    expect(aliceRun).toBeDefined();
    const runId = aliceRun!;

    // Every section of A's session on B's page (shared through A's UI); a scenario's text opens.
    await expect.poll(() => b.page.locator('[data-testid="session-scenario"][data-name="hello-shared"]').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => b.page.locator('[data-testid="session-chaos-plan"][data-name="load-spike"]').count()).toBe(1);
    expect(await b.page.locator('[data-testid="session-chaos-plan"][data-name="load-spike"]').textContent()).toContain('alice');
    const noteOnB = b.page.locator('[data-testid="session-drill-note"][data-drill="network-partition"]');
    expect(await noteOnB.textContent()).toContain('Heal the partition after 30 s');
    expect(await noteOnB.textContent()).toContain('alice');
    await b.page.locator('[data-testid="session-scenario"][data-name="hello-shared"]').getByTestId('session-scenario-open').click();
    await expect.poll(() => b.page.getByTestId('session-text').textContent(), { timeout: 5_000 }).toContain(sharedScenario.trim().split('\n')[0]!);
    expect(await b.page.getByTestId('session-counts').textContent()).toContain('1 chaos plan ·');

    // A puts its finished run in the session.
    await a.page.getByTestId('tab-session').click();
    const option = a.page.locator(`[data-testid="session-add-run-select"] option[value="${runId}"]`);
    await expect.poll(() => option.count(), { timeout: 10_000 }).toBe(1);
    await a.page.getByTestId('session-add-run-select').selectOption(runId);
    await a.page.getByTestId('session-add-run').click();
    const rowOnA = a.page.locator(`[data-testid="session-run"][data-run="${runId}"]`);
    await expect.poll(() => rowOnA.getAttribute('data-local'), { timeout: 10_000 }).toBe('true');
    const headHash = (await rowOnA.getAttribute('data-head-hash'))!;
    expect(headHash).toMatch(/^[0-9a-f]{64}$/);
    const events = Number(await rowOnA.getAttribute('data-events'));
    expect(events).toBeGreaterThan(0);

    // B's history: newest first, the run's change on top; the drill note's change shows the session as it was then.
    const changes = b.page.getByTestId('history-change');
    await expect.poll(() => changes.first().getAttribute('data-message'), { timeout: 10_000 }).toBe(`add run ${runId}`);
    expect(await b.page.getByTestId('history-mark').count()).toBe(await changes.count());
    // The change listed under it (A's and B's annotations may have been concurrent: it need not hold both).
    await changes.nth(1).click();
    const past = b.page.getByTestId('history-past');
    await expect.poll(() => past.getAttribute('data-changes-since'), { timeout: 10_000 }).not.toBe('');
    expect(Number(await past.getAttribute('data-changes-since'))).toBeGreaterThanOrEqual(1);
    expect(await past.getByTestId('past-session-run').count()).toBe(0);
    expect(await past.locator('[data-testid="history-diff-section"][data-section="runs"]').getAttribute('data-added')).toBe('1');
    const annotationsSince = past.locator('[data-testid="history-diff-section"][data-section="annotations"]');
    const addedSince = (await annotationsSince.count()) === 0 ? 0 : Number(await annotationsSince.getAttribute('data-added'));
    expect((await past.getByTestId('past-annotation').count()) + addedSince).toBe(2);
    await b.page.locator('[data-testid="history-change"][data-message="add drill note"]').click();
    await b.page.locator('[data-testid="history-past"][data-message="add drill note"][data-loading="false"]').waitFor({ timeout: 10_000 });
    expect(await past.getAttribute('data-changes-since')).not.toBe('');
    expect(await past.getByTestId('past-annotation').count()).toBe(0);
    expect(await past.locator('[data-testid="past-session-scenario"][data-name="hello-shared"]').count()).toBe(1);
    expect(await past.locator('[data-testid="past-session-drill-note"][data-drill="network-partition"]').count()).toBe(1);
    // A past view only shows: nothing to use or remove there.
    expect(await past.getByTestId('past-session-scenario-use').count()).toBe(0);
    expect(await past.locator('[data-testid="history-diff-section"][data-section="annotations"]').getAttribute('data-added')).toBe('2');
    await b.page.screenshot({ path: join(screenshotsDir, 'session-history-b.png'), fullPage: true });
    await b.page.getByTestId('history-past-close').click();

    // B fetches A's run: verified to the same head, then listed among B's local runs.
    const rowOnB = b.page.locator(`[data-testid="session-run"][data-run="${runId}"]`);
    await expect.poll(() => rowOnB.getAttribute('data-local'), { timeout: 10_000 }).toBe('false');
    await rowOnB.getByTestId('session-run-fetch').click();
    const state = rowOnB.getByTestId('session-run-fetch-state');
    await expect.poll(() => state.getAttribute('data-stage'), { timeout: 30_000 }).toBe('done');
    expect(await state.getAttribute('data-head-hash')).toBe(headHash);
    expect(await state.getAttribute('data-events')).toBe(String(events));
    expect(await state.textContent()).toContain('verified');
    await expect.poll(() => rowOnB.getAttribute('data-local'), { timeout: 10_000 }).toBe('true');
    await b.page.screenshot({ path: join(screenshotsDir, 'session-fetched-b.png'), fullPage: true });
    await b.page.getByTestId('tab-event-log').click();
    await expect.poll(() => b.page.locator(`[data-testid="event-log-run"] option[value="${runId}"]`).count(), { timeout: 10_000 }).toBe(1);
  });

  it('B uses the shared scenario: saved into its scenarios directory, listed in its run tab, and run; A removes the chaos plan', async () => {
    await b.page.getByTestId('tab-session').click();
    const entry = b.page.locator('[data-testid="session-scenario"][data-name="hello-shared"]');
    await entry.getByTestId('session-scenario-use').click();
    const saved = entry.getByTestId('session-scenario-saved');
    await expect.poll(() => saved.getAttribute('data-file'), { timeout: 10_000 }).toBe('session/hello-shared.yaml');
    expect(readFileSync(join(b.scenariosDir, 'session', 'hello-shared.yaml'), 'utf8')).toBe(sharedScenario);

    await b.page.getByTestId('tab-run').click();
    const listed = b.page.locator('[data-testid="scenario-hello"][data-file="session/hello-shared.yaml"]');
    await expect.poll(() => listed.count(), { timeout: 10_000 }).toBe(1);
    await listed.click();
    await b.page.getByTestId('speed-select').selectOption('max');
    await b.page.getByTestId('start-run').click();
    await expect.poll(() => b.page.getByTestId('run-status').textContent({ timeout: 1_000 }).catch(() => ''), { timeout: 30_000 }).toBe('completed');
    // A's run tab does not list it: the file is B's.
    await a.page.getByTestId('tab-run').click();
    expect(await a.page.locator('[data-testid="scenario-list"] [data-file="session/hello-shared.yaml"]').count()).toBe(0);

    await a.page.getByTestId('tab-session').click();
    await a.page.locator('[data-testid="session-chaos-plan"][data-name="load-spike"]').getByTestId('session-chaos-plan-remove').click();
    await b.page.getByTestId('tab-session').click();
    await expect.poll(() => b.page.locator('[data-testid="session-chaos-plan"][data-name="load-spike"]').count(), { timeout: 10_000 }).toBe(0);
    expect(await b.page.locator('[data-testid="session-scenario"][data-name="hello-shared"]').count()).toBe(1);
    await b.page.screenshot({ path: join(screenshotsDir, 'session-library-b.png'), fullPage: true });
  });
});
