/**
 * Piscina worker: folds a range of positions into one shard of a projection. It reads the events
 * through its own read-only connection, so the host never ships payloads across threads.
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
import { EventReader } from '../node/event-reader.ts';
import { openDatabase } from '../node/sqlite-schema.ts';
import type { ProjectionTask, ProjectionTaskResult } from '../node/projection-task.ts';

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
  const definition = findProjection(task.projection);
  if (definition === undefined) throw new Error(`unknown projection ${task.projection}`);
  const reader = readerFor(task.dbPath);
  const outcome = foldShard(definition, task.shard, JSON.parse(task.stateJson) as JsonValue, reader.readRange(task.fromPosition, task.toPosition), new Set(task.skip));
  const lastPosition = outcome.halted !== undefined ? outcome.halted.position - 1 : outcome.lastPosition === 0 ? task.fromPosition - 1 : outcome.lastPosition;
  return {
    stateJson: JSON.stringify(outcome.state),
    lastPosition: Math.max(task.fromPosition - 1, lastPosition),
    applied: outcome.applied,
    parked: outcome.parked,
    ...(outcome.halted === undefined ? {} : { halted: outcome.halted }),
  };
}
