/**
 * Piscina worker: checks one slice of an event log, or runs SQLite's integrity_check (verify-parallel.ts).
 *
 * A worker keeps its connection and reader across the slices of one verification (the pool
 * lives for one verification): the stream and type names it has looked up and SQLite's page
 * cache stay warm. Opening both per slice cost more than checking the slice (every slice
 * looked up every stream name again).
 */
import Database from 'better-sqlite3';
import { checkRange, type ChainTask, type RangeResult } from '../node/chain-check.ts';
import { EventReader } from '../node/event-reader.ts';
import { useNativeChain } from '../node/native-chain.ts';
import { integrityCheck } from '../node/verify.ts';

let kept: { readonly path: string; readonly native: boolean; readonly reader: EventReader } | undefined;

function readerFor(path: string, native: boolean): EventReader {
  if (kept?.path !== path || kept.native !== native) {
    kept?.reader.db.close();
    kept = undefined;
    const db = new Database(path, { readonly: true, fileMustExist: true });
    if (native) useNativeChain(db);
    kept = { path, native, reader: new EventReader(db) };
  }
  return kept.reader;
}

export default function chainTask(task: ChainTask): RangeResult | string[] {
  if ('integrity' in task) {
    try {
      return integrityCheck(readerFor(task.path, task.native).db);
    } catch (error) {
      return [`integrity_check failed: ${(error as Error).message}`];
    }
  }
  return checkRange(readerFor(task.path, task.native), task.from, task.to, task.previousHash);
}
