/**
 * Piscina worker: checks one slice of an event log, or its database (verify.ts: databaseCheck; verify-parallel.ts).
 *
 * A worker keeps its connection and reader across the slices of one verification (the pool
 * lives for one verification): the stream and type names it has looked up and SQLite's page
 * cache stay warm. Opening both per slice cost more than checking the slice (every slice
 * looked up every stream name again).
 */
import Database from 'better-sqlite3';
import { checkRange, type ChainTask, type RangeResult } from '../node/chain-check.ts';
import { EventReader } from '../node/event-reader.ts';
import { nativeChainRows, useNativeChain } from '../node/native-chain.ts';
import { databaseCheck, type DatabaseCheck } from '../node/verify.ts';

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

export default function chainTask(task: ChainTask): RangeResult | DatabaseCheck {
  if ('integrity' in task) {
    try {
      const db = readerFor(task.path, task.native).db;
      return databaseCheck(db, task.head, task.native && nativeChainRows(db) !== undefined);
    } catch (error) {
      return { lines: [`integrity_check failed: ${(error as Error).message}`] };
    }
  }
  return checkRange(readerFor(task.path, task.native), task.from, task.to, task.previousHash);
}
