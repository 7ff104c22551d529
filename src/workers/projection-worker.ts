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
import { foldShard, type ParkedEvent } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import type { RecordedEvent } from '../core/events/event.ts';
import { EventReader } from '../node/event-reader.ts';
import { openDatabase } from '../node/sqlite-schema.ts';
import type { ProjectionTask, ProjectionTaskResult, ShardFold, ShardFoldResult } from '../node/projection-task.ts';

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

export default function projectionTask(task: ProjectionTask): ProjectionTaskResult {
  const reader = readerFor(task.dbPath);
  // One read for every fold of the task.
  const events = [...reader.readRangeForFold(task.fromPosition, task.toPosition)];
  return { folds: task.folds.map((fold) => foldOne(fold, task.fromPosition, task.toPosition, events)) };
}

/** Folds one shard over the range, keeping its state at every snapshot position on the way. */
function foldOne(fold: ShardFold, from: number, to: number, events: readonly RecordedEvent[]): ShardFoldResult {
  const definition = findProjection(fold.projection);
  if (definition === undefined) throw new Error(`unknown projection ${fold.projection}`);
  const skip = new Set(fold.skip);
  const parked: ParkedEvent[] = [];
  const snapshots: { position: number; stateJson: string }[] = [];
  let state = JSON.parse(fold.stateJson) as JsonValue;
  let applied = 0;
  let lastPosition = from - 1;
  let halted: ParkedEvent | undefined;
  let index = 0;
  // Segment ends: each snapshot position inside the range, then the range's end.
  const ends: number[] = [];
  if (fold.snapshotEvery > 0) for (let at = Math.ceil(from / fold.snapshotEvery) * fold.snapshotEvery; at < to; at += fold.snapshotEvery) ends.push(at);
  ends.push(to);
  for (const end of ends) {
    let stop = index;
    while (stop < events.length && (events[stop] as RecordedEvent).position <= end) stop += 1;
    const outcome = foldShard(definition, fold.shard, state, events.slice(index, stop), skip);
    index = stop;
    state = outcome.state;
    applied += outcome.applied;
    parked.push(...outcome.parked);
    if (outcome.halted !== undefined) {
      halted = outcome.halted;
      lastPosition = outcome.halted.position - 1;
      break;
    }
    lastPosition = end;
    if (fold.snapshotEvery > 0 && end % fold.snapshotEvery === 0) snapshots.push({ position: end, stateJson: JSON.stringify(state) });
  }
  return { stateJson: JSON.stringify(state), lastPosition: Math.max(from - 1, lastPosition), applied, parked, snapshots, ...(halted === undefined ? {} : { halted }) };
}
