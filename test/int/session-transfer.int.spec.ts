/** Runs travel between peers: a run bundle fetched over the share server's authenticated port. */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { readRunManifest } from '../../src/node/run-manifest.ts';
import { replayRun } from '../../src/node/replay.ts';
import { parseInvite } from '../../src/node/session/join.ts';
import { bundleShaHeader, fetchRunBundle } from '../../src/node/session/run-transfer.ts';
import { SessionRepo } from '../../src/node/session/session-repo.ts';
import { ShareServer } from '../../src/node/session/share-server.ts';
import { runCli } from '../support/cli.ts';
import { temporaryDirectory } from '../support/fixtures.ts';

const work = temporaryDirectory('aura-lab-transfer-');
const hostData = join(work.path, 'host');
const runId = 'hello-1';
let session: SessionRepo;
let share: ShareServer;
let rwInvite: string;
let roInvite: string;

function withPort(invite: string, port: number): string {
  return invite.replace(/:(\d+)\/join/, `:${port}/join`);
}

/** A raw GET: status, headers and body length of the answer. */
function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; bytes: number }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes }));
    })
      .on('error', reject)
      .end();
  });
}

async function rejection(promise: Promise<unknown>): Promise<AuraError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AuraError);
    return error as AuraError;
  }
  throw new Error('expected a rejection');
}

