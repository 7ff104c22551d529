/** Who is in the session and where each one is on the run timeline (peers' ephemeral cursors). */
import { useSession } from '../../state/use-session.ts';
import { useTimeTravel } from '../../state/use-time-travel.ts';
import { ago } from './session-format.ts';
import { useNow } from './SyncBadge.tsx';

export function PresenceList({ onName }: { onName: (name: string) => void }) {
  const peers = useSession((state) => state.peers);
  const name = useSession((state) => state.name);
  const runId = useTimeTravel((state) => state.runId);
  const position = useTimeTravel((state) => state.seek?.position);
  const now = useNow(1_000);
  return (
    <section className="panel session-presence" aria-label="presence">
      <h3>In this session</h3>
      <label className="filter-field">
        Your name (peers see it)
        <input value={name} maxLength={64} onChange={(event) => onName(event.target.value)} data-testid="session-name" />
      </label>
      <ul className="presence-list" data-testid="presence-list">
        <li className="presence-item presence-self" data-testid="presence-self">
          <strong>{name}</strong> <span className="muted">(you)</span> · {where(runId, position)}
        </li>
        {peers.map((peer) => (
          <li key={`${peer.name}/${peer.runId ?? ''}`} className="presence-item" data-testid="presence-peer" data-name={peer.name} data-run={peer.runId ?? ''} data-position={peer.position ?? ''}>
            <strong>{peer.name}</strong> · {where(peer.runId, peer.position)} <span className="muted small">· seen {ago(peer.seenMs, now)}</span>
          </li>
        ))}
      </ul>
      {peers.length === 0 ? <p className="muted small">No peer has been seen in the last 10 s.</p> : null}
    </section>
  );
}

function where(runId: string | undefined, position: number | undefined): string {
  if (runId === undefined) return 'not on a run';
  return position === undefined ? `on ${runId}` : `at position ${position.toLocaleString('en')} of ${runId}`;
}
