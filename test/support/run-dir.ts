import { join } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson, type JsonValue } from '../../src/core/kernel/canonical.ts';
import { mergeShards, replayProjection } from '../../src/core/projections/projection.ts';
import { findProjection } from '../../src/core/projections/registry.ts';
import { EventReader } from '../../src/node/event-reader.ts';

/** Everything in a run's events table, as rows, for byte-for-byte comparison. */
export function dumpEvents(runDir: string): unknown[] {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    return db
      .prepare(
        'SELECT e.position, s.name AS stream, e.version, hex(e.id) AS id, t.name AS type, e.schema_version, e.payload, e.virtual_time_us, hex(e.causation_id) AS causation, e.correlation_id, hex(e.hash) AS hash FROM events e JOIN streams s USING (stream_id) JOIN event_types t USING (type_id) ORDER BY e.position',
      )
      .all();
  } finally {
    db.close();
  }
}

export function countEvents(runDir: string): number {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The stored projection state (shards merged) and checkpoint next to a single-threaded replay from scratch. */
export function projectionAgainstReplay(runDir: string, name: string): { stored: string; checkpoint: number; replayed: string; head: number } {
  const db = new Database(join(runDir, 'events.sqlite'), { readonly: true });
  try {
    const definition = findProjection(name);
    if (definition === undefined) throw new Error(`no projection ${name}`);
    const rows = db.prepare("SELECT checkpoint, state FROM projections WHERE name = ? AND role = 'live' ORDER BY shard").all(name) as { checkpoint: number; state: string }[];
    const events = [...new EventReader(db).readRange(1, Number.MAX_SAFE_INTEGER)];
    return {
      stored: canonicalJson(mergeShards(definition, rows.map((row) => JSON.parse(row.state) as JsonValue))),
      checkpoint: Math.min(...rows.map((row) => row.checkpoint)),
      replayed: replayProjection(definition, events).stateJson,
      head: events.length,
    };
  } finally {
    db.close();
  }
}
