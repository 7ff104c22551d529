/**
 * A lab's copy of its shared session: an automerge-repo `Repo` with its storage on disk under
 * `<dataDir>/session` (NodeFSStorageAdapter), holding one session document. The document's id is
 * kept in `<dataDir>/session/session.json` (mode 0600: the id is what a peer needs to ask for the
 * session, so it is treated as a secret and never logged).
 *
 * The repo shares that one document and nothing else: it announces and grants access only to the
 * session document, so a peer cannot use the lab to store or fetch other documents.
 *
 * Opening is fast and closing keeps it so (`session-storage.ts`): chunks are written atomically,
 * the document is loaded once with `Automerge.load`, and the first save after opening (the first
 * change, or close) compacts the session into one snapshot. A close with nothing to compact (heads
 * unchanged since a one-chunk load) writes nothing. `flush()` makes every change so far durable:
 * a change is acknowledged once `flush()` resolves (automerge-repo's own save follows a change
 * within ~100 ms too); a process killed after that loses none of it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as A from '@automerge/automerge';
import {
  decodeHeads,
  encodeHeads,
  isValidDocumentId,
  Repo,
  type DocHandle,
  type DocumentId,
  type NetworkAdapterInterface,
  type PeerId,
  type UrlHeads,
} from '@automerge/automerge-repo';
import { AuraError } from '../../core/kernel/errors.ts';
import { emptySession, ensureSections, readSession, type SessionDoc, type SessionView } from './session-doc.ts';
import { chunkCount, loadSettled, SessionStorageAdapter, useFastLoad } from './session-storage.ts';

export interface SessionRepoOptions {
  /** The lab's data directory; the session lives in `<dataDir>/session`. Omitted: memory only (a short-lived client). */
  readonly dataDir?: string;
  /** Network adapters to start with (more can be added with addNetworkAdapter). */
  readonly network?: readonly NetworkAdapterInterface[];
  /** Join this session (from an invite) instead of creating or loading the local one. */
  readonly documentId?: string;
  /** Title of a newly created session. */
  readonly title?: string;
  /** How long to wait for a joined document to arrive from peers; default 15 s. */
  readonly findTimeoutMs?: number;
}

/** One change in the session's history. */
export interface HistoryEntry {
  /** The heads right after this change (pass to viewAt / diff). */
  readonly heads: UrlHeads;
  readonly hash: string;
  readonly actor: string;
  readonly seq: number;
  /** Wall-clock time the author's machine recorded, in ms (0 when none). */
  readonly timeMs: number;
  readonly message: string | null;
  readonly deps: readonly string[];
}

/** Where the local copy stands against connected peers. */
export interface SyncStatus {
  readonly connectedPeers: number;
  /** Peers that have acknowledged every local change. */
  readonly peersUpToDate: number;
  /** Local changes that no connected peer has acknowledged yet (all local changes when alone). */
  readonly changesNotOnAnyPeer: number;
  readonly localHeads: UrlHeads;
  /** ms since epoch of the last acknowledgement from any peer, or undefined. */
  readonly lastSyncMs: number | undefined;
}

interface SessionFile {
  readonly documentId: string;
}

export function sessionDirOf(dataDir: string): string {
  return join(dataDir, 'session');
}

function sessionFilePath(dataDir: string): string {
  return join(sessionDirOf(dataDir), 'session.json');
}

/** The local session's document id, if this lab holds one. */
export function readSessionFile(dataDir: string): string | undefined {
  const path = sessionFilePath(dataDir);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new AuraError('damaged', 'session/session.json is not valid JSON');
  }
  const id = (parsed as Partial<SessionFile> | null)?.documentId;
  if (typeof id !== 'string' || !isValidDocumentId(id)) throw new AuraError('damaged', 'session/session.json does not name a valid session document');
  return id;
}

function writeSessionFile(dataDir: string, documentId: string): void {
  const path = sessionFilePath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ documentId } satisfies SessionFile)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

export class SessionRepo {
  private closed = false;

