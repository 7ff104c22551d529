/**
 * Keeps a session's secrets out of a process's output. A session's document id lets anyone who
 * can reach a relay fetch the session, and an invite token lets anyone in: neither may reach a
 * log. The lab never prints them itself, but automerge-repo does, in its debug output
 * (`DEBUG=automerge-repo:*`: document ids in storage and sync lines) and in a few error paths
 * that `console.log` whatever `DEBUG` says. A process that holds a session (the engine host, the
 * `aura-lab session` commands) therefore passes its output through `redact`: every document id
 * (a base58 word whose bs58check checksum holds, so other words are left alone) becomes
 * `<session>`, and anything shaped like a token (`token=…`, `Bearer …`) becomes `<redacted>`.
 * Output meant for the user on purpose (an invite the CLI prints on stdout) comes from a process
 * that redacts its stderr only.
 */

import { isValidDocumentId } from '@automerge/automerge-repo';

const tokenInQuery = /([?&](?:token|access_token)=)[^&\s"'<>]+/gi;
const bearer = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;
/** Base58 words of a document id's length; only those whose checksum holds are document ids. */
const base58Word = /(?<![1-9A-HJ-NP-Za-km-z])[1-9A-HJ-NP-Za-km-z]{24,32}(?![1-9A-HJ-NP-Za-km-z])/g;

export function redact(text: string): string {
  return text
    .replace(tokenInQuery, '$1<redacted>')
    .replace(bearer, '$1<redacted>')
    .replace(base58Word, (word) => (isValidDocumentId(word) ? '<session>' : word));
}

type Write = typeof process.stdout.write;
const installed = new WeakSet<NodeJS.WriteStream>();

/** Passes everything written to these streams through `redact` (idempotent per stream). */
export function redactStreams(streams: readonly NodeJS.WriteStream[]): void {
  for (const stream of streams) {
    if (installed.has(stream)) continue;
    installed.add(stream);
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : undefined;
      if (text === undefined) return write(chunk, ...rest);
      // An encoding argument no longer applies: the text is a JavaScript string now.
      const args = typeof rest[0] === 'string' ? rest.slice(1) : rest;
      return write(redact(text), ...args);
    }) as Write;
  }
}