/** A TCP proxy to the share server that cuts every answer after `limit` bytes. */
async function truncatingProxy(targetPort: number, limit: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let sent = 0;
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const room = limit - sent;
      if (room <= 0) return;
      client.write(chunk.subarray(0, room));
      sent += Math.min(room, chunk.byteLength);
      if (sent >= limit) {
        upstream.destroy();
        client.end(() => client.destroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
}

beforeAll(async () => {
  const ran = await runCli(['run', 'scenarios/hello.yaml', '--out', join(hostData, 'runs', runId), '--json'], { AURA_LAB_HOME: join(work.path, 'home') });
  expect(ran.code).toBe(0);
  session = await SessionRepo.open({ dataDir: hostData, title: 'Transfer' });
  share = await ShareServer.start({ session, dataDir: hostData });
  rwInvite = share.createInvite('read-write');
  roInvite = share.createInvite('read-only');
}, 60_000);

afterAll(async () => {
  await share.close();
  await session.close();
  work.remove();
});

describe('run bundles over the share server', () => {
  it('fetches a run bundle, verifies it, and the fetched run replays to identical hashes', async () => {
    const peerData = join(work.path, 'peer');
    const fetched = await fetchRunBundle({ invite: rwInvite, runId, dataDir: peerData });
    expect(fetched.runDir).toBe(join(peerData, 'runs', runId));
    expect(fetched.events).toBe(3302);
    const source = readRunManifest(join(hostData, 'runs', runId));
    expect(fetched.headHash).toBe(source.headHash);
    expect(fetched.runId).toBe(source.runId);
    const replay = replayRun(fetched.runDir);
    const original = replayRun(join(hostData, 'runs', runId));
    console.log(`transfer: ${fetched.bytes} bytes in ${fetched.transferMs.toFixed(0)} ms, import ${fetched.importMs.toFixed(0)} ms; replay identical=${replay.identical}`);
    expect(replay.identical).toBe(true);
    expect(replay.headHash).toBe(original.headHash);
    expect(replay.events).toBe(original.events);
    // Only the run directory is left: no temporary download.
    expect(readdirSync(join(peerData, 'runs'))).toEqual([runId]);
    // A second fetch into a non-empty directory is refused before anything is downloaded.
    expect((await rejection(fetchRunBundle({ invite: rwInvite, runId, dataDir: peerData }))).code).toBe('conflict');
  });

  it('a read-only token may fetch runs too (from the exported bundle, with its SHA-256 header)', async () => {
    const outDir = join(work.path, 'reader', 'copy');
    const fetched = await fetchRunBundle({ invite: roInvite, runId, outDir });
    expect(fetched.runDir).toBe(outDir);
    expect(replayRun(outDir).identical).toBe(true);
    const { token } = parseInvite(roInvite);
    const answer = await rawGet(share.port, `/runs/${runId}/bundle?token=${encodeURIComponent(token)}`);
    expect(answer.status).toBe(200);
    expect(Number(answer.headers['content-length'])).toBe(answer.bytes);
    expect(answer.headers[bundleShaHeader]).toBe(fetched.sha256);
    expect(share.stats().bundleRequests).toBeGreaterThanOrEqual(2);
  });

  it('a wrong or missing token gets a bodiless 401, the same whether or not the run exists', async () => {
    const wrong = `Bearer ${'A'.repeat(43)}`;
    const answers = [
      await rawGet(share.port, `/runs/${runId}/bundle`, { Authorization: wrong }),
      await rawGet(share.port, `/runs/no-such-run/bundle`, { Authorization: wrong }),
      await rawGet(share.port, `/runs/${runId}/bundle`),
      await rawGet(share.port, `/runs/${runId}/bundle?token=${'B'.repeat(43)}`),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.bytes).toBe(0);
      expect(answer.headers[bundleShaHeader]).toBeUndefined();
    }
    expect(answers[0]?.headers).toEqual(answers[1]?.headers);
    const invite = parseInvite(rwInvite);
    const forged = rwInvite.replace(invite.token, 'C'.repeat(43));
    const refused = await rejection(fetchRunBundle({ invite: forged, runId, outDir: join(work.path, 'forged', 'run') }));
    expect(refused.code).toBe('validation');
    expect(refused.message).not.toContain(invite.token);
    expect(existsSync(join(work.path, 'forged', 'run'))).toBe(false);
    expect(readdirSync(join(work.path, 'forged'))).toEqual([]);
  });

  it('refuses path traversal in the run id, and names an unknown run', async () => {
    const { token } = parseInvite(rwInvite);
    const auth = { Authorization: `Bearer ${token}` };
    for (const path of ['/runs/../bundle', '/runs/..%2F..%2Fsession/bundle', '/runs/%2Fetc%2Fpasswd/bundle', '/runs/.hidden/bundle', '/runs/a%00b/bundle']) {
      const answer = await rawGet(share.port, path, auth);
      expect(answer.status, path).toBe(400);
      expect(answer.bytes).toBe(0);
    }
    expect((await rawGet(share.port, '/runs/no-such-run/bundle', auth)).status).toBe(404);
    for (const id of ['../session', '..', 'a/b', '/etc/passwd', '']) expect((await rejection(fetchRunBundle({ invite: rwInvite, runId: id, outDir: join(work.path, 'never') }))).code).toBe('validation');
    expect((await rejection(fetchRunBundle({ invite: rwInvite, runId: 'no-such-run', outDir: join(work.path, 'never') }))).code).toBe('not_found');
    expect(readdirSync(work.path)).not.toContain('never');
  });

  it('refuses a truncated download and an oversized one, and leaves nothing behind', async () => {
    const proxy = await truncatingProxy(share.port, 64 * 1024);
    try {
      const parent = join(work.path, 'truncated');
      mkdirSync(parent);
      const truncated = await rejection(fetchRunBundle({ invite: withPort(rwInvite, portOf(proxy)), runId, outDir: join(parent, 'run') }));
      expect(truncated.code).toBe('damaged');
      expect(truncated.message).toMatch(/truncated/);
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
    const parent = join(work.path, 'oversized');
    mkdirSync(parent);
    const oversized = await rejection(fetchRunBundle({ invite: rwInvite, runId, outDir: join(parent, 'run'), maxBytes: 100_000 }));
    expect(oversized.code).toBe('limit');
    expect(readdirSync(parent)).toEqual([]);
  });
});
