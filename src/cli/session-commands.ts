/**
 * `aura-lab session share | invite | join | annotate | add-scenario | add-plan | note`: the lab's
 * shared session from the command line.
 *
 * - `session share [--port N] [--host ADDR] [--url-host HOST] [--title T]` shares this lab's session
 *   until interrupted and prints a read-write invite (what `serve --share` does next to the engine).
 * - `session invite [--read-only] [--expires DURATION] [--json]` makes a new invite for the share
 *   server running on this lab's data directory, refused after DURATION (e.g. 24h) when given.
 * - `session join <invite> [--json] [--timeout MS]` joins a session, waits until it is synced, keeps
 *   the copy under the data directory and prints its title and counts.
 * - `session annotate <runId> <position> <text> [--author NAME] [--json]` adds an annotation: through
 *   the running share server when there is one (so peers see it at once), else to the local copy.
 * - `session add-scenario <file> [--name N]` puts a scenario file in the session's library (validated
 *   as a scenario first), `session add-plan <file> [--name N]` a chaos experiment file (checked
 *   against its scenario), and `session note <drillId> <text>` a drill note, the same two ways.
 *   A bad file, name or note is exit 2 with the file, line and field named; the session is untouched.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuraError, formatIssue } from '../core/kernel/errors.ts';
import { parseDurationUs } from '../core/sim/duration.ts';
import { joinSession } from '../node/session/join.ts';
import { addAnnotation, addDrillNote, putChaosPlan, putScenario, sessionCounts, sha256Hex, type SessionDoc } from '../node/session/session-doc.ts';
import { annotationFor, chaosPlanForSession, drillNoteFor, scenarioForSession } from '../node/session/session-library.ts';
import { readSessionFile, SessionRepo } from '../node/session/session-repo.ts';
import { addInvite, formatInvite, inviteTtlMaxMs, localShareHost, readShareAddress, removeInvite, shareAddresses, type InviteKind } from '../node/session/share-server.ts';
import { startSessionHost } from '../host/session-host.ts';
import { CliError, dataDir, scenariosDir } from './context.ts';
import { redactStreams } from '../node/session/redaction.ts';

const usage = `usage: aura-lab session share [--port N] [--host ADDR] [--url-host HOST] [--title T]
       aura-lab session invite [--read-only] [--expires DURATION] [--json]
       aura-lab session join <invite> [--json] [--timeout MS]
       aura-lab session annotate <runId> <position> <text> [--author NAME] [--json]
       aura-lab session add-scenario <file> [--name N] [--json]
       aura-lab session add-plan <file> [--name N] [--author NAME] [--json]
       aura-lab session note <drillId> <text> [--author NAME] [--json]`;

export async function sessionCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  // stderr (automerge-repo's debug and error output) never shows a document id or a token; stdout
  // carries what the user asked for (an invite).
  redactStreams([process.stderr]);
  try {
    switch (sub) {
      case 'share':
        return await shareCommand(rest);
      case 'invite':
        return inviteCommand(rest);
      case 'join':
        return await joinCommand(rest);
      case 'annotate':
        return await annotateCommand(rest);
      case 'add-scenario':
        return await addTextCommand('scenario', rest);
      case 'add-plan':
        return await addTextCommand('plan', rest);
      case 'note':
        return await noteCommand(rest);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${usage}\n`);
        return sub === undefined ? 2 : 0;
      default:
        throw new CliError(`session: unknown subcommand ${JSON.stringify(sub)}\n${usage}`, 2);
    }
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    const detail = error.issues.length > 0 ? `: ${error.issues.map(formatIssue).join('; ')}` : '';
    throw new CliError(`session ${sub ?? ''}: ${error.message}${detail}`, error.code === 'validation' ? 2 : 1);
  }
}

/**
 * `--share-host` / `--share-url-host` (serve) or `--host` / `--url-host` (session share), checked:
 * a bad one is a CliError (exit 2) naming the flag. Returns the options for the share server.
 */
export function parseShareAddress(host: string | undefined, urlHost: string | undefined, flags: { readonly host: string; readonly urlHost: string }): { host?: string; inviteHost?: string } {
  if (host === undefined && urlHost === undefined) return {};
  try {
    shareAddresses(host ?? '127.0.0.1', urlHost);
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    const flag = error.issues[0]?.path[0] === 'shareUrlHost' ? flags.urlHost : flags.host;
    throw new CliError(`${flag}: ${error.message.replace(/^share (URL )?host: /, '')}`, 2);
  }
  return { ...(host === undefined ? {} : { host }), ...(urlHost === undefined ? {} : { inviteHost: urlHost }) };
}