  private constructor(
    readonly repo: Repo,
    readonly handle: DocHandle<SessionDoc>,
    private readonly storage: SessionStorageAdapter | undefined,
    private readonly dataDir: string | undefined,
    /** What is on disk when the session was opened (one chunk, at these heads): nothing to save at close. */
    private readonly compactOnDisk: string | undefined,
  ) {}

  /**
   * Opens the lab's session: loads it from `<dataDir>/session`, creates it when there is none,
   * or (with `documentId`) joins that session, fetching it from the network when it is not on
   * disk yet. A lab holds one session; joining another one is a `conflict`.
   */
  static async open(options: SessionRepoOptions): Promise<SessionRepo> {
    const { dataDir } = options;
    let existing: string | undefined;
    if (dataDir !== undefined) {
      mkdirSync(sessionDirOf(dataDir), { recursive: true, mode: 0o700 });
      existing = readSessionFile(dataDir);
    }
    if (options.documentId !== undefined && !isValidDocumentId(options.documentId)) throw new AuraError('validation', 'invalid session document id');
    if (options.documentId !== undefined && existing !== undefined && existing !== options.documentId) {
      throw new AuraError('conflict', 'this data directory already holds another session; join with another data directory');
    }
    const target = options.documentId ?? existing;
    const allowed = (documentId: DocumentId | undefined): boolean => target !== undefined && documentId === target;
    let sessionId: string | undefined = target;
    const storage = dataDir === undefined ? undefined : new SessionStorageAdapter(sessionDirOf(dataDir));
    const repo = new Repo({
      ...(storage === undefined ? {} : { storage }),
      network: [...(options.network ?? [])],
      peerId: `lab-${randomBytes(8).toString('hex')}` as PeerId,
      shareConfig: {
        announce: (_peer, documentId) => Promise.resolve(allowed(documentId) || (sessionId !== undefined && documentId === sessionId)),
        access: (_peer, documentId) => Promise.resolve(allowed(documentId) || (sessionId !== undefined && documentId === sessionId)),
      },
    });
    useFastLoad(repo);
    let compactOnDisk: string | undefined;
    try {
      let handle: DocHandle<SessionDoc>;
      if (target === undefined) {
        handle = repo.create<SessionDoc>(emptySession(options.title ?? 'AURA Lab session'));
        sessionId = handle.documentId;
        if (dataDir !== undefined) {
          await repo.flush([handle.documentId]);
          writeSessionFile(dataDir, handle.documentId);
        }
      } else {
        const timeout = AbortSignal.timeout(options.findTimeoutMs ?? 15_000);
        const chunks = dataDir === undefined || existing === undefined ? 0 : chunkCount(sessionDirOf(dataDir), existing);
        // From the network: automerge-repo asks the peers connected when it looks, and calls the
        // document unavailable when there are none yet (after 1 s, even on a slow connection).
        if (chunks === 0 && (options.network?.length ?? 0) > 0) await firstPeer(repo, timeout);
        try {
          // On disk: findClassic hands the loaded document to the handle before it subscribes the
          // repo's saver, so opening writes nothing. From the network: find, as automerge-repo means.
          handle = chunks > 0 ? await repo.findClassic<SessionDoc>(target as DocumentId, { signal: timeout }) : await repo.find<SessionDoc>(target as DocumentId, { signal: timeout });
        } catch {
          throw new AuraError('unavailable', options.documentId === undefined ? 'the local session could not be loaded' : 'the session could not be fetched from the host (unreachable, refused, or no such session)');
        }
        await loadSettled();
        if (dataDir !== undefined && existing === undefined) {
          await repo.flush([handle.documentId]);
          writeSessionFile(dataDir, handle.documentId);
        }
        if (chunks === 1) compactOnDisk = headsKey(handle.heads());
      }
      return new SessionRepo(repo, handle, storage, dataDir, compactOnDisk);
    } catch (error) {
      await repo.shutdown().catch(() => undefined);
      await storage?.close();
      throw error;
    }
  }

  /** The session document's id (secret: give it only inside an invite). */
  get documentId(): DocumentId {
    return this.handle.documentId;
  }

  get directory(): string | undefined {
    return this.dataDir === undefined ? undefined : sessionDirOf(this.dataDir);
  }

  addNetworkAdapter(adapter: NetworkAdapterInterface): void {
    this.repo.networkSubsystem.addNetworkAdapter(adapter);
  }

