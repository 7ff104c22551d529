/**
 * A lab peer in its own process for the session tests: `node --import tsx session-peer.ts`,
 * driven over the IPC channel with `{ seq, op, ...args }` and answering `{ seq, ok, result | error }`.
 */
import { startSessionHost, type SessionHost } from '../../src/host/session-host.ts';
import { connectRelay, joinSession, type JoinedSession } from '../../src/node/session/join.ts';
import { addAnnotation } from '../../src/node/session/session-doc.ts';
import type { SessionRepo } from '../../src/node/session/session-repo.ts';
import type { InviteKind } from '../../src/node/session/share-server.ts';

interface Request {
  readonly seq: number;
  readonly op: string;
  readonly [key: string]: unknown;
}

let host: SessionHost | undefined;
let joined: JoinedSession | undefined;

function session(): SessionRepo {
  const repo = host?.session ?? joined?.session;
  if (repo === undefined) throw new Error('no session open');
  return repo;
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'host': {
      host = await startSessionHost({ dataDir: request.dataDir as string, title: request.title as string, share: { port: 0 } });
      return { port: host.share?.port };
    }
    case 'invite':
      if (host?.share === undefined) throw new Error('not sharing');
      return host.share.createInvite(request.kind as InviteKind);
    case 'join':
      joined = await joinSession({ dataDir: request.dataDir as string, invite: request.invite as string, retryIntervalMs: 200 });
      return { documentId: joined.session.documentId };
    case 'relay':
      joined = await connectRelay({
        dataDir: request.dataDir as string,
        relayUrl: request.relayUrl as string,
        retryIntervalMs: 200,
        ...(typeof request.documentId === 'string' ? { documentId: request.documentId } : {}),
        ...(typeof request.title === 'string' ? { title: request.title } : {}),
      });
      return { documentId: joined.session.documentId };
    case 'annotate': {
      const { id, runId, position, text, author } = request as unknown as { id: string; runId: string; position: number; text: string; author: string };
      session().change((doc) => addAnnotation(doc, id, { runId, position, author, text, createdAtMs: 1_700_000_000_000 + position }));
      return session().heads();
    }
    case 'read': {
      const repo = session();
      return { view: repo.read(), heads: [...repo.heads()].sort(), status: repo.syncStatus(), stats: host?.share?.stats(), history: repo.history().length };
    }
    case 'close':
      await host?.close();
      await joined?.close();
      return null;
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (result) => process.send?.({ seq: request.seq, ok: true, result }),
    (error: unknown) => process.send?.({ seq: request.seq, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
});
process.send?.({ seq: 0, ok: true, result: 'ready' });
