/**
 * The Time travel tab: a run's timeline with a seeking cursor and the projection state there,
 * forks from the cursor, the run's metrics dashboard, and the comparison of two runs.
 */
import type { TimeTravelCommands } from '../../engine/time-travel-bridge.ts';
import { useEventLog } from '../../state/use-event-log.ts';
import { useLab } from '../../state/use-lab.ts';
import { useTimeTravel } from '../../state/use-time-travel.ts';
import { formatCount } from '../projections/projection-format.ts';
import { RunPicker } from '../runs/RunPicker.tsx';
import { CompareRuns } from './CompareRuns.tsx';
import { MetricsDashboard } from './MetricsDashboard.tsx';
import { SeekPanel } from './SeekPanel.tsx';
import { TimelineScrubber } from './TimelineScrubber.tsx';
import { formatVirtualTime } from './time-travel-math.ts';

export function TimeTravelView({ commands }: { commands: TimeTravelCommands }) {
  const runId = useTimeTravel((state) => state.runId);
  const timeline = useTimeTravel((state) => state.timeline);
  const timelineError = useTimeTravel((state) => state.timelineError);
  const seek = useTimeTravel((state) => state.seek);
  const sessionStatus = useLab((state) => (runId === undefined ? undefined : state.runs[runId]?.status));
  const historyEntry = useEventLog((state) => state.history.find((run) => run.runId === runId));
  const status = sessionStatus ?? (historyEntry === undefined ? undefined : historyEntry.live ? 'running' : historyEntry.status);
  return (
    <>
      <section className="panel time-travel" data-testid="time-travel-tab" data-run-id={runId ?? ''} data-status={status ?? ''} data-live={timeline?.live ?? false}>
        <header className="view-header">
          <h2>Time travel</h2>
          <RunPicker runId={runId} onPick={(picked) => void commands.openRun(picked)} testId="time-travel-run" />
          <button type="button" disabled={runId === undefined} onClick={() => void commands.refresh()} data-testid="time-travel-refresh" title="Ask the engine again">
            Refresh
          </button>
        </header>
        {timelineError ? (
          <p className="error" data-testid="time-travel-error">
            {timelineError}
          </p>
        ) : null}
        {runId === undefined ? (
          <p className="muted">Start a run or pick one: its timeline appears here. Seek to any point to see its state then, fork a what-if run from there, and compare runs.</p>
        ) : timeline === undefined ? (
          timelineError ? null : <p className="muted">Asking the engine…</p>
        ) : (
          <>
            <p className="muted small time-travel-summary">
              {status === undefined ? '' : `${status === 'running' ? 'live' : status} · `}
              {formatCount(timeline.headPosition)} events · {formatVirtualTime(timeline.durationUs)} of virtual time · {timeline.actions.length} operator {timeline.actions.length === 1 ? 'action' : 'actions'}
            </p>
            <TimelineScrubber timeline={timeline} seek={seek} onSeek={commands.seek} />
            <SeekPanel seek={seek} head={timeline.headPosition} commands={commands} />
          </>
        )}
      </section>
      {runId === undefined ? null : <MetricsDashboard />}
      <CompareRuns commands={commands} />
    </>
  );
}
