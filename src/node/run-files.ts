/** Where a run keeps its files. A run directory is self-contained and can be moved or shared. */
import { join } from 'node:path';

export const runFiles = {
  eventLog: (runDir: string): string => join(runDir, 'events.sqlite'),
  manifest: (runDir: string): string => join(runDir, 'manifest.json'),
  report: (runDir: string): string => join(runDir, 'report.json'),
  headRecord: (runDir: string): string => join(runDir, 'head.json'),
  backups: (runDir: string): string => join(runDir, 'backups'),
  repairReport: (runDir: string, stamp: string): string => join(runDir, `repair-${stamp}.json`),
};

/** A timestamp for file names: 20261125T221503123Z. */
export function fileStamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:.]/g, '');
}
