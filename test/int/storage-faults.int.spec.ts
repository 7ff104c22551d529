/**
 * Storage faults made real on real files: writes not yet synced lost from the WAL (as a power
 * loss would take them), and a full disk. Each must end with every committed event back, or
 * its position named lost, and nothing written on top of a failed append.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../src/core/kernel/random.ts';
import { repairEventLog } from '../../src/node/repair.ts';
import { runFiles } from '../../src/node/run-files.ts';
import { seededBatch } from '../../src/node/seeded-load.ts';
import { SqliteEventStore } from '../../src/node/sqlite-event-store.ts';
import { fillDisk, truncateWal } from '../../src/node/storage-faults.ts';
import { verifyEventLog } from '../../src/node/verify.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-storage-faults-');
afterAll(() => work.remove());

function hashes(path: string): Map<number, string> {
  const db = new Database(path, { readonly: true });
  try {
    return new Map((db.prepare('SELECT position, lower(hex(hash)) AS hash FROM events').all() as { position: number; hash: string }[]).map((row) => [row.position, row.hash]));
  } finally {
    db.close();
  }
}

describe('storage faults', () => {
  it.each([1, 2, 3])('names exactly the positions a power loss took from the WAL (seed %i)', async (seed) => {
    const runDir = join(work.path, `wal-${seed}`);
    mkdirSync(runDir, { recursive: true });
    const script = join(work.path, `writer-${seed}.mts`);
    // A writer whose WAL is never checkpointed (the engine checkpoints on a background thread), killed after 3,000 events.
    writeFileSync(
      script,
      `import { SqliteEventStore } from ${JSON.stringify(join(repoRoot, 'src/node/sqlite-event-store.ts'))};
import { appendSeeded } from ${JSON.stringify(join(repoRoot, 'src/node/seeded-load.ts'))};
import { runFiles } from ${JSON.stringify(join(repoRoot, 'src/node/run-files.ts'))};
const runDir = process.argv[2];
const store = new SqliteEventStore(runFiles.eventLog(runDir), { headRecordPath: runFiles.headRecord(runDir), backgroundCheckpoints: true });
store.db.pragma('wal_checkpoint(TRUNCATE)');
appendSeeded(store, ${seed}, 6, 500);
process.kill(process.pid, 'SIGKILL');
`,
    );
    await new Promise<void>((resolve) => spawn(process.execPath, ['--import', 'tsx', script, runDir], { cwd: repoRoot, stdio: 'ignore' }).on('exit', () => resolve()));
    const reference = join(work.path, `reference-${seed}.sqlite`);
    const store = new SqliteEventStore(reference);
    for (let batch = 0; batch < 6; batch++) store.appendBatch(seededBatch(seed, batch, 500));
    store.closeFinished();
    const original = hashes(reference);

    const cut = truncateWal(runFiles.eventLog(runDir), createRandom(seed));
    expect(cut.lostFrames, 'the cut took some frames').toBeGreaterThan(0);
    const report = await repairEventLog(runFiles.eventLog(runDir), { backupsDir: runFiles.backups(runDir), headRecordPath: runFiles.headRecord(runDir), nowMs: seed });
    expect(report.knownHead).toBe(3_000);
    expect(report.repaired).toBe(true);
    const after = hashes(runFiles.eventLog(runDir));
    const lost = new Set(report.lostPositions);
    for (const [position, hash] of original) {
      if (!lost.has(position)) expect(after.get(position), `position ${position}`).toBe(hash);
    }
    // What the cut took is a tail: every position after the last event that survived, each named
    // and a tombstone now; the log ends where it was acknowledged, with the hash acknowledged there.
    // It starts right after the last event the damaged file (with what was left of its WAL) still holds.
    const damaged = new Database(report.damagedCopy as string, { readonly: true });
    const survived = damaged.prepare('SELECT MAX(position) FROM events').pluck().get() as number;
    damaged.close();
    expect(survived).toBeGreaterThan(0);
    const firstLost = report.lostPositions[0] ?? 3_001;
    expect(firstLost).toBe(survived + 1);
    expect(report.lostPositions).toEqual(Array.from({ length: 3_001 - firstLost }, (_, index) => firstLost + index));
    expect(report.recoveredHead).toBe(3_000);
    expect(after.get(3_000)).toBe(original.get(3_000));
    const check = verifyEventLog(runFiles.eventLog(runDir));
    expect(check.problems.filter((problem) => problem.kind !== 'lost')).toEqual([]);
    expect(check.declaredLost).toEqual(report.lostPositions);
  }, 60_000);

  it('refuses appends on a full disk with a typed error, keeps the log intact, and goes on once there is room', () => {
    const path = join(work.path, 'full.sqlite');
    const store = new SqliteEventStore(path);
    store.appendBatch(seededBatch(5, 0, 200));
    const head = store.headPosition();
    const free = fillDisk(store.db);
    let failure: unknown;
    try {
      for (let batch = 1; batch < 50; batch++) store.appendBatch(seededBatch(5, batch, 200));
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).toMatch(/full/i);
    // The failed batch left nothing behind: the head is a batch boundary and the chain verifies.
    expect((store.headPosition() - head) % 200).toBe(0);
    const reached = store.headPosition();
    free();
    store.appendBatch(seededBatch(5, 99, 200));
    expect(store.headPosition()).toBe(reached + 200);
    store.closeFinished();
    expect(verifyEventLog(path).ok).toBe(true);
  });
});
