/**
 * Piscina worker: reads a range of positions once, through its own read-only connection (the
 * host never ships payloads across threads), and folds every shard of the task over it.
 *
 * Connections are kept between tasks (opening one and preparing its statements costs about a
 * millisecond, which at 20,000 events/s is most of a task) and closed once idle for a moment,
 * so that a finished run's file is soon left alone and can switch back to a single file.
 * Intermediate states travel as plain JSON.stringify text: canonical encoding is for comparing,
 * and costs several times more on large states.
 */
import type Database from 'better-sqlite3';
import type { JsonValue } from '../core/kernel/canonical.ts';
import { foldShard } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import type { RecordedEvent } from '../core/events/event.ts';
import { EventReader } from '../node/event-reader.ts';
import { openDatabase } from '../node/sqlite-schema.ts';
import type { ProjectionTask, ProjectionTaskResult, ShardFoldResult } from '../node/projection-task.ts';

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
  // One read for every fold; a single fold streams instead of holding the range.
  const events: Iterable<RecordedEvent> = task.folds.length === 1 ? reader.readRangeForFold(task.fromPosition, task.toPosition) : [...reader.readRangeForFold(task.fromPosition, task.toPosition)];
  return {
    folds: task.folds.map((fold): ShardFoldResult => {
      const definition = findProjection(fold.projection);
      if (definition === undefined) throw new Error(`unknown projection ${fold.projection}`);
      const outcome = foldShard(definition, fold.shard, JSON.parse(fold.stateJson) as JsonValue, events, new Set(fold.skip));
      const lastPosition = outcome.halted !== undefined ? outcome.halted.position - 1 : outcome.lastPosition === 0 ? task.fromPosition - 1 : outcome.lastPosition;
      return {
        stateJson: JSON.stringify(outcome.state),
        lastPosition: Math.max(task.fromPosition - 1, lastPosition),
        applied: outcome.applied,
        parked: outcome.parked,
        ...(outcome.halted === undefined ? {} : { halted: outcome.halted }),
      };
    }),
  };
}
