/**
 * Verification on worker threads: the log is cut into slices; each slice's chain links are
 * checked from the stored hash just before it. The first worker checks the database
 * (verify.ts: databaseCheck), then checks slices. With `onCallerThread` (the CLI, whose process does nothing else) this thread
 * checks slices too, from the start, while the workers boot (about 0.1-0.2 s each, a third of a
 * 300,000-event verification when this thread only waited), yielding to its event loop between
 * slices (~25-60 ms each). The engine host leaves it off: its thread runs live runs. The slices are
 * stitched together in order (verify.ts: assembleReport), so the report is the same as a
 * single-threaded one.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Piscina } from 'piscina';
import { genesisHashHex } from '../core/events/encoding.ts';
import { checkRange, type ChainTask, type RangeResult } from './chain-check.ts';
import { EventReader } from './event-reader.ts';
import { useNativeChain } from './native-chain.ts';
import { workerEntry } from './runtime.ts';
import { assembleReport, integrityCheckOf, integrityFindings, openOrReport, withHeaderFindings, type DatabaseCheck, type VerifyReport } from './verify.ts';

/** Events per slice; tests may lower it through the options. */
const defaultSliceEvents = 20_000;

/**
 * `threads`: worker threads (default: 1 to 2, one per core, but one fewer when this thread
 * checks slices too).
 */
export async function verifyEventLogParallel(
  path: string,
  options: { threads?: number; sliceEvents?: number; native?: boolean; onCallerThread?: boolean; onProgress?: (checked: number, total: number) => void } = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const sliceEvents = options.sliceEvents ?? defaultSliceEvents;
  const native = options.native ?? true;
  const opened = openOrReport(path, started);
  if (!('db' in opened)) return opened;
  const { db, head, streams, chunks } = opened;
  const onCallerThread = options.onCallerThread ?? false;
  const threads = options.threads ?? Math.max(1, Math.min(2, availableParallelism() - (onCallerThread ? 1 : 0)));
  const entry = workerEntry('chain-worker');
  const pool = new Piscina({ filename: entry.url.href, minThreads: threads, maxThreads: threads, execArgv: entry.execArgv });
  const pumps: Promise<unknown>[] = [];
  try {
    let integrity: Promise<DatabaseCheck> | undefined;
    const results: RangeResult[] = [];
    try {
      integrity = pool.run({ path, native, integrity: true, head } satisfies ChainTask) as Promise<DatabaseCheck>;
      const hashAt = db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?');
      const boundaries: { from: number; to: number; previousHash: string }[] = [];
      for (let from = 1; from <= Math.max(head, 1); from += sliceEvents) {
        const previousHash = from === 1 ? genesisHashHex : (hashAt.get(from - 1)?.hash ?? '');
        boundaries.push({ from, to: Math.max(from, Math.min(head, from + sliceEvents - 1)), previousHash });
      }
      // Slices are handed out in order to whichever thread is free: a worker when its last one
      // is done, this thread between turns of its event loop.
      let next = 0;
      let checked = 0;
      const done = (index: number, result: RangeResult): void => {
        results[index] = result;
        checked += result.events;
        options.onProgress?.(checked, head);
      };
      for (let worker = 0; worker < threads; worker++) {
        pumps.push(
          (async () => {
            if (worker === 0) await integrity;
            while (next < boundaries.length) {
              const index = next++;
              done(index, (await pool.run({ path, native, ...boundaries[index]! } satisfies ChainTask)) as RangeResult);
            }
          })(),
        );
        // Handled now (a failed worker would otherwise be an unhandled rejection while this
        // thread checks slices); its error is still thrown by the Promise.all below.
        pumps[worker]!.catch(() => undefined);
      }
      if (onCallerThread) {
        if (native) useNativeChain(db);
        const reader = new EventReader(db);
        while (next < boundaries.length) {
          const index = next++;
          const slice = boundaries[index]!;
          done(index, checkRange(reader, slice.from, slice.to, slice.previousHash));
          await yieldToEventLoop();
        }
      }
    } catch (error) {
      // The tasks already running end with the pool (below); their outcome no longer matters.
      integrity?.catch(() => undefined);
      return assembleReport(path, started, [`cannot read: ${(error as Error).message}`], []);
    } finally {
      db.close();
    }
    // All at once: a worker that fails while another still runs is not left unhandled.
    const [check] = await Promise.all([integrity, ...pumps]);
    return assembleReport(path, started, withHeaderFindings(integrityFindings(check, results, () => integrityCheckOf(path)), path), results, streams, chunks);
  } finally {
    await pool.destroy();
  }
}
