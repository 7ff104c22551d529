/** Words for the shared session's status and its peers' cursors. */
import type { SessionStatus } from '../../../../shared/api.ts';

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
