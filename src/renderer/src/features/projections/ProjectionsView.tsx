/** The Projections tab: the health of one run's projections, live from the engine's pushes. */
import type { ProjectionsCommands } from '../../engine/projections-bridge.ts';
import { useProjections } from '../../state/use-projections.ts';
import { RunPicker } from '../runs/RunPicker.tsx';
import { ProjectionRow } from './ProjectionRow.tsx';
import { formatCount } from './projection-format.ts';

export function ProjectionsView({ commands }: { commands: ProjectionsCommands }) {
  const runId = useProjections((state) => state.runId);
  const run = useProjections((state) => (state.runId === undefined ? undefined : state.runs[state.runId]));
  const listError = useProjections((state) => state.listError);
  return (
    <section className="panel projections" data-testid="projections-tab" data-run-id={runId ?? ''} data-live={run?.live ?? false}>
      <header className="view-header">
        <h2>Projections</h2>
        <RunPicker runId={runId} onPick={(picked) => void commands.openRun(picked)} testId="projections-run" />
        <button type="button" disabled={runId === undefined} onClick={() => void (runId === undefined ? undefined : commands.openRun(runId))} data-testid="projections-refresh" title="Ask the engine again">
          Refresh
        </button>
      </header>
      {listError ? (
        <p className="error" data-testid="projections-error">
          {listError}
        </p>
      ) : null}
      {runId === undefined ? (
        <p className="muted">Start a run or pick one: each of its projections appears here with its status, lag, latency and parked events.</p>
      ) : run === undefined ? (
        listError ? null : <p className="muted">Asking the engine…</p>
      ) : (
        <>
          <p className="muted small projections-summary" data-testid="projections-head" data-head={run.headPosition}>
            {run.live ? 'Live' : 'Finished: final health'} · head {formatCount(run.headPosition)} · {run.projections.length} projections
            {run.live ? '' : ' · rebuild, compare, resume and parked lists are available while a run is live'}
          </p>
          <div className="projection-table" role="table" aria-label="Projections">
            <div className="projection-line projection-head-line" role="row">
              <span role="columnheader">Projection</span>
              <span role="columnheader">Status</span>
              <span role="columnheader">Checkpoint/head</span>
              <span role="columnheader">Lag</span>
              <span role="columnheader" title="append-to-projected latency, p50 / p99">Latency p50/p99</span>
              <span role="columnheader">Parked</span>
              <span role="columnheader">Stalls</span>
              <span role="columnheader">Actions</span>
            </div>
            {run.projections.length === 0 ? <p className="muted projection-empty">This run has no projections.</p> : null}
            {run.projections.map((projection) => (
              <ProjectionRow key={projection.name} runId={runId} projection={projection} headPosition={run.headPosition} live={run.live} commands={commands} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
