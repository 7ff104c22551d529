/**
 * The checkers (core/chaos/checkers.ts) run against a real event log after a chaos run: what
 * the writer acknowledged is looked up position by position, the chain and stream versions come
 * from a full verification, and every stored projection state is compared with a fold of the
 * log from scratch to the same checkpoint.
 */
import Database from 'better-sqlite3';
import type { JsonValue } from '../core/kernel/canonical.ts';
import { lostEventType } from '../core/events/event.ts';
import { checkAcknowledged, checkChain, checkProjections, combineChecks, type Acknowledged, type CheckReport, type CheckResult, type ProjectionComparison } from '../core/chaos/checkers.ts';
import { foldShard, initialShardState } from '../core/projections/projection.ts';
import { findProjection } from '../core/projections/registry.ts';
import { EventReader } from './event-reader.ts';
import { verifyEventLog, type VerifyReport } from './verify.ts';
import { verifyEventLogParallel } from './verify-parallel.ts';

export interface RunLogCheckOptions {
  readonly acknowledged: Iterable<Acknowledged>;
  /** Positions a repair named as lost. */
  readonly namedLost?: ReadonlySet<number>;
  /** A verification already made of this file. */
  readonly verification?: VerifyReport;
  readonly parallel?: boolean;
  /** Compare stored projection states with a replay (default true). */
  readonly projections?: boolean;
  /** More checks made elsewhere (debate safety, availability), reported together. */
  readonly extra?: readonly CheckResult[];
}

export interface RunLogCheck {
  readonly report: CheckReport;
  readonly verification: VerifyReport;
}

export async function checkRunLog(path: string, options: RunLogCheckOptions): Promise<RunLogCheck> {
  const verification = options.verification ?? (options.parallel === true ? await verifyEventLogParallel(path) : verifyEventLog(path));
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const lostTypeId = (db.prepare('SELECT type_id FROM event_types WHERE name = ?').get(lostEventType) as { type_id: number } | undefined)?.type_id;
    const at = db.prepare<[number], { hash: string; type_id: number }>('SELECT lower(hex(hash)) AS hash, type_id FROM events WHERE position = ?');
    const acknowledged = checkAcknowledged(
      options.acknowledged,
      (position) => {
        const row = at.get(position);
        return row === undefined ? undefined : { hash: row.hash, lost: row.type_id === lostTypeId };
      },
      options.namedLost,
    );
    const checks: CheckResult[] = [acknowledged, ...checkChain(verification.events, verification.problems)];
    if (options.projections !== false) checks.push(checkProjections(projectionComparisons(db)));
    checks.push(...(options.extra ?? []));
    return { report: combineChecks(checks), verification };
  } finally {
    db.close();
  }
}

/** Stored live projection shards against a fold from position 1 to their checkpoints. */
export function projectionComparisons(db: Database.Database): ProjectionComparison[] {
  const hasTable = (name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  if (!hasTable('projections')) return [];
  const rows = db.prepare("SELECT name, shard, version, checkpoint, state FROM projections WHERE role = 'live' ORDER BY name, shard").all() as { name: string; shard: number; version: number; checkpoint: number; state: string }[];
  const skips = hasTable('projection_skips') ? (db.prepare('SELECT name, position FROM projection_skips').all() as { name: string; position: number }[]) : [];
  const reader = new EventReader(db);
  const out: ProjectionComparison[] = [];
  for (const row of rows) {
    const definition = findProjection(row.name);
    // A state of another version is another fold's (the daemon rebuilds it at the next open): not comparable.
    if (definition === undefined || row.checkpoint === 0 || row.version !== definition.version) continue;
    const skip = new Set(skips.filter((item) => item.name === row.name).map((item) => item.position));
    const replayed = foldShard(definition, row.shard, initialShardState(definition), reader.readRangeForFold(1, row.checkpoint), skip).state;
    out.push({ name: row.name, shard: row.shard, checkpoint: row.checkpoint, stored: JSON.parse(row.state) as JsonValue, replayed });
  }
  return out;
}
