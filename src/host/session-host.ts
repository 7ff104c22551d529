/**
 * The engine host's shared session: opens (or creates) the lab's session under the data
 * directory and, when sharing is on, starts the share server next to it. `close()` stops both.
 */
import { ShareServer, type ShareLimits } from '../node/session/share-server.ts';
import { SessionRepo } from '../node/session/session-repo.ts';

export interface SessionHostOptions {
  readonly dataDir: string;
  /** Title for a session created now. */
  readonly title?: string;
  /** Accept peers (`serve --share`): where to listen (127.0.0.1 and a free port by default). */
  readonly share?: { readonly host?: string; readonly port?: number; readonly limits?: Partial<ShareLimits> };
  /** Receives peer events (never tokens or document ids). */
  readonly log?: (line: string) => void;
}

export interface SessionHost {
  readonly session: SessionRepo;
  readonly share: ShareServer | undefined;
  close(): Promise<void>;
}

export async function startSessionHost(options: SessionHostOptions): Promise<SessionHost> {
  const session = await SessionRepo.open({ dataDir: options.dataDir, ...(options.title === undefined ? {} : { title: options.title }) });
  let share: ShareServer | undefined;
  if (options.share !== undefined) {
    try {
      share = await ShareServer.start({
        session,
        dataDir: options.dataDir,
        ...(options.share.host === undefined ? {} : { host: options.share.host }),
        ...(options.share.port === undefined ? {} : { port: options.share.port }),
        ...(options.share.limits === undefined ? {} : { limits: options.share.limits }),
        ...(options.log === undefined ? {} : { log: options.log }),
      });
    } catch (error) {
      await session.close();
      throw error;
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
