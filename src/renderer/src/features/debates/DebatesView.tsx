/**
 * The Debates tab: a run's debates (list, then one debate as an influence graph, answers per
 * round, belief trajectories, a consensus meter and its transcript), and the sweep results view.
 */
import type { DebatesCommands } from '../../engine/debates-bridge.ts';
import { useDebates } from '../../state/use-debates.ts';
import { formatVirtualTime } from '../time-travel/time-travel-math.ts';
import { RunPicker } from '../runs/RunPicker.tsx';
import { DebateDetailView } from './DebateDetailView.tsx';
import { SweepView } from './SweepView.tsx';

export function DebatesView({ commands }: { commands: DebatesCommands }) {
  const runId = useDebates((state) => state.runId);
  const debates = useDebates((state) => state.debates);
  const stream = useDebates((state) => state.stream);
  const detail = useDebates((state) => state.detail);
  return (
    <>
      <section className="panel debates" data-testid="debates-tab" data-run-id={runId ?? ''}>
        <header className="view-header">
          <h2>Debates</h2>
          <RunPicker runId={runId} onPick={(picked) => void commands.openRun(picked)} testId="debates-run" />
          <button type="button" disabled={runId === undefined} onClick={() => void commands.refresh()} data-testid="debates-refresh" title="Ask the engine again">
            Refresh
          </button>
        </header>
        {runId === undefined ? <p className="muted">Start a run with debates (scenarios/debate.yaml) or pick one: its debates appear here.</p> : null}
        {debates.state === 'error' ? (
          <p className="error" data-testid="debates-error">
            {debates.message}
          </p>
        ) : null}
        {debates.state === 'loading' ? <p className="muted small">Asking the engine…</p> : null}
        {debates.state === 'loaded' ? (
          <div className="debates-body">
            <ul className="debate-list" data-testid="debate-list" data-count={debates.data.length}>
              {debates.data.length === 0 ? <li className="muted small">This run holds no debate.</li> : null}
              {debates.data.map((debate) => {
                const decision = debate.decision;
                const verdict = decision === undefined ? 'open' : decision.answer === null ? 'no decision' : decision.correct ? 'correct' : 'wrong';
                return (
                  <li key={debate.stream}>
                    <button
                      type="button"
                      className={debate.stream === stream ? 'debate-item selected' : 'debate-item'}
                      onClick={() => void commands.openDebate(debate.stream)}
                      data-testid="debate-item"
                      data-debate-id={debate.debateId}
                      data-stream={debate.stream}
                      data-correct={decision === undefined ? '' : String(decision.correct)}
                    >
                      <span className="debate-id">{debate.debateId}</span>
                      <span className="muted small">{formatVirtualTime(debate.virtualTimeUs)}</span>
                      <span className="debate-decision">{decision === undefined ? '…' : (decision.answer ?? '—')}</span>
                      <span className={`verdict verdict-${verdict.replace(' ', '-')}`}>{verdict}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
            <div className="debate-detail">
              {stream === undefined ? <p className="muted">Pick a debate to see who swayed whom, round by round.</p> : null}
              {stream !== undefined && detail.state === 'loading' ? <p className="muted small">Reading {stream}…</p> : null}
              {detail.state === 'error' ? (
                <p className="error" data-testid="debate-error">
                  {detail.message}
                </p>
              ) : null}
              {detail.state === 'loaded' ? <DebateDetailView key={detail.data.stream} detail={detail.data} /> : null}
            </div>
          </div>
        ) : null}
      </section>
      <SweepView commands={commands} />
    </>
  );
}
