/** Pause, resume, step, speed and stop for the current live run, with its state and virtual time. */
import type { RunSummary } from '../../../../shared/api.ts';
import type { RunControlCommands } from '../../engine/run-control-bridge.ts';
import { useRunControl } from '../../state/use-run-control.ts';
import { controlSpeeds, formatVirtualTime, parseSpeed, speedLabel, speedValue } from '../time-travel/time-travel-math.ts';

export function RunControlBar({ run, commands }: { run: RunSummary; commands: RunControlCommands }) {
  const pending = useRunControl((state) => (state.pending?.runId === run.runId ? state.pending.action : undefined));
  const error = useRunControl((state) => (state.error?.runId === run.runId ? state.error.message : undefined));
  const live = run.status === 'running';
  const busy = pending !== undefined || !live;
  const speeds = controlSpeeds.some((speed) => speed === run.speed) ? controlSpeeds : [...controlSpeeds, run.speed];
  return (
    <div className="run-control-bar" role="toolbar" aria-label="Run controls" data-testid="run-control-bar">
      <span className={run.paused ? 'run-state run-state-paused' : 'run-state run-state-running'} data-testid="run-state" data-paused={run.paused} data-speed={speedValue(run.speed)}>
        {!live ? run.status : run.paused ? 'paused' : 'running'}
      </span>
      {run.paused ? (
        <button type="button" disabled={busy} onClick={() => void commands.resume(run.runId)} data-testid="run-resume" title="Go on generating events (recorded as RunResumed)">
          {pending === 'resume' ? 'Resuming…' : '▶ Resume'}
        </button>
      ) : (
        <button type="button" disabled={busy} onClick={() => void commands.pause(run.runId)} data-testid="run-pause" title="Stop generating events until resumed (recorded as RunPaused)">
          {pending === 'pause' ? 'Pausing…' : '❚❚ Pause'}
        </button>
      )}
      <button type="button" disabled={busy || !run.paused} onClick={() => void commands.step(run.runId, 1)} data-testid="run-step" title={run.paused ? 'Append the next event' : 'Pause the run to step it'}>
        Step 1
      </button>
      <button type="button" disabled={busy || !run.paused} onClick={() => void commands.step(run.runId, 100)} data-testid="run-step-100" title={run.paused ? 'Append the next 100 events' : 'Pause the run to step it'}>
        Step 100
      </button>
      <label className="run-speed">
        Speed
        <select
          value={speedValue(run.speed)}
          disabled={busy}
          onChange={(event) => {
            const speed = parseSpeed(event.target.value);
            if (speed !== undefined) void commands.setSpeed(run.runId, speed);
          }}
          data-testid="run-speed"
        >
          {speeds.map((speed) => (
            <option key={speedValue(speed)} value={speedValue(speed)}>
              {speedLabel(speed)}
            </option>
          ))}
        </select>
      </label>
      <button type="button" disabled={busy} onClick={() => void commands.stop(run.runId)} data-testid="run-stop" title="Stop generating; what was appended stays">
        {pending === 'stop' ? 'Stopping…' : '■ Stop'}
      </button>
      <span className="run-clock numeric" data-testid="run-virtual-time" data-virtual-time-us={run.virtualTimeUs}>
        {formatVirtualTime(run.virtualTimeUs)} <span className="muted">/ {formatVirtualTime(run.durationUs)}</span>
      </span>
      {error === undefined ? null : (
        <span className="error small run-control-error" role="alert" data-testid="run-control-error">
          {error}
        </span>
      )}
    </div>
  );
}
