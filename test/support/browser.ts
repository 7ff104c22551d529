import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, temporaryDirectory } from './fixtures.ts';

/** Where the e2e tests save their screenshots. */
export const screenshotsDir = join(repoRoot, 'test-results', 'e2e');

/** Debian's Chromium (apt-get install chromium); override with CHROMIUM_PATH. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((path): path is string => Boolean(path));
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install it with: apt-get install -y chromium`);
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `aura-lab serve` as a user would, and waits for the URL it prints. */
export function startServe(env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'serve', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aura-lab serve printed no URL in 30 s:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(output)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve({
          url,
          child,
          output: () => output,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aura-lab serve exited with ${code}:\n${output}`));
    });
  });
}

export interface BrowserSession {
  readonly serve: ServeProcess;
  readonly browser: Browser;
  readonly page: Page;
  /** The lab's home (AURA_LAB_HOME), a new temporary directory. */
  readonly home: string;
  close(): Promise<void>;
}

/** `aura-lab serve` on a new home directory, and a Chromium page of this size. */
export async function openBrowserSession(homePrefix: string, viewport: { width: number; height: number }): Promise<BrowserSession> {
  mkdirSync(screenshotsDir, { recursive: true });
  const home = temporaryDirectory(homePrefix);
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe({ AURA_LAB_HOME: home.path });
    const browser = await launchChromium();
    const page = await browser.newPage({ viewport });
    const started = serve;
    return {
      serve,
      browser,
      page,
      home: home.path,
      close: async () => {
        await browser.close();
        await started.stop();
        home.remove();
      },
    };
  } catch (error) {
    await serve?.stop();
    home.remove();
    throw error;
  }
}
