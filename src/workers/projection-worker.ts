/**
 * Piscina worker: folds a range of positions into a projection state. It reads the events
 * through its own read-only connection, so the host never ships payloads across threads.
 * The connection lives for one task only: a finished run's files are then closed and
 * self-contained (no WAL kept alive by an idle worker).
 */
import Database from 'better-sqlite3';
import type { JsonValue } from '../core/kernel/canonical.ts';
import { canonicalJson } from '../core/kernel/canonical.ts';
import { findProjection } from '../core/projections/registry.ts';
import { rowToEvent, selectEventsSql, type EventRow } from '../node/sqlite-event-store.ts';
import type { ProjectionTask, ProjectionTaskResult } from '../node/projection-task.ts';

export default function foldRange(task: ProjectionTask): ProjectionTaskResult {
  const definition = findProjection(task.projection);
  if (definition === undefined) throw new Error(`unknown projection ${task.projection}`);
  const db = new Database(task.dbPath, { readonly: true, fileMustExist: true });
  try {
    const range = db.prepare<[number, number], EventRow>(`${selectEventsSql} WHERE e.position >= ? AND e.position <= ? ORDER BY e.position`);
    let state = JSON.parse(task.stateJson) as JsonValue;
    let lastPosition = task.fromPosition - 1;
    let applied = 0;
    for (const row of range.iterate(task.fromPosition, task.toPosition)) {
      const event = rowToEvent(row);
      state = definition.apply(state, event);
      lastPosition = event.position;
      applied += 1;
    }
    return { stateJson: canonicalJson(state), lastPosition, applied };
  } finally {
    db.close();
  }
}
