/**
 * Piscina worker: folds a range of positions into one shard of a projection. It reads the events through its own read-only
 * connection, so the host never ships payloads across threads; the connection lives for one
 * task only, so a finished run's file is closed and self-contained.
 */
import type { JsonValue } from '../core/kernel/canonical.ts';
import { canonicalJson } from '../core/kernel/canonical.ts';
import { foldShard } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import { EventReader } from '../node/event-reader.ts';
import { openDatabase } from '../node/sqlite-schema.ts';
import type { ProjectionTask, ProjectionTaskResult } from '../node/projection-task.ts';

export default function projectionTask(task: ProjectionTask): ProjectionTaskResult {
  const definition = findProjection(task.projection);
  if (definition === undefined) throw new Error(`unknown projection ${task.projection}`);
  const db = openDatabase(task.dbPath, { readonly: true });
  try {
    const reader = new EventReader(db);
    const skip = new Set(task.skip);
    const outcome = foldShard(definition, task.shard, JSON.parse(task.stateJson) as JsonValue, reader.readRange(task.fromPosition, task.toPosition), skip);
    const lastPosition = outcome.halted !== undefined ? outcome.halted.position - 1 : outcome.lastPosition === 0 ? task.fromPosition - 1 : outcome.lastPosition;
    return {
      stateJson: canonicalJson(outcome.state),
      lastPosition: Math.max(task.fromPosition - 1, lastPosition),
      applied: outcome.applied,
      parked: outcome.parked,
      ...(outcome.halted === undefined ? {} : { halted: outcome.halted }),
    };
  } finally {
    db.close();
  }
}
