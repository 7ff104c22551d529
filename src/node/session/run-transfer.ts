/**
 * Runs travel between peers: a peer fetches another peer's run bundle (`.aura-run`, see
 * `node/run-bundle.ts`) over the share server's port, with the same invite token as the session.
 *
 * Serving (`serveRunBundle`, called by the share server once the token is accepted):
 * `GET /runs/<runId>/bundle` looks the run up under `<dataDir>/runs/<runId>` (the id must match
 * `[A-Za-z0-9][A-Za-z0-9._-]*`: no separators, no `..`). The bundle is exported once into
 * `<dataDir>/session/bundles/` (keyed by the run's manifest and report, so a changed run is
 * exported again) with its SHA-256 computed then; every later fetch streams that file. The answer
 * carries `Content-Length` and `X-Aura-Bundle-Sha256`. A run still running is a 409; an unknown
 * run a 404; a bad id a 400 (all bodiless, and only after the token was accepted).
 *
 * Fetching (`fetchRunBundle`): streams the body into a temporary file next to the destination,
 * hashing it on the way; refuses a body longer than announced or than `maxBytes` (`limit`), a
 * shorter one (`damaged`, truncated), a hash mismatch (`damaged`); then imports it with
 * `importRun`, which verifies every chain link and the manifest's head before anything is kept.
 * On any failure nothing is left behind: not the temporary file, not a partial run directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AuraError } from '../../core/kernel/errors.ts';
import { bundleExtension, exportRun, importRun } from '../run-bundle.ts';
import { readRunManifest } from '../run-manifest.ts';
import { parseInvite, type Invite } from './join.ts';
import { sessionDirOf } from './session-repo.ts';

/** The header that carries the bundle's SHA-256 (hex). */
export const bundleShaHeader = 'x-aura-bundle-sha256';

const runIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A run id that is safe as one path segment (no separator, no `.` or `..`). */
export function isValidRunId(runId: string): boolean {
  return runIdPattern.test(runId);
}

/** The run id of a `/runs/<runId>/bundle` request path; `undefined`: not such a path; `null`: a bad id. */
export function bundleRequestRunId(rawUrl: string): string | null | undefined {
  const path = rawUrl.split('?', 1)[0] ?? '';
  const match = /^\/runs\/([^/]*)\/bundle$/.exec(path);
  if (match === null) return undefined;
  let runId: string;
  try {
    runId = decodeURIComponent(match[1] ?? '');
  } catch {
    return null;
  }
  return isValidRunId(runId) ? runId : null;
}

interface CachedBundle {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

function bundleCacheDir(dataDir: string): string {
  return join(sessionDirOf(dataDir), 'bundles');
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Exports in flight, so that concurrent fetches of one run export it once. */
const exporting = new Map<string, Promise<CachedBundle>>();

/**
 * The run's bundle in the share cache, exported (and hashed) now if the cache has none for the
 * run as it is. Throws AuraError not_found (no such run) or conflict (still running).
 */
export async function bundleForRun(dataDir: string, runId: string): Promise<CachedBundle> {
  if (!isValidRunId(runId)) throw new AuraError('validation', 'not a valid run id');
  const runsRoot = resolve(dataDir, 'runs');
  const runDir = resolve(runsRoot, runId);
  if (!runDir.startsWith(runsRoot + sep) || !existsSync(join(runDir, 'manifest.json'))) throw new AuraError('not_found', `no run ${runId}`);
  const manifest = readRunManifest(runDir);
  if (manifest.status === 'running') throw new AuraError('conflict', `run ${runId} is still running`);
  const stamp = createHash('sha256');
  for (const name of ['manifest.json', 'report.json']) {
    const path = join(runDir, name);
    stamp.update(`${name}\n${existsSync(path) ? readFileSync(path, 'utf8') : ''}\n`);
  }
  const key = `${runId}.${stamp.digest('hex').slice(0, 16)}`;
  const cacheDir = bundleCacheDir(dataDir);
  const file = join(cacheDir, `${key}${bundleExtension}`);
  const sidecar = `${file}.json`;
  if (existsSync(file) && existsSync(sidecar)) {
    try {
      const cached = JSON.parse(readFileSync(sidecar, 'utf8')) as { sha256?: unknown; bytes?: unknown };
      if (typeof cached.sha256 === 'string' && cached.bytes === statSync(file).size) return { file, sha256: cached.sha256, bytes: cached.bytes };
    } catch {
      // Exported again below.
    }
  }
  const pending = exporting.get(key);
  if (pending !== undefined) return pending;
  const work = (async (): Promise<CachedBundle> => {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    // Older exports of this run are stale now.
    for (const name of readdirSync(cacheDir)) if (name.startsWith(`${runId}.`) && !name.startsWith(key)) rmSync(join(cacheDir, name), { force: true });
    const temporary = join(cacheDir, `.${key}.${process.pid}-${randomBytes(4).toString('hex')}${bundleExtension}`);
    try {
      const exported = exportRun(runDir, temporary);
      const sha256 = await sha256OfFile(temporary);
      writeFileSync(`${sidecar}.tmp`, `${JSON.stringify({ sha256, bytes: exported.bytes })}\n`, { mode: 0o600 });
      renameSync(temporary, file);
      renameSync(`${sidecar}.tmp`, sidecar);
      return { file, sha256, bytes: exported.bytes };
    } catch (error) {
      rmSync(temporary, { force: true });
      rmSync(`${sidecar}.tmp`, { force: true });
      throw error;
    }
  })();
  exporting.set(key, work);
  try {
    return await work;
  } finally {
    exporting.delete(key);
  }
}

function bodiless(response: ServerResponse, status: number): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'Content-Length': '0', Connection: 'close' });
  response.end();
}

