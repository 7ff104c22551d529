/**
 * Verification on worker threads: the log is cut into slices; each worker checks its slices'
 * chain links from the stored hash just before the slice, and one task runs integrity_check.
 * The slices are stitched together in order (verify.ts: assembleReport), so the report is the
 * same as a single-threaded one.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { genesisHashHex } from '../core/events/encoding.ts';
import type { ChainTask, RangeResult } from './chain-check.ts';
import { workerEntry } from './runtime.ts';
import { assembleReport, openOrReport, readChunksOrReport, readStreams, type VerifyReport } from './verify.ts';

/** Events per slice; tests may lower it through the options. */
const defaultSliceEvents = 20_000;

export async function verifyEventLogParallel(path: string, options: { threads?: number; sliceEvents?: number; native?: boolean; onProgress?: (checked: number, total: number) => void } = {}): Promise<VerifyReport> {
  const started = performance.now();
  const sliceEvents = options.sliceEvents ?? defaultSliceEvents;
  const native = options.native ?? true;
  const opened = openOrReport(path, started);
  if (!('db' in opened)) return opened;
  const { db, head } = opened;
  // The workers start while this thread cuts the slices, and check them while it reads the
  // streams and the stream index.
  const threads = options.threads ?? Math.max(1, Math.min(2, availableParallelism()));
  const entry = workerEntry('chain-worker');
  const pool = new Piscina({ filename: entry.url.href, minThreads: threads, maxThreads: threads, execArgv: entry.execArgv });
  try {
    let checked = 0;
    let integrity: Promise<string[]> | undefined;
    let slices: Promise<RangeResult[]> | undefined;
    let streams: ReturnType<typeof readStreams>;
    let chunks: ReturnType<typeof readChunksOrReport>;
    try {
      integrity = pool.run({ path, native, integrity: true } satisfies ChainTask) as Promise<string[]>;
      const hashAt = db.prepare<[number], { hash: string }>('SELECT lower(hex(hash)) AS hash FROM events WHERE position = ?');
      const boundaries: { from: number; to: number; previousHash: string }[] = [];
      for (let from = 1; from <= Math.max(head, 1); from += sliceEvents) {
        const previousHash = from === 1 ? genesisHashHex : (hashAt.get(from - 1)?.hash ?? '');
        boundaries.push({ from, to: Math.max(from, Math.min(head, from + sliceEvents - 1)), previousHash });
      }
      slices = Promise.all(
        boundaries.map(async (slice) => {
          const result = (await pool.run({ path, native, ...slice } satisfies ChainTask)) as RangeResult;
          checked += result.events;
          options.onProgress?.(checked, head);
          return result;
        }),
      );
      streams = readStreams(db);
      chunks = readChunksOrReport(db);
    } catch (error) {
      // The tasks already queued end with the pool (below); their outcome no longer matters.
      integrity?.catch(() => undefined);
      slices?.catch(() => undefined);
      return assembleReport(path, started, [`cannot read: ${(error as Error).message}`], [], []);
    } finally {
      db.close();
    }
    // Both at once: a slice that fails while integrity_check still runs is not left unhandled.
    const [integrityLines, sliceResults] = await Promise.all([integrity, slices]);
    return assembleReport(path, started, integrityLines, sliceResults, streams, chunks);
  } finally {
    await pool.destroy();
  }
}