/** `--expires 24h`: the invite lifetime in ms (1 s to 365 days); a bad one is a CliError (exit 2). */
function parseExpires(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const us = parseDurationUs(text);
  if (typeof us !== 'number') throw new CliError(`--expires: ${us.error}`, 2);
  const ms = Math.round(us / 1_000);
  if (ms < 1_000 || ms > inviteTtlMaxMs) throw new CliError(`--expires: expected between 1s and 8760h (365 days), got ${JSON.stringify(text)}`, 2);
  return ms;
}

async function shareCommand(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { port: { type: 'string' }, host: { type: 'string' }, 'url-host': { type: 'string' }, title: { type: 'string' } } });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliError(`--port: expected 0-65535, got ${JSON.stringify(values.port)}`, 2);
  const address = parseShareAddress(values.host, values['url-host'], { host: '--host', urlHost: '--url-host' });
  const dir = dataDir();
  if (readShareAddress(dir) !== undefined) throw new CliError('session share: this lab is already shared by another process', 1);
  const host = await startSessionHost({ dataDir: dir, ...(values.title === undefined ? {} : { title: values.title }), share: { port, ...address }, log: (line) => process.stderr.write(`${line}\n`) });
  const share = host.share;
  if (share === undefined) throw new AuraError('internal', 'share server missing');
  process.stdout.write(`sharing "${host.session.read().session.title}" on ${share.host}:${share.port}${share.inviteHost === share.host ? '' : ` (invites name ${share.inviteHost})`}\n`);
  process.stdout.write(`read-write invite: ${share.createInvite('read-write')}\n`);
  process.stdout.write('more invites: aura-lab session invite [--read-only]; stop with Ctrl-C\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.close();
  return 0;
}

