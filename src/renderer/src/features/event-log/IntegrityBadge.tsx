/** The log's integrity as last verified in this session, and the button that verifies it. */
import type { Verification } from '../../../../shared/api.ts';
import type { EventLogCommands } from '../../engine/event-log-bridge.ts';
import { useEventLog } from '../../state/use-event-log.ts';

function describe(verification: Verification | undefined): { state: string; label: string; tone: string } {
  if (verification === undefined) return { state: 'unverified', label: 'unverified', tone: 'muted' };
  switch (verification.state) {
    case 'running': {
      const percent = verification.total > 0 ? Math.min(100, Math.floor((verification.checked / verification.total) * 100)) : 0;
      return { state: 'verifying', label: `verifying… ${percent}%`, tone: 'warn' };
    }
    case 'intact':
      return { state: 'intact', label: `intact · ${verification.checked.toLocaleString('en')} events`, tone: 'ok' };
    case 'lost':
      return { state: 'lost', label: `${verification.declaredLost.toLocaleString('en')} lost in a repair · ${verification.checked.toLocaleString('en')} events`, tone: 'warn' };
    case 'damaged':
      return {
        state: 'damaged',
        label: verification.firstBadPosition === null ? 'damaged' : `damaged at position ${verification.firstBadPosition.toLocaleString('en')}`,
        tone: 'bad',
      };
    case 'failed':
      return { state: 'failed', label: 'verification failed', tone: 'bad' };
  }
}

export function IntegrityBadge({ runId, live, commands }: { runId: string; live: boolean; commands: EventLogCommands }) {
  const verification = useEventLog((state) => state.verifications[runId]);
  const shown = describe(verification);
  const running = verification?.state === 'running';
  return (
    <div className="integrity">
      <span
        className={`badge badge-${shown.tone}`}
        data-testid="integrity-badge"
        data-state={shown.state}
        data-first-bad={verification?.firstBadPosition ?? ''}
        title={verification?.error ?? verification?.problems.map((problem) => `${problem.position ?? '-'}: ${problem.kind}: ${problem.detail}`).join('\n') ?? 'not verified in this session'}
      >
        <span className="dot" />
        {shown.label}
      </span>
      <button
        type="button"
        disabled={live || running}
        title={live ? 'a running log is verified once it has finished' : 'recompute every hash of the chain'}
        onClick={() => void commands.verify(runId)}
        data-testid="verify-log"
      >
        Verify
      </button>
      {(verification?.state === 'damaged' || verification?.state === 'lost') && verification.problems.length > 0 ? (
        <ul className="integrity-problems small" data-testid="integrity-problems">
          {verification.problems.map((problem, index) => (
            <li key={index}>
              {problem.position === null ? '' : `position ${problem.position.toLocaleString('en')}: `}
              {problem.kind} — {problem.detail}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
