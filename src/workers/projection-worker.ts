/**
 * Piscina worker: folds a range of positions into a projection state. It reads the events
 * through its own read-only connection, so the host never ships payloads across threads.
 * The connection lives for one task only: a finished run's files are then closed and
 * self-contained (no WAL kept alive by an idle worker).
 */
import type { JsonValue } from '../core/kernel/canonical.ts';
import { canonicalJson } from '../core/kernel/canonical.ts';
import { findProjection } from '../core/projections/registry.ts';
import { EventReader } from '../node/event-reader.ts';
import { openDatabase } from '../node/sqlite-schema.ts';
import type { ProjectionTask, ProjectionTaskResult } from '../node/projection-task.ts';

export default function foldRange(task: ProjectionTask): ProjectionTaskResult {
  const definition = findProjection(task.projection);
  if (definition === undefined) throw new Error(`unknown projection ${task.projection}`);
  const db = openDatabase(task.dbPath, { readonly: true });
  try {
    const reader = new EventReader(db);
    let state = JSON.parse(task.stateJson) as JsonValue;
    let lastPosition = task.fromPosition - 1;
    let applied = 0;
    for (const event of reader.readRange(task.fromPosition, task.toPosition)) {
      state = definition.apply(state, event);
      lastPosition = event.position;
      applied += 1;
    }
    return { stateJson: canonicalJson(state), lastPosition, applied };
  } finally {
    db.close();
  }
}
