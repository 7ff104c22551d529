/**
 * Invites: while this lab shares its session, make a read-write or a read-only invite (a URL
 * with a secret token, shown here once); and join another host's session by pasting its invite.
 */
import { useState } from 'react';
import { useSession } from '../../state/use-session.ts';
import { sessionActions } from '../../state/session-store.ts';
import type { SessionCommands } from '../../engine/session-bridge.ts';

/** How long a new invite admits new peers (a peer already connected stays). */
const expiries: readonly { readonly label: string; readonly ms: number | undefined }[] = [
  { label: 'never expires', ms: undefined },
  { label: 'expires in 1 hour', ms: 3_600_000 },
  { label: 'expires in 24 hours', ms: 24 * 3_600_000 },
  { label: 'expires in 7 days', ms: 7 * 24 * 3_600_000 },
];

export function InvitePanel({ commands }: { commands: SessionCommands }) {
  const [expiry, setExpiry] = useState(0);
  const expiresInMs = expiries[expiry]?.ms;
  const sharing = useSession((state) => state.status?.sharing ?? false);
  const invites = useSession((state) => state.invites);
  const inviteError = useSession((state) => state.inviteError);
  const joinText = useSession((state) => state.joinText);
  const joining = useSession((state) => state.joining);
  const joinError = useSession((state) => state.joinError);
  const joinedTitle = useSession((state) => state.joinedTitle);
  return (
    <section className="panel session-invites" aria-label="invites">
      <h3>Invites</h3>
      {sharing ? (
        <div className="invite-actions">
          <select value={expiry} onChange={(event) => setExpiry(Number(event.target.value))} aria-label="invite expiry" data-testid="invite-expiry">
            {expiries.map((option, index) => (
              <option key={option.label} value={index}>
                {option.label}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => void commands.createInvite('read-write', expiresInMs)} data-testid="invite-read-write">
            New read-write invite
          </button>
          <button type="button" onClick={() => void commands.createInvite('read-only', expiresInMs)} data-testid="invite-read-only">
            New read-only invite
          </button>
        </div>
      ) : (
        <p className="muted small">This lab does not accept peers. Start it with <code>aura-lab serve --share</code> to make invites.</p>
      )}
      {inviteError !== undefined ? <p className="error">{inviteError}</p> : null}
      {invites.map((item) => (
        <div key={item.invite} className="invite">
          <span className="muted small">{item.kind} invite: it carries a secret token; give it only to whom it is for.</span>
          <input readOnly value={item.invite} onFocus={(event) => event.target.select()} data-testid={`invite-text-${item.kind}`} aria-label={`${item.kind} invite`} />
        </div>
      ))}
      <form
        className="join-form"
        onSubmit={(event) => {
          event.preventDefault();
          void commands.join();
        }}
      >
        <label className="filter-field">
          Join another host’s session (this lab’s current session is kept on disk, aside)
          <input value={joinText} placeholder="aura-lab://host:port/join?token=…" onChange={(event) => sessionActions.setJoinText(event.target.value)} data-testid="join-invite" autoComplete="off" />
        </label>
        <button type="submit" disabled={joining || joinText.trim() === ''} data-testid="join-submit">
          {joining ? 'Joining…' : 'Join'}
        </button>
      </form>
      {joinError !== undefined ? <p className="error" data-testid="join-error">{joinError}</p> : null}
      {joinedTitle !== undefined ? <p className="small" data-testid="joined">Joined “{joinedTitle}”.</p> : null}
    </section>
  );
}
