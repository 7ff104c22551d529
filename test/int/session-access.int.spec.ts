/**
 * Access to a shared session beyond the basics of session.int.spec.ts: invites that expire (an
 * injected clock, no sleeping), sharing on another address than loopback (`--share-host`), and
 * automerge-repo's debug output, which must never show an invite token.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startSessionHost } from '../../src/host/session-host.ts';
import { joinSession, parseInvite } from '../../src/node/session/join.ts';
import { addAnnotation } from '../../src/node/session/session-doc.ts';
import { SessionRepo } from '../../src/node/session/session-repo.ts';
import { addInvite, formatInvite, invitesPath, localShareHost, readShareAddress, ShareServer } from '../../src/node/session/share-server.ts';
import { redact } from '../../src/node/session/redaction.ts';
import { runCli } from '../support/cli.ts';
import { repoRoot } from '../support/fixtures.ts';
import { cleanupsAfterEach } from '../support/fixtures.ts';
import { PeerProcess, rawUpgrade, waitForConvergence } from '../support/session-peers.ts';

const { cleanups, tempDir } = cleanupsAfterEach('aura-lab-session-access-');

const hour = 3_600_000;

/** A bundle request with this token in the header: status and body. */
async function bundleRequest(port: number, token: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/runs/some-run/bundle`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.text() };
}

describe('invites that expire', () => {
  it('refuses an expired invite exactly like a wrong one, and a fresh invite still works (injected clock)', async () => {
    let now = Date.UTC(2026, 10, 26, 9, 0, 0);
    const session = await SessionRepo.open({ title: 'Expiry' });
    cleanups.push(() => session.close());
    const share = await ShareServer.start({ session, clock: () => now });
    cleanups.push(() => share.close());
    const expiring = parseInvite(share.createInvite('read-write', { ttlMs: 24 * hour }));
    const forever = parseInvite(share.createInvite('read-only'));
    const path = (token: string): string => `/session?token=${encodeURIComponent(token)}`;

    expect((await rawUpgrade(share.port, path(expiring.token))).status).toBe(101);
    now += 24 * hour - 1;
    expect((await rawUpgrade(share.port, path(expiring.token))).status).toBe(101);
    now += 1;
    const expired = await rawUpgrade(share.port, path(expiring.token));
    const wrong = await rawUpgrade(share.port, path('A'.repeat(43)));
    expect(expired).toEqual({ status: 401, headers: wrong.headers, body: '' });
    expect(wrong.status).toBe(401);
    expect(await bundleRequest(share.port, expiring.token)).toEqual({ status: 401, body: '' });

    // An invite without expiry, and one made now, still open connections.
    expect((await rawUpgrade(share.port, path(forever.token))).status).toBe(101);
    const fresh = parseInvite(share.createInvite('read-write', { ttlMs: hour }));
    expect((await rawUpgrade(share.port, path(fresh.token))).status).toBe(101);
    expect(() => share.createInvite('read-write', { ttlMs: 10 })).toThrow(/between 1 s and 365 days/);
    // Limits that cannot work are refused before anything listens.
    await expect(ShareServer.start({ session, limits: { maxMessagesPerSecond: 0.2 } })).rejects.toThrow(/share limits: maxMessagesPerSecond must be a number >= 1 \(got 0.2\)/);
    await expect(ShareServer.start({ session, limits: { maxPeers: Number.NaN } })).rejects.toThrow(/maxPeers must be a number >= 1/);
  });

  it('keeps the expiry with the token digest in invites.json, where the running server reads it, and drops expired ones', async () => {
    let now = Date.UTC(2026, 10, 26, 9, 0, 0);
    const dataDir = tempDir();
    const host = await startSessionHost({ dataDir, share: { clock: () => now } });
    cleanups.push(() => host.close());
    const share = host.share as ShareServer;
    // What `aura-lab session invite --expires 1h` does while the server runs.
    const token = addInvite(dataDir, 'read-only', { nowMs: now, ttlMs: hour });
    const file = JSON.parse(readFileSync(invitesPath(dataDir), 'utf8')) as { invites: { digest: string; expiresAtMs?: number }[] };
    expect(file.invites).toHaveLength(1);
    expect(file.invites[0]?.expiresAtMs).toBe(now + hour);
    expect(JSON.stringify(file)).not.toContain(token);

    const invite = formatInvite('127.0.0.1', share.port, token, host.session.documentId);
    const joined = await joinSession({ invite });
    await joined.close();
    now += hour;
    await expect(joinSession({ invite })).rejects.toThrow(/refused the invite/);
    addInvite(dataDir, 'read-write', { nowMs: now });
    const after = JSON.parse(readFileSync(invitesPath(dataDir), 'utf8')) as { invites: unknown[] };
    expect(after.invites).toHaveLength(1);
  });

  it('aura-lab session invite --expires: a bad duration is exit 2 naming the flag', async () => {
    const home = tempDir();
    for (const bad of ['0s', '10x', '9000h']) {
      const result = await runCli(['session', 'invite', '--expires', bad], { AURA_LAB_HOME: home });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--expires');
    }
  });
});

describe('sharing beyond loopback', () => {
  const lanAddress = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;

  it('takes a title asked for when the session already has another, and keeps its content', async () => {
    const dataDir = tempDir();
    const first = await startSessionHost({ dataDir, title: 'First' });
    first.session.change((doc) => addAnnotation(doc, 'kept', { runId: 'run-1', position: 1, author: 'me', text: 'still here', createdAtMs: 1 }));
    await first.close();
    const again = await startSessionHost({ dataDir, title: 'Renamed' });
    cleanups.push(() => again.close());
    expect([again.session.read().session.title, again.session.read().session.annotations.kept?.text]).toEqual(['Renamed', 'still here']);
  });

  it('on 0.0.0.0: warns that nothing is encrypted, names the LAN address in invites, and peers join through it', async () => {
    const dataDir = tempDir();
    const lines: string[] = [];
    const host = await startSessionHost({ dataDir, title: 'LAN', share: { host: '0.0.0.0' }, log: (line) => lines.push(line) });
    cleanups.push(() => host.close());
    const share = host.share as ShareServer;
    expect(share.host).toBe('0.0.0.0');
    expect(lines.join('\n')).toMatch(/warning: the session is shared on 0\.0\.0\.0:\d+, reachable from other machines, without TLS/);
    const invite = parseInvite(share.createInvite('read-write'));
    expect(invite.host).toBe(lanAddress ?? '127.0.0.1');
    const address = readShareAddress(dataDir);
    expect(address).toMatchObject({ host: invite.host, port: share.port, bindHost: '0.0.0.0' });
    expect(localShareHost(address as NonNullable<typeof address>)).toBe('127.0.0.1');
    // A peer joins at the address the invite names.
    const joined = await joinSession({ invite: share.createInvite('read-write'), retryIntervalMs: 200 });
    cleanups.push(() => joined.close());
    joined.session.change((doc) => addAnnotation(doc, 'from-lan', { runId: 'run-1', position: 1, author: 'peer', text: 'over the LAN', createdAtMs: 1 }));
    await joined.waitUntilSynced(10_000);
    expect(host.session.read().session.annotations['from-lan']?.text).toBe('over the LAN');
  });

  it('an explicit invite host is used as given; loopback sharing does not warn', async () => {
    const lines: string[] = [];
    const host = await startSessionHost({ dataDir: tempDir(), share: { host: '0.0.0.0', inviteHost: 'lab.example.test' }, log: (line) => lines.push(line) });
    cleanups.push(() => host.close());
    expect(parseInvite((host.share as ShareServer).createInvite('read-only')).host).toBe('lab.example.test');
    expect(lines.filter((line) => line.includes('first non-internal'))).toEqual([]);
    const quiet: string[] = [];
    const local = await startSessionHost({ dataDir: tempDir(), share: {}, log: (line) => quiet.push(line) });
    cleanups.push(() => local.close());
    expect(quiet).toEqual([]);
  });

  it('aura-lab serve: a bad --share-host or --share-url-host is exit 2 naming the flag', async () => {
    const home = tempDir();
    const cases: [string[], RegExp][] = [
      [['--share', '--share-host', 'not-an-address'], /--share-host: "not-an-address" is not an IP address/],
      [['--share', '--share-host', '203.0.113.77'], /--share-host: "203\.0\.113\.77" is not an address of this machine/],
      [['--share', '--share-host', '0.0.0.0', '--share-url-host', 'http://lab:80/x'], /--share-url-host: .* is not a host name or an IP address/],
      [['--share-host', '0.0.0.0'], /--share-host needs --share/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['serve', ...args], { AURA_LAB_HOME: home });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});

describe('automerge-repo debug output', () => {
  it('never shows an invite token (DEBUG=automerge-repo:*,WebsocketServer), and without DEBUG neither tokens nor document ids are printed', async () => {
    for (const debug of ['automerge-repo:*,WebsocketServer', undefined]) {
      const env = debug === undefined ? { DEBUG: '' } : { DEBUG: debug };
      const [host, peer] = await Promise.all([PeerProcess.start('host', env), PeerProcess.start('peer', env)]);
      cleanups.push(
        () => host.stop(),
        () => peer.stop(),
      );
      await host.call('host', { dataDir: tempDir(), title: 'Debug' });
      const invite = parseInvite(await host.call<string>('invite', { kind: 'read-write' }));
      await peer.call('join', { dataDir: tempDir(), invite: formatInvite(invite.host, invite.port, invite.token, invite.documentId) });
      await peer.call('annotate', { id: 'n1', runId: 'run-1', position: 1, text: 'seen', author: 'peer' });
      await waitForConvergence([host, peer], 10_000);
      await Promise.all([host.stop(), peer.stop()]);
      const stderr = host.stderr() + peer.stderr();
      expect(stderr).not.toContain(invite.token);
      expect(stderr).not.toContain(encodeURIComponent(invite.token));
      expect(stderr).not.toContain('token=');
      if (debug !== undefined) {
        // The debug output was on, and names the connection without its secret.
        expect(stderr).toContain('automerge-repo:');
        expect(stderr).toContain(`websocket:browser:ws://${invite.host}:${invite.port}/session `);
      } else {
        expect(stderr).not.toContain(invite.documentId);
      }
    }
  });
});

