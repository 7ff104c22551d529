import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../src/shared/api.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';
import { countEvents } from '../support/run-dir.ts';

const built = (path: string) => join(repoRoot, 'out', path);

describe('npm run build output', () => {
  it('contains main, preload, renderer, the engine host and its workers', () => {
    for (const file of ['main/index.js', 'main/host.js', 'main/cli.js', 'main/load-writer.js', 'main/projection-worker.js', 'main/chain-worker.js', 'main/sweep-worker.js', 'preload/index.cjs', 'renderer/index.html']) {
      expect(existsSync(built(file)), `out/${file} (run npm run build)`).toBe(true);
    }
    const preload = readFileSync(built('preload/index.cjs'), 'utf8');
    expect(preload).toMatch(/require\("electron"\)/);
    expect(preload).toContain('exposeInMainWorld');
  });

  it('runs the engine host from the build, with its worker threads, in plain Node', async () => {
    const home = temporaryDirectory();
    const child = fork(built('main/host.js'), [], {
      env: { ...process.env, AURA_LAB_DATA_DIR: home.path, AURA_LAB_SCENARIOS_DIR: join(repoRoot, 'scenarios') },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const messages: ServerMessage[] = [];
      const waitFor = <T>(pick: (message: ServerMessage | { type: 'ready' }) => T | undefined): Promise<T> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer from the built host; stderr: ${stderr}`)), 30_000);
          child.on('message', (message: ServerMessage) => {
            messages.push(message);
            const value = pick(message);
            if (value !== undefined) {
              clearTimeout(timer);
              resolve(value);
            }
          });
        });
      await waitFor((message) => (message.type === 'ready' ? true : undefined));
      const out = join(home.path, 'run');
      const finished = waitFor((message) => (message.type === 'push' && message.topic === 'run.finished' ? message.data : undefined));
      child.send({ type: 'request', id: 1, method: 'run.start', params: { scenario: 'hello.yaml', seed: 1, outDir: out } });
      const summary = await finished;
      expect(summary).toMatchObject({ status: 'completed', storeCount: 3302 });
      expect(countEvents(out)).toBe(3302);
      expect(messages.some((message) => message.type === 'push' && message.topic === 'projection.updated' && message.data.checkpoint === 3302)).toBe(true);
      // The verification worker thread starts from the build too.
      const verified = waitFor((message) => (message.type === 'push' && message.topic === 'events.verified' && message.data.state !== 'running' ? message.data : undefined));
      child.send({ type: 'request', id: 2, method: 'events.verify', params: { runId: summary.runId } });
      expect(await verified).toMatchObject({ state: 'intact', checked: 3302, total: 3302 });
    } finally {
      child.kill();
      home.remove();
    }
  });
});
