import type { EngineCommands } from '../../engine/engine-bridge.ts';
import { labActions } from '../../state/lab-store.ts';
import { useLab } from '../../state/use-lab.ts';
import { RunControlBar } from './RunControlBar.tsx';
import { ThroughputChart, isEventsPerSecondState } from './ThroughputChart.tsx';

const speeds = ['1', '5', '20', '100', 'max'];

export function RunControls({ commands }: { commands: EngineCommands }) {
  const selected = useLab((state) => state.selectedScenario);
  const seed = useLab((state) => state.seed);
  const speed = useLab((state) => state.speed);
  const ready = useLab((state) => state.link === 'open' && state.engine.state === 'ready');
  const lastError = useLab((state) => state.lastError);
  return (
    <section className="panel">
      <h2>Run</h2>
      <label className="field">
        Seed
        <input value={seed} placeholder="scenario's seed" inputMode="numeric" onChange={(event) => labActions.setSeed(event.target.value)} data-testid="seed-input" />
      </label>
      <label className="field">
        Speed
        <select value={speed} onChange={(event) => labActions.setSpeed(event.target.value)} data-testid="speed-select">
          {speeds.map((value) => (
            <option key={value} value={value}>
              {value === 'max' ? 'as fast as possible' : `${value}× real time`}
            </option>
          ))}
        </select>
      </label>
      <button type="button" className="primary" disabled={!ready || selected === undefined} onClick={() => void commands.startRun()} data-testid="start-run">
        Start run
      </button>
      {lastError ? (
        <p className="error" data-testid="run-error">
          {lastError}
        </p>
      ) : null}
    </section>
  );
}

export function RunView({ commands }: { commands: EngineCommands }) {
  const runId = useLab((state) => state.currentRunId);
  const run = useLab((state) => (state.currentRunId === undefined ? undefined : state.runs[state.currentRunId]));
  const projection = useLab((state) => (state.currentRunId === undefined ? undefined : state.projections[state.currentRunId]?.['events-per-second-by-type']));
  if (runId === undefined || run === undefined) {
    return (
      <section className="panel run-view empty">
        <p className="muted">Pick a scenario and start a run: its events per virtual second appear here as they are projected.</p>
      </section>
    );
  }
  const progress = run.durationUs > 0 ? Math.min(1, run.virtualTimeUs / run.durationUs) : 0;
  return (
    <section className="panel run-view" data-testid="run-view" data-status={run.status}>
      <header className="run-header">
        <div>
          <h2>
            {run.scenario} <span className="muted">seed {run.seed}</span>
          </h2>
          <div className="muted run-id">{run.runId}</div>
        </div>
        <span className={`status status-${run.status}`} data-testid="run-status">
          {run.status}
        </span>
        {run.status === 'running' ? (
          <button type="button" onClick={() => void commands.stopRun(run.runId)} data-testid="stop-run">
            Stop
          </button>
        ) : null}
        <button type="button" onClick={() => void commands.eventLog.openRun(run.runId)} data-testid="browse-events">
          Browse events
        </button>
      </header>
      {run.status === 'running' ? <RunControlBar run={run} commands={commands.runControl} /> : null}
      <div className="progress" aria-label="virtual time">
        <div className="progress-fill" style={{ width: `${(progress * 100).toFixed(1)}%` }} />
      </div>
      <dl className="stats">
        <div>
          <dt>Events appended</dt>
          <dd data-testid="event-count">{run.events.toLocaleString('en')}</dd>
        </div>
        <div>
          <dt>Events in store</dt>
          <dd data-testid="store-count">{run.storeCount === null ? '…' : run.storeCount.toLocaleString('en')}</dd>
        </div>
        <div>
          <dt>Virtual time</dt>
          <dd>
            {(run.virtualTimeUs / 1_000_000).toFixed(1)} / {(run.durationUs / 1_000_000).toFixed(0)} s
          </dd>
        </div>
        <div>
          <dt>Projected to</dt>
          <dd data-testid="projection-checkpoint">{projection ? `position ${projection.checkpoint.toLocaleString('en')}` : '…'}</dd>
        </div>
      </dl>
      {projection && isEventsPerSecondState(projection.state) ? (
        <ThroughputChart state={projection.state} durationSeconds={run.durationUs / 1_000_000} />
      ) : (
        <p className="muted">Waiting for the first projected events…</p>
      )}
      {run.error ? <p className="error">{run.error}</p> : null}
      {run.status === 'interrupted' ? <p className="error">The engine restarted while this run was live; its log up to the crash is in {run.outDir}.</p> : null}
      <p className="muted small">
        Head hash <code data-testid="head-hash">{run.headHash || '…'}</code> · written to <code data-testid="run-out-dir">{run.outDir}</code>
      </p>
    </section>
  );
}
