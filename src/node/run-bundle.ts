/**
 * A run as one file: its event log (events, projections, snapshots, telemetry) compacted with
 * VACUUM INTO, and its manifest and report in a `bundle` table of the same SQLite file. The
 * file is its own proof: importing it verifies the hash chain and the manifest's head before
 * anything is kept.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AuraError } from '../core/kernel/errors.ts';
import { writeFileAtomic } from './files.ts';
import { readRunManifest } from './run-manifest.ts';
import { runFiles } from './run-files.ts';
import { verifyEventLogParallel } from './verify-parallel.ts';

/** `PRAGMA application_id` of a run bundle: "AURB". */
export const bundleApplicationId = 0x41555242;
export const bundleExtension = '.aura-run';

/** The run directory's text files carried in the bundle. */
const carried = ['manifest.json', 'report.json'] as const;

export interface ExportResult {
  readonly file: string;
  readonly runId: string;
  readonly events: number;
  readonly bytes: number;
}

export function exportRun(runDir: string, file: string): ExportResult {
  const manifest = readRunManifest(runDir);
  if (manifest.status === 'running') throw new AuraError('conflict', `run ${manifest.runId} is still running; export it once it has ended`);
  if (existsSync(file)) throw new AuraError('conflict', `${file} exists; an export never overwrites a file`);
  mkdirSync(dirname(file), { recursive: true });
  const partial = join(dirname(file), `.${basename(file)}.partial`);
  rmSync(partial, { force: true });
  const source = new Database(runFiles.eventLog(runDir), { readonly: true, fileMustExist: true });
  try {
    source.prepare('VACUUM INTO ?').run(partial);
  } finally {
    source.close();
  }
  const bundle = new Database(partial);
  let events: number;
  try {
    bundle.pragma('journal_mode = DELETE');
    bundle.exec('CREATE TABLE bundle (name TEXT PRIMARY KEY, content TEXT NOT NULL) STRICT');
    const insert = bundle.prepare('INSERT INTO bundle (name, content) VALUES (?, ?)');
    for (const name of carried) {
      const path = join(runDir, name);
      if (existsSync(path)) insert.run(name, readFileSync(path, 'utf8'));
    }
    bundle.pragma(`application_id = ${bundleApplicationId}`);
    events = (bundle.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    bundle.close();
  }
  renameSync(partial, file);
  return { file, runId: manifest.runId, events, bytes: statSync(file).size };
}

export interface ImportResult {
  readonly runDir: string;
  readonly runId: string;
  readonly events: number;
  readonly headHash: string;
}

/** Reads a bundle's carried files; AuraError('validation') when the file is not a run bundle. */
function readBundle(file: string): Map<string, string> {
  if (existsSync(file) && statSync(file).isDirectory()) throw new AuraError('validation', `${file}: a directory, not a run bundle (aura-lab export <run> --out FILE makes one)`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new AuraError('validation', `${file}: not a run bundle (${(error as Error).message})`);
  }
  try {
    const id = db.pragma('application_id', { simple: true }) as number;
    if (id !== bundleApplicationId) throw new AuraError('validation', `${file}: not an AURA Lab run bundle (SQLite application_id ${id})`);
    return new Map((db.prepare('SELECT name, content FROM bundle').all() as { name: string; content: string }[]).map((row) => [row.name, row.content]));
  } catch (error) {
    if (error instanceof AuraError) throw error;
    throw new AuraError('validation', `${file}: not a run bundle (${(error as Error).message})`);
  } finally {
    db.close();
  }
}

/** The run id a bundle's manifest names (for the default import directory). */
export function bundleRunId(file: string): string {
  const manifest = readBundle(file).get('manifest.json');
  if (manifest === undefined) throw new AuraError('validation', `${file}: the bundle has no manifest`);
  try {
    const runId = (JSON.parse(manifest) as { runId?: unknown }).runId;
    if (typeof runId === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId)) return runId;
  } catch {
    // Reported below.
  }
  throw new AuraError('validation', `${file}: the bundle's manifest has no valid runId`);
}

/**
 * Imports a bundle into `runDir` (absent or empty): the log is verified (integrity, every chain
 * link, the manifest's head) in a staging directory first; a bundle that fails leaves nothing.
 */
export async function importRun(file: string, runDir: string, onProgress?: (checked: number, total: number) => void): Promise<ImportResult> {
  const files = readBundle(file);
  const manifestText = files.get('manifest.json');
  if (manifestText === undefined) throw new AuraError('validation', `${file}: the bundle has no manifest`);
  if (existsSync(runDir) && readdirSync(runDir).length > 0) throw new AuraError('conflict', `${runDir} is not empty; an import never overwrites a run`);
  const staging = `${runDir}.importing-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    copyFileSync(file, runFiles.eventLog(staging));
    const db = new Database(runFiles.eventLog(staging));
    try {
      db.exec('DROP TABLE bundle');
      db.pragma('application_id = 0');
    } finally {
      db.close();
    }
    for (const [name, content] of files) if ((carried as readonly string[]).includes(name)) writeFileAtomic(join(staging, name), content);
    const manifest = readRunManifest(staging);
    const report = await verifyEventLogParallel(runFiles.eventLog(staging), onProgress === undefined ? {} : { onProgress });
    if (!report.ok) throw new AuraError('damaged', `${file}: the log does not verify: ${report.problems[0]?.detail ?? 'damaged'} (position ${report.problems[0]?.position ?? '?'})`);
    if (report.headPosition !== manifest.headPosition || report.headHash !== manifest.headHash) {
      throw new AuraError('damaged', `${file}: the manifest says the log ends at ${manifest.headPosition} (${manifest.headHash.slice(0, 12)}…), the log ends at ${report.headPosition}`);
    }
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(dirname(runDir), { recursive: true });
    renameSync(staging, runDir);
    return { runDir, runId: manifest.runId, events: report.events, headHash: report.headHash };
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
