/**
 * How the session is kept on disk: automerge-repo's `NodeFSStorageAdapter` layout under
 * `<dataDir>/session` (`<id[0..2]>/<id[2..]>/{snapshot,incremental,sync-state}/<key>`), with two
 * changes that make it fast to open and safe to kill.
 *
 * - **Atomic chunk writes.** The stock adapter writes a chunk in place (`writeFile`), so a process
 *   killed mid-write, or a reader racing a writer of the same key, sees a truncated chunk; and
 *   automerge-repo rewrites the same snapshot key when it compacts at unchanged heads, which would
 *   truncate the only copy. Here every chunk is written to `.tmp-writes/` beside the chunks, flushed
 *   (`fdatasync`) and renamed into place: a reader sees the old chunk or the new one, never part.
 *   A killed writer leaves at most a stray file in `.tmp-writes/`, which is never read as a chunk
 *   and is removed on a later open.
 * - **One fast load.** automerge-repo loads a document with `Automerge.loadIncremental(init(), bytes)`,
 *   which builds a patch for every value of the document (about 2.5x `Automerge.load` for a session
 *   of 1,000 annotations), and its handle then diffs the result against the empty document (as long
 *   again as `Automerge.load`). `useFastLoad` makes the repo's storage subsystem load with
 *   `Automerge.load` instead (same bytes, same chunks, `allowMissingChanges` as loadIncremental
 *   tolerates) and spares the handle that diff. The repo then does not know which heads are on disk,
 *   so its first save after the load (the first change, or `flush`) writes one full snapshot and
 *   deletes the chunks it loaded: the session is compacted to one chunk, and the next open reads one.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import * as A from '@automerge/automerge';
import type { Chunk, DocumentId, Repo, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo';

/** A stray temporary file older than this was left by a killed writer. */
const strayAfterMs = 60_000;
const temporaryDirName = '.tmp-writes';

/**
 * A storage adapter with `NodeFSStorageAdapter`'s layout (so sessions written by either read the
 * same) whose writes are atomic. It keeps no cache: every load reads the disk. `close()` waits for
 * the writes in flight, and from then on it writes nothing: automerge-repo's throttled saves (of
 * the document, or of sync states) can be running when its repo is shut down, or fire after, when
 * the directory may be gone or hold another session.
 */
export class SessionStorageAdapter implements StorageAdapterInterface {
  private readonly temporaryDir: string;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly baseDirectory: string) {
    this.temporaryDir = join(baseDirectory, temporaryDirName);
    removeStrays(this.temporaryDir);
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.write(() => this.saveNow(key, data));
  }

  remove(key: StorageKey): Promise<void> {
    return this.write(() => rm(this.pathOf(key), { force: true }));
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const files = await walk(this.pathOf(prefix));
    return Promise.all(
      files.map(async (file) => {
        const [first = '', second = '', ...rest] = relative(this.baseDirectory, file).split(sep);
        const key = [`${first}${second}`, ...rest];
        return { key, data: await this.load(key) };
      }),
    );
  }

  removeRange(prefix: StorageKey): Promise<void> {
    return this.write(() => rm(this.pathOf(prefix), { recursive: true, force: true }));
  }

  /** Waits for the writes in flight; writes nothing from now on (call once the repo has shut down). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.inFlight);
  }

  /** Runs a write unless closed, and keeps it in flight until it settles. */
  private write(operation: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.resolve();
    const running = operation();
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return running;
  }

  private async saveNow(key: StorageKey, data: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const temporary = join(this.temporaryDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(this.temporaryDir, { recursive: true, mode: 0o700 });
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(data);
        await file.datasync();
      } finally {
        await file.close();
      }
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }


  /** `<base>/<first two characters of the first key part>/<the rest of it>/<the other parts>`. */
  private pathOf(key: StorageKey): string {
    const [first = '', ...rest] = key;
    return join(this.baseDirectory, first.slice(0, 2), first.slice(2), ...rest);
  }
}

/** Every file under `dir` (none when it does not exist), skipping hidden entries. */
async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
  const nested = await Promise.all(entries.filter((entry) => !entry.name.startsWith('.')).map((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)])));
  return nested.flat();
}

function removeStrays(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > strayAfterMs) rmSync(path, { force: true });
    } catch {
      // Gone already (another lab process cleaned it).
    }
  }
}

/** The number of stored chunks (snapshots and incrementals) of one document. */
export function chunkCount(baseDirectory: string, documentId: string): number {
  let count = 0;
  for (const kind of ['snapshot', 'incremental']) {
    try {
      count += readdirSync(join(baseDirectory, documentId.slice(0, 2), documentId.slice(2), kind)).length;
    } catch {
      // No chunk of that kind.
    }
  }
  return count;
}

/** Where Automerge keeps a document's metadata (its `_state`), and the patch cache in it. */
const automergeMeta = Symbol.for('_am_meta');
interface AutomergeMeta {
  mostRecentPatch?: { before: A.Heads; after: A.Heads; patches: A.Patch[] };
}

function metaOf(doc: unknown): AutomergeMeta | undefined {
  const meta: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, automergeMeta) : undefined;
  return typeof meta === 'object' && meta !== null ? (meta as AutomergeMeta) : undefined;
}

/**
 * Makes `repo` load documents from storage with `Automerge.load` (see the module comment). A repo
 * without storage is left as it is. An empty stored document counts as none (so a session whose
 * chunks are all empty is reported unavailable, never opened as a blank session).
 *
 * The handle that receives a loaded document diffs it against the empty document to emit a
 * `change` event (as long again as the load itself); a handle being loaded has no listener for it
 * yet. So the loaded document carries an empty patch cache for exactly that diff (Automerge's own
 * `mostRecentPatch`, which `diff` consults first). automerge-repo hands the document to the handle
 * in the same turn of the event loop (microtasks only), and the cache is removed at the next turn
 * (`setImmediate`; `loadSettled()` waits for it), before anyone else can ask for that diff or
 * change the document. Should Automerge keep its metadata elsewhere, nothing is cached and the
 * handle just pays for the diff.
 */
export function useFastLoad(repo: Repo): void {
  const storage = repo.storageSubsystem;
  if (storage === undefined) return;
  storage.loadDoc = async <T>(documentId: DocumentId): Promise<A.Doc<T> | null> => {
    const binary = await storage.loadDocData(documentId);
    if (binary === null || binary.byteLength === 0) return null;
    const doc = A.load<T>(binary, { allowMissingChanges: true });
    const meta = metaOf(doc);
    if (meta !== undefined && meta.mostRecentPatch === undefined) {
      const cached = { before: [], after: A.getHeads(doc), patches: [] };
      meta.mostRecentPatch = cached;
      setImmediate(() => {
        if (meta.mostRecentPatch === cached) delete meta.mostRecentPatch;
      });
    }
    return doc;
  };
}

/** Resolves once the patch cache of a document loaded by `useFastLoad` is gone (the next turn). */
export function loadSettled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