/**
 * Answers an authorised `GET|HEAD /runs/<runId>/bundle` (the share server checked the token).
 * Never throws; failures are bodiless statuses. `log` receives no token and no document id.
 */
export async function serveRunBundle(request: IncomingMessage, response: ServerResponse, dataDir: string | undefined, log: (line: string) => void = () => undefined): Promise<void> {
  const runId = bundleRequestRunId(request.url ?? '/');
  if (request.method !== 'GET' && request.method !== 'HEAD') return bodiless(response, 405);
  if (runId === null || runId === undefined) return bodiless(response, 400);
  if (dataDir === undefined) return bodiless(response, 404);
  let bundle: CachedBundle;
  try {
    bundle = await bundleForRun(dataDir, runId);
  } catch (error) {
    const code = error instanceof AuraError ? error.code : 'internal';
    log(`share: run bundle ${runId} not served (${code})`);
    return bodiless(response, code === 'not_found' ? 404 : code === 'conflict' ? 409 : code === 'validation' ? 400 : 500);
  }
  response.writeHead(200, {
    'Content-Type': 'application/vnd.aura-lab.run+sqlite',
    'Content-Length': String(bundle.bytes),
    [bundleShaHeader]: bundle.sha256,
    'Cache-Control': 'no-store',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  log(`share: sending run bundle ${runId} (${bundle.bytes} bytes)`);
  const stream = createReadStream(bundle.file, { highWaterMark: 1 << 20 });
  stream.on('error', () => response.destroy());
  response.on('close', () => stream.destroy());
  stream.pipe(response);
}

// ---- fetching ------------------------------------------------------------------------------------

export interface FetchRunBundleOptions {
  /** The invite of the peer that has the run (its token authorises the fetch). */
  readonly invite: string | Invite;
  readonly runId: string;
  /** The run directory to create (absent or empty); default `<dataDir>/runs/<runId>`. */
  readonly outDir?: string;
  /** This lab's data directory (for the default outDir). */
  readonly dataDir?: string;
  /** Largest bundle accepted; default 8 GiB. */
  readonly maxBytes?: number;
  /** No byte for this long aborts the fetch; default 30 s. */
  readonly idleTimeoutMs?: number;
  readonly onProgress?: (stage: 'download' | 'verify', done: number, total: number) => void;
}

export interface FetchRunBundleResult {
  readonly runDir: string;
  readonly runId: string;
  readonly events: number;
  readonly headHash: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Download (bytes on the wire to a hashed file on disk). */
  readonly transferMs: number;
  /** Import: staging copy, integrity check, every chain link, the manifest's head. */
  readonly importMs: number;
}

export const defaultMaxBundleBytes = 8 * 1024 ** 3;

/**
 * Downloads `runId`'s bundle from the peer the invite names, checks its SHA-256, imports it
 * (verifying its hash chain) and returns the run directory. Errors are AuraErrors: validation
 * (a bad invite or id, a refused token), not_found, conflict (the run is running, or outDir is not
 * empty), limit (oversized), damaged (truncated, wrong hash, a log that does not verify),
 * unavailable (the peer cannot be reached).
 */
export async function fetchRunBundle(options: FetchRunBundleOptions): Promise<FetchRunBundleResult> {
  const invite = typeof options.invite === 'string' ? parseInvite(options.invite) : options.invite;
  if (!isValidRunId(options.runId)) throw new AuraError('validation', 'not a valid run id (expected [A-Za-z0-9._-], starting with a letter or digit)');
  if (options.outDir === undefined && options.dataDir === undefined) throw new AuraError('validation', 'fetchRunBundle needs outDir or dataDir');
  const runDir = resolve(options.outDir ?? join(options.dataDir as string, 'runs', options.runId));
  if (existsSync(runDir) && readdirSync(runDir).length > 0) throw new AuraError('conflict', `${runDir} is not empty; a fetched run never overwrites one`);
  const maxBytes = options.maxBytes ?? defaultMaxBundleBytes;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  mkdirSync(dirname(runDir), { recursive: true });
  const temporary = join(dirname(runDir), `.${basename(runDir)}.${process.pid}-${randomBytes(4).toString('hex')}${bundleExtension}.download`);
  const started = performance.now();
  try {
    const { bytes, sha256 } = await download(invite, options.runId, temporary, maxBytes, idleTimeoutMs, options.onProgress);
    const transferMs = performance.now() - started;
    const importStarted = performance.now();
    const imported = await importRun(temporary, runDir, options.onProgress === undefined ? undefined : (done, total) => options.onProgress?.('verify', done, total));
    const importMs = performance.now() - importStarted;
    return { runDir: imported.runDir, runId: imported.runId, events: imported.events, headHash: imported.headHash, bytes, sha256, transferMs, importMs };
  } finally {
    rmSync(temporary, { force: true });
  }
}

function statusError(status: number): AuraError {
  switch (status) {
    case 401:
      return new AuraError('validation', 'the peer refused the invite (revoked, mistyped, or for another host)');
    case 404:
      return new AuraError('not_found', 'the peer has no such run');
    case 409:
      return new AuraError('conflict', 'the run is still running on the peer; fetch it once it has ended');
    case 400:
      return new AuraError('validation', 'the peer refused the run id');
    default:
      return new AuraError('unavailable', `the peer answered HTTP ${status}`);
  }
}

async function download(invite: Invite, runId: string, file: string, maxBytes: number, idleTimeoutMs: number, onProgress: FetchRunBundleOptions['onProgress']): Promise<{ bytes: number; sha256: string }> {
  const response = await new Promise<IncomingMessage>((resolvePromise, reject) => {
    const request = httpRequest({
      host: invite.host,
      port: invite.port,
      method: 'GET',
      path: `/runs/${encodeURIComponent(runId)}/bundle`,
      // The token goes in a header, never in a URL that a log might keep.
      headers: { Authorization: `Bearer ${invite.token}` },
      timeout: idleTimeoutMs,
    });
    request.on('response', resolvePromise);
    request.on('timeout', () => request.destroy(new AuraError('unavailable', `the peer sent nothing for ${idleTimeoutMs} ms`)));
    request.on('error', (error: Error & { code?: string }) => reject(error instanceof AuraError ? error : new AuraError('unavailable', `the peer cannot be reached (${error.code ?? 'connection failed'})`)));
    request.end();
  });
  if (response.statusCode !== 200) {
    response.resume();
    throw statusError(response.statusCode ?? 0);
  }
  const announced = Number(response.headers['content-length']);
  const expectedSha = response.headers[bundleShaHeader];
  if (!Number.isSafeInteger(announced) || announced < 0 || typeof expectedSha !== 'string' || !/^[0-9a-f]{64}$/.test(expectedSha)) {
    response.destroy();
    throw new AuraError('damaged', 'the peer sent a bundle without a length or a SHA-256');
  }
  if (announced > maxBytes) {
    response.destroy();
    throw new AuraError('limit', `the bundle is ${announced} bytes, over the limit of ${maxBytes}`);
  }
  const hash = createHash('sha256');
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
  const outDone = new Promise<void>((resolvePromise, reject) => {
    out.on('close', resolvePromise);
    out.on('error', reject);
  });
  let bytes = 0;
  try {
    try {
      for await (const chunk of response) {
        const buffer = chunk as Buffer;
        bytes += buffer.byteLength;
        if (bytes > announced || bytes > maxBytes) throw new AuraError('limit', `the peer sent more than the ${announced} bytes it announced`);
        hash.update(buffer);
        if (!out.write(buffer)) await once(out, 'drain');
        onProgress?.('download', bytes, announced);
      }
    } catch (error) {
      if (error instanceof AuraError) throw error;
      // The connection broke mid-body (aborted, reset): what arrived is a truncated bundle.
    }
    if (!response.complete || bytes !== announced) throw new AuraError('damaged', `truncated download: ${bytes} of ${announced} bytes arrived`);
    out.end();
    await outDone;
  } catch (error) {
    response.destroy();
    out.destroy();
    await outDone.catch(() => undefined);
    throw error;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== expectedSha) throw new AuraError('damaged', 'the bundle does not match the SHA-256 the peer announced');
  return { bytes, sha256 };
}
