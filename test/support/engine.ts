import { join } from 'node:path';
import { EngineSupervisor } from '../../src/host/engine-supervisor.ts';
import type { EngineState, RunSummary, ServerMessage } from '../../src/shared/api.ts';
import { ApiClient, ApiRequestError } from '../../src/shared/client.ts';
import { repoRoot, temporaryDirectory } from './fixtures.ts';

export interface EngineHarness {
  readonly supervisor: EngineSupervisor;
  readonly client: ApiClient;
  /** Every message the link received, in order. */
  readonly received: ServerMessage[];
  /** Sends a raw (possibly malformed) message and resolves with the reply to it. */
  sendRaw(message: unknown): Promise<ServerMessage>;
  waitForState(state: EngineState, timeoutMs?: number): Promise<void>;
  waitForRun(runId: string, timeoutMs?: number): Promise<RunSummary>;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** `scenariosDir`: the engine's scenarios directory (default: the repository's, which no test may write to). */
export async function startEngine(options: { restart?: boolean; backupEveryEvents?: number; scenariosDir?: string } = {}): Promise<EngineHarness> {
  const home = temporaryDirectory('aura-lab-engine-');
  const supervisor = new EngineSupervisor({
    dataDir: home.path,
    scenariosDir: options.scenariosDir ?? join(repoRoot, 'scenarios'),
    ...(options.restart === undefined ? {} : { restart: options.restart }),
    ...(options.backupEveryEvents === undefined ? {} : { backupEveryEvents: options.backupEveryEvents }),
  });
  const received: ServerMessage[] = [];
  const rawWaiters: ((message: ServerMessage) => void)[] = [];
  const client: ApiClient = new ApiClient((message) => link.send(message));
  const link = supervisor.connect((message) => {
    received.push(message);
    client.handle(message);
    if (message.type === 'response' && typeof message.id !== 'number') rawWaiters.shift()?.(message);
  });
  await supervisor.start();

  const waitFor = <T>(predicate: (message: ServerMessage) => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        for (const message of received) {
          const value = predicate(message);
          if (value !== undefined) return resolve(value);
        }
        if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
        setTimeout(poll, 20);
      };
      poll();
    });

  return {
    supervisor,
    client,
    received,
    dataDir: home.path,
    sendRaw: (message) =>
      new Promise((resolve) => {
        rawWaiters.push(resolve);
        link.send(message);
      }),
    waitForState: async (state, timeoutMs = 15_000) => {
      const from = received.length;
      await waitFor((message) => (received.indexOf(message) >= from && message.type === 'push' && message.topic === 'engine.status' && message.data.state === state ? true : undefined), timeoutMs, `engine ${state}`);
    },
    waitForRun: (runId, timeoutMs = 30_000) => waitFor((message) => (message.type === 'push' && message.topic === 'run.finished' && message.data.runId === runId ? message.data : undefined), timeoutMs, `run ${runId}`),
    close: async () => {
      link.close();
      await supervisor.stop();
      home.remove();
    },
  };
}

/** The typed error a request failed with; throws if it did not fail. */
export async function rejection(promise: Promise<unknown>): Promise<ApiRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiRequestError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}
