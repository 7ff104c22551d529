/**
 * Shared sessions across two lab hosts: two `aura-lab serve --share` processes (their own
 * AURA_LAB_HOME), a Chromium page on each. Host B joins host A's session through B's UI with an
 * invite made in A's UI; annotations added on either page appear on the other, each page lists
 * the other user in presence (with A's Time travel cursor on B's page), and each header badge
 * shows one peer.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshotsDir } from '../support/browser.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';

interface Host {
  readonly url: string;
  readonly page: Page;
  output(): string;
  stop(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
let browser: Browser;
let a: Host;
let b: Host;

/** `aura-lab serve --share` on a new home; resolves with the URL it prints once it has printed the invite too. */
async function startSharedHost(): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const home = temporaryDirectory('aura-lab-e2e-session-');
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'serve', '--port', '0', '--share'], {
    cwd: repoRoot,
    env: { ...process.env, AURA_LAB_HOME: home.path },
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
  return { url, output: () => output, stop };
}

async function openHost(name: string): Promise<Host> {
  const serve = await startSharedHost();
  cleanups.push(serve.stop);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(serve.url);
  await page.locator('[data-testid="engine-status"][data-state="ready"]').waitFor({ timeout: 20_000 });
  await page.getByTestId('tab-session').click();
  await page.getByTestId('session-name').fill(name);
  return { url: serve.url, page, output: serve.output, stop: serve.stop };
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
});
