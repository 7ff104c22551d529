/**
 * The engine host's shared session: opens (or creates) the lab's session under the data
 * directory and, when sharing is on, starts the share server next to it. `close()` stops both.
 * Sharing beyond loopback logs a warning (no TLS: tokens and the session travel in clear), and
 * which host the invites carry when it was chosen for the user.
 */
import { isExposedHost, ShareServer, type ShareLimits } from '../node/session/share-server.ts';
import { setTitle } from '../node/session/session-doc.ts';
import { SessionRepo } from '../node/session/session-repo.ts';

export interface SessionHostOptions {
  readonly dataDir: string;
  /** Title for a session created now. */
  readonly title?: string;
  /**
   * Accept peers (`serve --share`): where to listen (127.0.0.1 and a free port by default), and
   * the host invites carry when listening on every interface (see `shareAddresses`).
   */
  readonly share?: { readonly host?: string; readonly inviteHost?: string; readonly port?: number; readonly limits?: Partial<ShareLimits>; readonly clock?: () => number };
  /** Receives peer events and warnings (never tokens or document ids). */
  readonly log?: (line: string) => void;
}

export interface SessionHost {
  readonly session: SessionRepo;
  readonly share: ShareServer | undefined;
  close(): Promise<void>;
}

export async function startSessionHost(options: SessionHostOptions): Promise<SessionHost> {
  const session = await SessionRepo.open({ dataDir: options.dataDir, ...(options.title === undefined ? {} : { title: options.title }) });
  // A title asked for renames a session that already has another (a change peers merge like any other).
  const title = options.title;
  if (title !== undefined && session.read().session.title !== title) {
    try {
      session.change((doc) => setTitle(doc, title), 'title');
    } catch (error) {
      await session.close();
      throw error;
    }
  }
  let share: ShareServer | undefined;
  if (options.share !== undefined) {
    try {
      share = await ShareServer.start({
        session,
        dataDir: options.dataDir,
        ...(options.share.host === undefined ? {} : { host: options.share.host }),
        ...(options.share.inviteHost === undefined ? {} : { inviteHost: options.share.inviteHost }),
        ...(options.share.port === undefined ? {} : { port: options.share.port }),
        ...(options.share.limits === undefined ? {} : { limits: options.share.limits }),
        ...(options.share.clock === undefined ? {} : { clock: options.share.clock }),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    } catch (error) {
      await session.close();
      throw error;
    }
    if (isExposedHost(share.host)) {
      options.log?.(
        `warning: the session is shared on ${share.host}:${share.port}, reachable from other machines, without TLS: invite tokens and the whole session travel in clear, so anyone on the network path can read them and join. Share this way only on a network you trust; otherwise keep 127.0.0.1 and use an SSH tunnel or a relay (README "Shared sessions").`,
      );
      if (options.share.inviteHost === undefined && share.inviteHost !== share.host) options.log?.(`invites carry ${share.inviteHost} (this machine's first non-internal IPv4 address); set another with --share-url-host (session share: --url-host)`);
    }
  }
  return {
    session,
    share,
    async close() {
      await share?.close();
      await session.close();
    },
  };
}