describe('redaction of a session host\'s output', () => {
  it('redact: document ids (checksum-valid base58) and tokens go, other words stay', () => {
    const id = '4NMNnkMhL8jXrdJ9jamS58PAVdXu';
    expect(redact(`sync ${id} with peer-1`)).toBe('sync <session> with peer-1');
    expect(redact(`automerge:${id}#heads`)).toBe('automerge:<session>#heads');
    expect(redact('GET /session?token=abc_DEF-123&doc=x')).toBe('GET /session?token=<redacted>&doc=x');
    expect(redact('Authorization: Bearer abc.def-ghi')).toBe('Authorization: Bearer <redacted>');
    // A base58 word of the same length whose checksum does not hold is not a document id.
    const notAnId = `${id.slice(0, -1)}${id.endsWith('2') ? '3' : '2'}`;
    expect(redact(`word ${notAnId}`)).toBe(`word ${notAnId}`);
  });

  it('aura-lab serve --share with DEBUG=automerge-repo:* prints neither the document id nor the token on stderr while a peer syncs', async () => {
    const home = tempDir();
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'aura-lab.mjs'), 'serve', '--port', '0', '--share'], {
      cwd: repoRoot,
      env: { ...process.env, AURA_LAB_HOME: home, DEBUG: 'automerge-repo:*' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const inviteText = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const found = /aura-lab:\/\/127\.0\.0\.1:\d+\/join\?token=\S+/.exec(stdout)?.[0];
        if (found !== undefined) {
          clearInterval(timer);
          resolve(found);
        } else if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`serve exited:\n${stdout}\n${stderr}`));
        }
      }, 50);
    });
    const invite = parseInvite(inviteText);
    const joined = await joinSession({ invite, dataDir: tempDir() });
    joined.session.change((doc) => addAnnotation(doc, 'n-redact', { runId: 'run-1', position: 1, text: 'synced', author: 'peer', createdAtMs: 1 }), 'annotate');
    await joined.session.flush();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await joined.close();
    child.kill('SIGTERM');
    await exited;
    // The debug output was on and talked about the session, without naming it.
    expect(stderr).toContain('automerge-repo:');
    expect(stderr).toContain('<session>');
    expect(stderr).not.toContain(invite.documentId);
    expect(stderr).not.toContain(invite.token);
  });
});
