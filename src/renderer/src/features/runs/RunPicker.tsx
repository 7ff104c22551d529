/** A run to look at: the runs of this session and those found on disk (runs.history). */
import { useEventLog } from '../../state/use-event-log.ts';

export function RunPicker({ runId, onPick, testId }: { runId: string | undefined; onPick: (runId: string) => void; testId: string }) {
  const history = useEventLog((state) => state.history);
  const known = history.some((run) => run.runId === runId);
  return (
    <select value={runId ?? ''} onChange={(event) => onPick(event.target.value)} data-testid={testId} aria-label="Run">
      <option value="" disabled>
        {history.length === 0 ? 'no runs yet' : 'choose a run…'}
      </option>
      {runId !== undefined && !known ? <option value={runId}>{runId}</option> : null}
      {history.map((run) => (
        <option key={run.runId} value={run.runId}>
          {run.scenario} · seed {run.seed} · {run.live ? 'running' : run.status} · {run.events.toLocaleString('en')} events · {run.runId}
        </option>
      ))}
    </select>
  );
}
