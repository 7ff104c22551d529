/**
 * A lab's copy of its shared session: an automerge-repo `Repo` with its storage on disk under
 * `<dataDir>/session` (NodeFSStorageAdapter), holding one session document. The document's id is
 * kept in `<dataDir>/session/session.json` (mode 0600: the id is what a peer needs to ask for the
 * session, so it is treated as a secret and never logged).
 *
 * The repo shares that one document and nothing else: it announces and grants access only to the
 * session document, so a peer cannot use the lab to store or fetch other documents.
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
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs';
import { AuraError } from '../../core/kernel/errors.ts';
import { emptySession, ensureSections, readSession, type SessionDoc, type SessionView } from './session-doc.ts';

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
    private readonly dataDir: string | undefined,
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
    const repo = new Repo({
      ...(dataDir === undefined ? {} : { storage: new NodeFSStorageAdapter(sessionDirOf(dataDir)) }),
      network: [...(options.network ?? [])],
      peerId: `lab-${randomBytes(8).toString('hex')}` as PeerId,
      shareConfig: {
        announce: (_peer, documentId) => Promise.resolve(allowed(documentId) || (sessionId !== undefined && documentId === sessionId)),
        access: (_peer, documentId) => Promise.resolve(allowed(documentId) || (sessionId !== undefined && documentId === sessionId)),
      },
    });
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
        try {
          handle = await repo.find<SessionDoc>(target as DocumentId, { signal: timeout });
        } catch {
          throw new AuraError('unavailable', options.documentId === undefined ? 'the local session could not be loaded' : 'the session could not be fetched from the host (unreachable, refused, or no such session)');
        }
        if (dataDir !== undefined && existing === undefined) {
          await repo.flush([handle.documentId]);
          writeSessionFile(dataDir, handle.documentId);
        }
      }
      return new SessionRepo(repo, handle, dataDir);
    } catch (error) {
      await repo.shutdown().catch(() => undefined);
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
  viewAt(heads: UrlHeads): SessionView {
    return readSession(this.handle.view(heads).doc());
  }

  /** Patches from `from` to `to` (default: now). */
  diff(from: UrlHeads, to?: UrlHeads): A.Patch[] {
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

  /** Writes pending changes to disk and stops syncing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.repo.flush().catch(() => undefined);
    await this.repo.shutdown();
  }
}
