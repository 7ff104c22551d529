/** Piscina worker: checks one slice of an event log, or runs SQLite's integrity_check (verify-parallel.ts). */
import Database from 'better-sqlite3';
import { checkRange, type RangeResult } from '../node/chain-check.ts';
import { integrityCheck } from '../node/verify.ts';

export type ChainTask = { readonly path: string; readonly from: number; readonly to: number; readonly previousHash: string } | { readonly path: string; readonly integrity: true };

export default function chainTask(task: ChainTask): RangeResult | string[] {
  const db = new Database(task.path, { readonly: true, fileMustExist: true });
  try {
    if ('integrity' in task) {
      try {
        return integrityCheck(db);
      } catch (error) {
        return [`integrity_check failed: ${(error as Error).message}`];
      }
    }
    return checkRange(db, task.from, task.to, task.previousHash);
  } finally {
    db.close();
  }
}
