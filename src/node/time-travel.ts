/**
 * Time travel: a projection's state as of any position of a run, from the nearest snapshot the
 * daemon kept at or before it (every `limits.snapshotEveryEvents` events; after a catch-up split
 * over workers, a part joined onto its base, see ProjectionDaemon) plus a fold of the events
 * after it. Without snapshots (a log from before they existed) it folds from position 1.
 */
import type Database from 'better-sqlite3';
import { canonicalJson, type JsonValue } from '../core/kernel/canonical.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { foldShard, initialShardState, mergeShardStates, mergeShards, shardCount } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import type { RecordedEvent } from '../core/events/event.ts';
import { EventReader } from './event-reader.ts';

export interface StateAt {
  readonly position: number;
  readonly virtualTimeUs: number;
  readonly projection: string;
  readonly state: JsonValue;
  /** Events folded after the snapshot (what the answer cost). */
  readonly foldedEvents: number;
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

export function projectionStateAt(db: Database.Database, projection: string, position: number): StateAt {
  const definition = findProjection(projection);
  if (definition === undefined) throw new AuraError('not_found', `unknown projection ${projection}`);
  const head = (db.prepare('SELECT coalesce(max(position), 0) AS head FROM events').get() as { head: number }).head;
  if (position > head) throw new AuraError('validation', `position ${position} is past the head of the log (${head})`, [{ path: ['position'], message: `expected 0..${head}` }]);
  const reader = new EventReader(db);
  const shards = shardCount(definition);
  const snapshot = hasTable(db, 'projection_snapshots')
    ? db.prepare<[string, number, number], { position: number; state: string }>("SELECT position, state FROM projection_snapshots WHERE name = ? AND role = 'live' AND shard = ? AND position <= ? ORDER BY position DESC LIMIT 1")
    : undefined;
  // A part (a snapshot folded on another worker from the initial state after its base) is
  // joined onto the snapshot at its base when it is nearer than the nearest whole snapshot.
  const part = hasTable(db, 'projection_snapshot_parts')
    ? db.prepare<[string, number, number], { position: number; base: number; state: string }>("SELECT position, base, state FROM projection_snapshot_parts WHERE name = ? AND role = 'live' AND shard = ? AND position <= ? ORDER BY position DESC LIMIT 1")
    : undefined;
  const starts = Array.from({ length: shards }, (_, shard) => {
    const row = snapshot?.get(projection, shard, position);
    const nearer = part?.get(projection, shard, position);
    if (nearer !== undefined && nearer.position > (row?.position ?? 0) && definition.merge !== undefined) {
      const base = snapshot?.get(projection, shard, nearer.base);
      if (base?.position === nearer.base) return { position: nearer.position, state: mergeShardStates(definition, JSON.parse(base.state) as JsonValue, JSON.parse(nearer.state) as JsonValue) };
    }
    return row === undefined ? { position: 0, state: initialShardState(definition) } : { position: row.position, state: JSON.parse(row.state) as JsonValue };
  });
  const skips = hasTable(db, 'projection_skips')
    ? new Set((db.prepare('SELECT position FROM projection_skips WHERE name = ?').all(projection) as { position: number }[]).map((row) => row.position))
    : new Set<number>();
  const from = Math.min(...starts.map((start) => start.position)) + 1;
  const events: RecordedEvent[] = position >= from ? [...reader.readRange(from, position)] : [];
  const states = starts.map((start, shard) => foldShard(definition, shard, start.state, start.position + 1 === from ? events : events.filter((event) => event.position > start.position), skips).state);
  const at = position === 0 ? undefined : reader.rawAt(position);
  return {
    position,
    virtualTimeUs: at?.[7] ?? 0,
    projection,
    // Canonical, so that the same state always reads the same.
    state: JSON.parse(canonicalJson(mergeShards(definition, states))) as JsonValue,
    foldedEvents: events.length,
  };
}