  /** The raw document (as synced: may hold entries that readSession rejects). */
  doc(): A.Doc<SessionDoc> {
    return this.handle.doc();
  }

  /** The session's valid content, and what was rejected. */
  read(): SessionView {
    return readSession(this.handle.doc());
  }

  /** Applies a local change; writers from session-doc validate before they touch the document. */
  change(fn: (doc: SessionDoc) => void, message?: string): UrlHeads {
    if (this.closed) throw new AuraError('unavailable', 'the session is closed');
    this.handle.change(
      (doc) => {
        ensureSections(doc);
        fn(doc);
      },
      message === undefined ? {} : { message },
    );
    return this.handle.heads();
  }

  heads(): UrlHeads {
    return this.handle.heads();
  }

  /** Every change, in causal order. */
  history(): HistoryEntry[] {
    return A.getChangesMetaSince(this.handle.doc(), []).map((change) => ({
      heads: encodeHeads([change.hash]),
      hash: change.hash,
      actor: change.actor,
      seq: change.seq,
      timeMs: change.time * 1000,
      message: change.message,
      deps: change.deps,
    }));
  }

  /** The session as it was at `heads`. */
  /**
   * The session at `heads`. Automerge.view, not the handle's view(): that one keeps a copy of
   * the whole document for every point ever asked for, as long as the handle lives.
   */
  viewAt(heads: UrlHeads): SessionView {
    return readSession(A.view(this.handle.doc(), decodeHeads(heads)));
  }

  /** Patches from `from` to `to` (default: now). Both ends are passed: handle.diff(x) alone runs from now to x. */
  diff(from: UrlHeads, to: UrlHeads = this.handle.heads()): A.Patch[] {
    return this.handle.diff(from, to);
  }

  /** Connected peers and the local changes none of them has acknowledged. */
  syncStatus(): SyncStatus {
    const doc = this.handle.doc();
    const localHeads = this.handle.heads();
    const all = A.getChangesMetaSince(doc, []).length;
    const peers = this.repo.peers;
    let notOnAny = all;
    let upToDate = 0;
    let lastSyncMs: number | undefined;
    for (const peer of peers) {
      const storageId = this.repo.getStorageIdOfPeer(peer);
      const info = storageId === undefined ? undefined : this.handle.getSyncInfo(storageId);
      if (info === undefined) continue;
      lastSyncMs = Math.max(lastSyncMs ?? 0, info.lastSyncTimestamp);
      const known = decodeHeads(info.lastHeads).filter((head) => A.hasHeads(doc, [head]));
      const missing = A.getChangesMetaSince(doc, known).length;
      if (missing === 0) upToDate += 1;
      notOnAny = Math.min(notOnAny, missing);
    }
    return { connectedPeers: peers.length, peersUpToDate: upToDate, changesNotOnAnyPeer: notOnAny, localHeads, lastSyncMs };
  }

  /** Writes every change so far to disk (atomically); resolved, a kill loses none of them. */
  async flush(): Promise<void> {
    if (this.closed) return;
    await this.repo.flush([this.handle.documentId]);
  }

  /**
   * Stops syncing and writes pending changes to disk, compacted into one snapshot; nothing is
   * written when the session is still the one chunk it was opened from.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.compactOnDisk !== undefined && this.compactOnDisk === headsKey(this.handle.heads())) {
        // repo.shutdown() without its flush: disconnect every network adapter.
        for (const adapter of this.repo.networkSubsystem.adapters) adapter.disconnect();
      } else {
        await this.repo.flush().catch(() => undefined);
        await this.repo.shutdown();
      }
    } finally {
      await this.storage?.close();
    }
  }
}

/** Resolves when the repo has a connected peer, or when `signal` aborts. */
function firstPeer(repo: Repo, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (repo.peers.length > 0 || signal.aborted) return resolve();
    const done = (): void => {
      repo.networkSubsystem.off('peer', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    repo.networkSubsystem.on('peer', done);
    signal.addEventListener('abort', done);
  });
}

function headsKey(heads: UrlHeads): string {
  return [...heads].sort().join(',');
}
