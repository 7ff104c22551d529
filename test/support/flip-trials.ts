/**
 * The byte-flip trials of `npm run bench -- chaos`, shared with the tests that pin trials the
 * repair once got wrong: one 4,000-event run (a backup at 2,000, a head record), copied per
 * trial and damaged by seeded bit flips.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRandom } from '../../src/core/kernel/random.ts';
import { createBackup } from '../../src/node/backups.ts';
import { runFiles } from '../../src/node/run-files.ts';
import { appendSeeded } from '../../src/node/seeded-load.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { flipBytes } from '../../src/node/storage-faults.ts';

/** Writes the trials' run at `base`. */
export async function writeFlipBase(base: string): Promise<void> {
  mkdirSync(base, { recursive: true });
  const store = new SqliteEventStore(runFiles.eventLog(base), { headRecordPath: runFiles.headRecord(base) });
  appendSeeded(store, 99, 4, 500);
  await createBackup(store, runFiles.backups(base), 1);
  appendSeeded(store, 99, 4, 500, 4);
  store.closeFinished();
}

/** Copies the run at `base` to `run` (log, head record, backup) and flips 1-6 seeded bits of its log. */
export function flipTrialRun(base: string, run: string, seed: number): void {
  mkdirSync(runFiles.backups(run), { recursive: true });
  copyFileSync(runFiles.eventLog(base), runFiles.eventLog(run));
  copyFileSync(runFiles.headRecord(base), runFiles.headRecord(run));
  for (const suffix of ['', '.json']) copyFileSync(join(runFiles.backups(base), `events-2000.sqlite${suffix}`), join(runFiles.backups(run), `events-2000.sqlite${suffix}`));
  const random = createRandom(seed).split('flip');
  flipBytes(runFiles.eventLog(run), random, random.int(1, 6), seed % 4 === 0 ? 0 : 100);
}