function inviteCommand(args: readonly string[]): number {
  const { values } = parseArgs({ args: [...args], options: { 'read-only': { type: 'boolean', default: false }, expires: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const ttlMs = parseExpires(values.expires);
  const dir = dataDir();
  const address = readShareAddress(dir);
  const documentId = readSessionFile(dir);
  if (address === undefined || documentId === undefined) throw new CliError('session invite: this lab is not shared; start `aura-lab serve --share` (or `aura-lab session share`) first', 1);
  const kind: InviteKind = values['read-only'] ? 'read-only' : 'read-write';
  const nowMs = Date.now();
  const invite = formatInvite(address.host, address.port, addInvite(dir, kind, { nowMs, ...(ttlMs === undefined ? {} : { ttlMs }) }), documentId);
  const expiresAt = ttlMs === undefined ? null : new Date(nowMs + ttlMs).toISOString();
  process.stdout.write(values.json ? `${JSON.stringify({ kind, invite, expiresAt })}\n` : `${kind} invite${expiresAt === null ? '' : ` (expires ${expiresAt})`}: ${invite}\n`);
  return 0;
}

async function joinCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { json: { type: 'boolean', default: false }, timeout: { type: 'string' } } });
  if (positionals.length !== 1) throw new CliError(`session join: expected one invite, got ${positionals.length}`, 2);
  const timeoutMs = values.timeout === undefined ? 15_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100) throw new CliError(`--timeout: expected milliseconds >= 100, got ${JSON.stringify(values.timeout)}`, 2);
  const joined = await joinSession({ dataDir: dataDir(), invite: positionals[0] as string, timeoutMs });
  try {
    const status = await joined.waitUntilSynced(timeoutMs);
    const { session, rejected } = joined.session.read();
    const counts = sessionCounts(session);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ title: session.title, counts, rejected: rejected.length, connectedPeers: status.connectedPeers, changesNotOnAnyPeer: status.changesNotOnAnyPeer })}\n`);
    } else {
      process.stdout.write(`joined "${session.title}": ${counts.scenarios} scenarios, ${counts.annotations} annotations, ${counts.chaosPlans} chaos plans, ${counts.drillNotes} drill notes, ${counts.runs} runs\n`);
      if (rejected.length > 0) process.stdout.write(`${rejected.length} malformed entries were left out\n`);
    }
    return 0;
  } finally {
    await joined.close();
  }
}

async function annotateCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { author: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 3) throw new CliError(`session annotate: expected <runId> <position> <text>, got ${positionals.length} arguments`, 2);
  const [runId, positionText, text] = positionals as [string, string, string];
  const { id, annotation } = badInput('annotate', () => annotationFor(runId, positionText, text, values.author ?? userInfo().username));
  const route = await changeSession((doc) => addAnnotation(doc, id, annotation), 'annotate');
  process.stdout.write(values.json ? `${JSON.stringify({ id, ...annotation, via: route })}\n` : `annotation ${id} on ${runId} at ${annotation.position} (${route})\n`);
  return 0;
}

/** `add-scenario <file> [--name N]` and `add-plan <file> [--name N] [--author A]`: a checked file into the session's library. */
async function addTextCommand(kind: 'scenario' | 'plan', args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { name: { type: 'string' }, author: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const command = kind === 'scenario' ? 'add-scenario' : 'add-plan';
  if (positionals.length !== 1) throw new CliError(`session ${command}: expected one <file>, got ${positionals.length} arguments`, 2);
  const file = resolve(positionals[0] as string);
  // The file is checked before the session is opened: a bad one changes nothing (exit 2, file and field named).
  const entry = badInput(command, () => (kind === 'scenario' ? scenarioForSession(file, values.name) : chaosPlanForSession(file, scenariosDir(), values.name)));
  const sha256 = sha256Hex(entry.text);
  const route =
    kind === 'scenario'
      ? await changeSession((doc) => putScenario(doc, entry.name, entry.text), `put scenario ${entry.name}`)
      : await changeSession((doc) => putChaosPlan(doc, entry.name, { text: entry.text, author: values.author ?? userInfo().username, updatedAtMs: Date.now() }), `put chaos plan ${entry.name}`);
  const what = kind === 'scenario' ? 'scenario' : 'chaos plan';
  process.stdout.write(values.json ? `${JSON.stringify({ kind: what, name: entry.name, sha256, via: route })}\n` : `${what} ${entry.name} in the session (${route})\n`);
  return 0;
}

/** `note <drillId> <text> [--author A]`: a drill note into the session. */
async function noteCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { author: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals.length !== 2) throw new CliError(`session note: expected <drillId> <text>, got ${positionals.length} arguments`, 2);
  const [drillId, text] = positionals as [string, string];
  const { id, note } = badInput('note', () => drillNoteFor(drillId, text, values.author ?? userInfo().username));
  const route = await changeSession((doc) => addDrillNote(doc, id, note), 'add drill note');
  process.stdout.write(values.json ? `${JSON.stringify({ id, ...note, via: route })}\n` : `drill note ${id} on ${drillId} (${route})\n`);
  return 0;
}

/** Runs a check of the user's input: any typed refusal (an invalid or missing file, a bad name) is a usage error, exit 2. */
function badInput<T>(command: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof AuraError)) throw error;
    const detail = error.issues.length > 0 ? error.issues.map(formatIssue).join('; ') : error.message;
    throw new CliError(`session ${command}: ${detail}`, 2);
  }
}

/**
 * Applies one change to the lab's session: through the running share server when there is one
 * (so that peers see it at once), as a short-lived peer with its own invite (which expires on its
 * own should this process die before removing it); else to the local copy on disk.
 */
async function changeSession(fn: (doc: SessionDoc) => void, message: string): Promise<'share server' | 'local copy'> {
  const dir = dataDir();
  const address = readShareAddress(dir);
  const documentId = readSessionFile(dir);
  if (address !== undefined && documentId !== undefined) {
    const token = addInvite(dir, 'read-write', { ttlMs: 10 * 60_000 });
    try {
      const joined = await joinSession({ invite: formatInvite(localShareHost(address), address.port, token, documentId) });
      try {
        joined.session.change(fn, message);
        await joined.waitUntilSynced(10_000);
      } finally {
        await joined.close();
      }
    } finally {
      removeInvite(dir, token);
    }
    return 'share server';
  }
  const session = await SessionRepo.open({ dataDir: dir });
  try {
    session.change(fn, message);
  } finally {
    await session.close();
  }
  return 'local copy';
}
