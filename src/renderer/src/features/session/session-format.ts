/** Words for the shared session's status, its peers' cursors and runs fetched from a peer. */
import type { SessionStatus, SessionView } from '../../../../shared/api.ts';
import type { RunFetch } from '../../state/session-store.ts';

export function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** "2 annotations · 1 scenario · 1 chaos plan · 0 runs · 1 drill note" */
export function countsText(counts: SessionView['counts']): string {
  return [
    count(counts.annotations, 'annotation', 'annotations'),
    count(counts.scenarios, 'scenario', 'scenarios'),
    count(counts.chaosPlans, 'chaos plan', 'chaos plans'),
    count(counts.runs, 'run', 'runs'),
    count(counts.drillNotes, 'drill note', 'drill notes'),
  ].join(' · ');
}

export function ago(ms: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

/** The badge's words: never "synced" unless a connected peer has every local change. */
export function syncLabel(status: SessionStatus | undefined, nowMs: number): { text: string; tone: 'ok' | 'warn' | 'muted' } {
  if (status === undefined) return { text: 'session: …', tone: 'muted' };
  const parts: string[] = [];
  let tone: 'ok' | 'warn' | 'muted';
  if (status.peers === 0) {
    parts.push(status.sharing ? 'shared · no peers connected' : 'not shared');
    tone = status.sharing ? 'warn' : 'muted';
  } else {
    parts.push(`${status.peers} ${status.peers === 1 ? 'peer' : 'peers'}`);
    tone = status.changesNotOnAnyPeer === 0 ? 'ok' : 'warn';
  }
  if (status.changesNotOnAnyPeer > 0) parts.push(`changes not yet on any peer: ${status.changesNotOnAnyPeer}`);
  else if (status.peers > 0) parts.push('up to date');
  if (status.lastSyncMs !== null) parts.push(`last sync ${ago(status.lastSyncMs, nowMs)}`);
  return { text: parts.join(' · '), tone };
}

export function shortHash(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 12)}…` : hash;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A run fetch's state in words: progress, or the verified outcome, or why it failed. */
export function fetchLabel(fetch: RunFetch): string {
  switch (fetch.stage) {
    case 'starting':
      return 'asking the host…';
    case 'download':
      return `downloading ${formatBytes(fetch.done)} of ${formatBytes(fetch.total)}`;
    case 'verify':
      return `verifying the hash chain: ${fetch.done.toLocaleString('en')} of ${fetch.total.toLocaleString('en')} events`;
    case 'done': {
      const result = fetch.result;
      if (result === undefined) return 'fetched';
      return `verified · ${result.events.toLocaleString('en')} events · head ${shortHash(result.headHash)} · ${formatBytes(result.bytes)} in ${Math.round(result.transferMs + result.importMs).toLocaleString('en')} ms · now a local run`;
    }
    case 'failed':
      return `not fetched: ${fetch.error ?? 'failed'}`;
  }
}
