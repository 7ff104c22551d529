/**
 * Piscina worker: reads a range of positions once, through its own read-only connection (the
 * host never ships payloads across threads), and folds every shard of the task over it,
 * keeping each live shard's state at the snapshot positions it passes (time travel).
 *
 * Connections are kept between tasks (opening one and preparing its statements costs about a
 * millisecond, which at 20,000 events/s is most of a task) and closed once idle for a moment,
 * so that a finished run's file is soon left alone and can switch back to a single file.
 * Intermediate states travel as plain JSON.stringify text: canonical encoding is for comparing,
 * and costs several times more on large states.
 */
import type Database from 'better-sqlite3';
import type { JsonValue } from '../core/kernel/canonical.ts';
import { foldShard, type ParkedEvent, type ProjectionDefinition } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import { EventReader } from '../node/event-reader.ts';
import { openDatabase } from '../node/sqlite-schema.ts';
import type { ProjectionTask, ProjectionTaskResult, ShardFold } from '../node/projection-task.ts';

const idleCloseMs = 150;
const connections = new Map<string, { db: Database.Database; reader: EventReader; lastUsedMs: number }>();
let sweep: ReturnType<typeof setTimeout> | undefined;

function closeIdle(): void {
  sweep = undefined;
  const now = performance.now();
  for (const [path, connection] of connections) {
    if (now - connection.lastUsedMs >= idleCloseMs) {
      connection.db.close();
      connections.delete(path);
    }
  }
  if (connections.size > 0) sweep = setTimeout(closeIdle, idleCloseMs);
}

function readerFor(path: string): EventReader {
  let connection = connections.get(path);
  if (connection === undefined) {
    const db = openDatabase(path, { readonly: true });
    connection = { db, reader: new EventReader(db), lastUsedMs: 0 };
    connections.set(path, connection);
  }
  connection.lastUsedMs = performance.now();
  sweep ??= setTimeout(closeIdle, idleCloseMs);
  return connection.reader;
}

/**
 * Events are read and folded a chunk at a time: every fold of the task takes a chunk before
 * the next is read, so events die young (a whole range held in memory survives the young
 * generation and is copied into the old one, which cost more than the folds themselves).
 */
const chunkEvents = 2_048;
const utf8 = new TextEncoder();

interface FoldProgress {
  readonly definition: ProjectionDefinition;
  readonly fold: ShardFold;
  readonly skip: ReadonlySet<number>;
  state: JsonValue;
  applied: number;
  lastPosition: number;
  parked: ParkedEvent[];
  halted: ParkedEvent | undefined;
  snapshots: { position: number; state: Uint8Array }[];
}

export default function projectionTask(task: ProjectionTask): ProjectionTaskResult {
  const reader = readerFor(task.dbPath);
  const { fromPosition: from, toPosition: to } = task;
  const progress: FoldProgress[] = task.folds.map((fold) => {
    const definition = findProjection(fold.projection);
    if (definition === undefined) throw new Error(`unknown projection ${fold.projection}`);
    return { definition, fold, skip: new Set(fold.skip), state: JSON.parse(fold.stateJson) as JsonValue, applied: 0, lastPosition: from - 1, parked: [], halted: undefined, snapshots: [] };
  });
  // One read of each chunk for every fold; chunks end at every snapshot position on the way (time travel).
  const snapshotEvery = [...new Set(task.folds.map((fold) => fold.snapshotEvery).filter((every) => every > 0))];
  for (let start = from; start <= to; ) {
    let end = Math.min(to, start + chunkEvents - 1);
    for (const every of snapshotEvery) end = Math.min(end, Math.max(every, Math.ceil(start / every) * every));
    const events = reader.readRangeForFoldAll(start, end);
    for (const item of progress) {
      if (item.halted !== undefined) continue;
      const outcome = foldShard(item.definition, item.fold.shard, item.state, events, item.skip);
      item.state = outcome.state;
      item.applied += outcome.applied;
      for (const parked of outcome.parked) item.parked.push(parked);
      if (outcome.halted !== undefined) {
        item.halted = outcome.halted;
        item.lastPosition = outcome.halted.position - 1;
        continue;
      }
      item.lastPosition = end;
      if (item.fold.snapshotEvery > 0 && end % item.fold.snapshotEvery === 0) item.snapshots.push({ position: end, state: utf8.encode(JSON.stringify(item.state)) });
    }
    start = end + 1;
  }
  return {
    folds: progress.map((item) => ({
      stateJson: JSON.stringify(item.state),
      lastPosition: Math.max(from - 1, item.lastPosition),
      applied: item.applied,
      parked: item.parked,
      snapshots: item.snapshots,
      ...(item.halted === undefined ? {} : { halted: item.halted }),
    })),
  };
}
