/** The header's sync status: not shared, N peers, changes not yet on any peer, last sync. */
import { useEffect, useState } from 'react';
import { useSession } from '../../state/use-session.ts';
import { syncLabel } from './session-format.ts';

export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function SyncBadge({ onOpen }: { onOpen: () => void }) {
  const status = useSession((state) => state.status);
  const error = useSession((state) => state.statusError);
  const now = useNow(1_000);
  const { text, tone } = syncLabel(status, now);
  return (
    <button
      type="button"
      className={`badge sync-badge badge-${tone === 'muted' ? 'muted' : tone}`}
      data-testid="sync-status"
      data-peers={status?.peers ?? ''}
      data-pending={status?.changesNotOnAnyPeer ?? ''}
      data-sharing={status === undefined ? '' : String(status.sharing)}
      title={error ?? 'the shared session: open the Session tab'}
      onClick={onOpen}
    >
      <span className="dot" />
      {text}
    </button>
  );
}
