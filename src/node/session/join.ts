/**
 * The joining side of a session: parses an invite, connects a SessionRepo to the host over
 * WebSocket with the invite's token, fetches the session document, and reports honest sync
 * status (connected peers, local changes no peer has acknowledged yet).
 *
 * An invite is `aura-lab://<host>:<port>/join?token=<token>&doc=<documentId>` (as made by
 * `ShareServer.createInvite`); `ws://<host>:<port>/session?token=<token>&doc=<documentId>` is
 * accepted too. The token travels as the `token` query parameter of the WebSocket URL, which the
 * share server checks at the upgrade. automerge-repo's client adapter names its debug logger after
 * the URL it is given (`DEBUG=automerge-repo:*` prints it on every line), so the adapter is given
 * the URL without its query and credentials and connects with the full one (`url`, which it only
 * hands to the WebSocket). A relay (a stock automerge-repo sync server) is joined with
 * `connectRelay` instead: it needs no token, only the document id.
 */
import { isValidDocumentId, type NetworkAdapterInterface } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import WebSocket from 'ws';
import { AuraError } from '../../core/kernel/errors.ts';
import { SessionRepo, type SyncStatus } from './session-repo.ts';

export interface Invite {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly documentId: string;
  /** The WebSocket URL to connect to (carries the token: never log it). */
  readonly socketUrl: string;
}

/** Parses an invite; errors never repeat the token or the document id. */
export function parseInvite(text: string): Invite {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new AuraError('validation', 'not an invite: expected aura-lab://<host>:<port>/join?token=...&doc=...');
  }
  const scheme = url.protocol;
  if (scheme !== 'aura-lab:' && scheme !== 'ws:') throw new AuraError('validation', 'not an invite: the URL must start with aura-lab:// or ws://');
  if (scheme === 'aura-lab:' && url.pathname !== '/join') throw new AuraError('validation', 'not an invite: expected the path /join');
  const host = url.hostname;
  const port = Number(url.port);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) throw new AuraError('validation', 'not an invite: expected a host and a port');
  const token = url.searchParams.get('token') ?? '';
  if (!/^[A-Za-z0-9_-]{22,256}$/.test(token)) throw new AuraError('validation', 'not an invite: the token is missing or malformed');
  const documentId = url.searchParams.get('doc') ?? '';
  if (!isValidDocumentId(documentId)) throw new AuraError('validation', 'not an invite: the session id is missing or malformed');
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return { host, port, token, documentId, socketUrl: `ws://${hostPart}:${port}/session?token=${encodeURIComponent(token)}` };
}

/** A URL as it may be shown: without query, fragment or credentials (`ws://host:port/session`). */
function withoutSecrets(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'ws://(invalid url)';
  }
}

/**
 * automerge-repo's client adapter, made quiet: a refused or reset connection (a partition, a
 * restarting host) is retried instead of thrown, and its debug logger is named after the URL
 * without its secrets (see the module comment) while the socket uses the full URL.
 */
export class QuietWebSocketClientAdapter extends WebSocketClientAdapter {
  override onError = (): void => undefined;

  constructor(url: string, retryInterval?: number) {
    super(withoutSecrets(url), retryInterval);
    // Read-only in the adapter's types only: it reads `url` when it opens each socket.
    (this as { url: string }).url = url;
  }
}

/** Checks an invite's token at the host before syncing: a refusal becomes a typed error. */
export async function probeInvite(invite: Invite, timeoutMs = 5_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = new WebSocket(invite.socketUrl, { handshakeTimeout: timeoutMs });
    socket.on('open', () => {
      socket.terminate();
      resolve();
    });
    socket.on('unexpected-response', (_request, response) => {
      socket.terminate();
      reject(new AuraError(response.statusCode === 401 ? 'validation' : 'unavailable', response.statusCode === 401 ? 'the host refused the invite (revoked, mistyped, or for another host)' : `the host refused the connection (HTTP ${response.statusCode})`));
    });
    socket.on('error', (error: Error & { code?: string }) => {
      reject(new AuraError('unavailable', `the host cannot be reached (${error.code ?? 'connection failed'})`));
    });
  });
}

export interface JoinOptions {
  /** Where the joined session is kept (`<dataDir>/session`); omitted: memory only. */
  readonly dataDir?: string;
  readonly invite: string | Invite;
  /** Reconnect interval after a lost connection; default 500 ms. */
  readonly retryIntervalMs?: number;
  /** How long to wait for the session to arrive; default 15 s. */
  readonly timeoutMs?: number;
  /** Skip the token check before syncing (default: check, so a refusal is a clear error). */
  readonly skipProbe?: boolean;
}

/** A lab connected to a session through the network. */
export class JoinedSession {
  constructor(
    readonly session: SessionRepo,
    private readonly adapters: readonly NetworkAdapterInterface[],
  ) {}

  status(): SyncStatus {
    return this.session.syncStatus();
  }

  /** Resolves when a peer is connected and has acknowledged every local change. */
  async waitUntilSynced(timeoutMs = 10_000): Promise<SyncStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.status();
      if (status.connectedPeers > 0 && status.peersUpToDate > 0 && status.changesNotOnAnyPeer === 0) return status;
      if (Date.now() > deadline) throw new AuraError('unavailable', `not synced after ${timeoutMs} ms (${status.connectedPeers} peer(s) connected, ${status.changesNotOnAnyPeer} local change(s) not on any peer)`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  get adapterCount(): number {
    return this.adapters.length;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** Joins the session an invite names: connects, fetches the document, keeps syncing. */
export async function joinSession(options: JoinOptions): Promise<JoinedSession> {
  const invite = typeof options.invite === 'string' ? parseInvite(options.invite) : options.invite;
  if (options.skipProbe !== true) await probeInvite(invite);
  const adapter = new QuietWebSocketClientAdapter(invite.socketUrl, options.retryIntervalMs ?? 500);
  const session = await SessionRepo.open({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    documentId: invite.documentId,
    network: [adapter],
    findTimeoutMs: options.timeoutMs ?? 15_000,
  });
  return new JoinedSession(session, [adapter]);
}

/**
 * Connects a session to a relay (a stock automerge-repo sync server) at `ws://host:port`. The
 * relay sees the document id and the document's content; see README "Shared sessions".
 */
export async function connectRelay(options: { readonly dataDir?: string; readonly relayUrl: string; readonly documentId?: string; readonly title?: string; readonly retryIntervalMs?: number; readonly timeoutMs?: number }): Promise<JoinedSession> {
  const adapter = new QuietWebSocketClientAdapter(options.relayUrl, options.retryIntervalMs ?? 500);
  const session = await SessionRepo.open({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.documentId === undefined ? {} : { documentId: options.documentId }),
    ...(options.title === undefined ? {} : { title: options.title }),
    network: [adapter],
    findTimeoutMs: options.timeoutMs ?? 15_000,
  });
  return new JoinedSession(session, [adapter]);
}
