/**
 * "Inject now": a fault into a live run, from the chaos catalogue. Pick the run (the run panel's
 * current run by default), the fault (a load spike on a generator, by a factor, for a virtual
 * duration; a projection worker kill; an engine kill) and inject it; the engine's answer (the
 * fault's window, or its typed error) shows below, with every fault injected into that run so far.
 * The windows are drawn as bands on the run's charts.
 */
import { useEffect } from 'react';
import { injectFaultKinds, type InjectFaultKind } from '../../../../shared/api.ts';
import { drillsActions, injectNow, loadRunGenerators } from '../../state/drills-store.ts';
import { useDrills } from '../../state/use-drills.ts';
import { useLab } from '../../state/use-lab.ts';
import { faultWindowText } from '../charts/fault-bands.ts';

const kindLabels: Record<InjectFaultKind, string> = {
  'load-spike': 'load spike (a generator’s rate × factor, for a while)',
  'worker-kill': 'kill a projection worker thread',
  'engine-kill': 'kill the engine (SIGKILL; the supervisor restarts it)',
};

export function InjectNow() {
  const form = useDrills((state) => state.inject.form);
  const pending = useDrills((state) => state.inject.pending);
  const outcome = useDrills((state) => state.inject.outcome);
  const currentRunId = useLab((state) => state.currentRunId);
  const runs = useLab((state) => state.runs);
  const engineReady = useLab((state) => state.link === 'open' && state.engine.state === 'ready');
  const runId = form.runId ?? currentRunId;
  const run = runId === undefined ? undefined : runs[runId];
  const generators = useDrills((state) => (runId === undefined ? undefined : state.generators[runId]));
  const faults = useDrills((state) => (runId === undefined ? undefined : state.faults[runId]));
  const injected = (faults ?? []).filter((fault) => fault.source === 'injected');
  const live = Object.values(runs).filter((item) => item.status === 'running');
  const choices = run !== undefined && !live.includes(run) ? [run, ...live] : live;

  const runStatus = run?.status;
  useEffect(() => {
    if (runId !== undefined && runStatus === 'running') loadRunGenerators(runId);
  }, [runId, runStatus]);

  return (
    <div className="inject-now" data-testid="inject-now" aria-label="inject now">
      <h3>Inject now</h3>
      <form
        className="inject-form"
        onSubmit={(event) => {
          event.preventDefault();
          void injectNow();
        }}
      >
        <label className="filter-field">
          Run
          <select aria-label="Run" data-testid="inject-run" value={runId ?? ''} onChange={(event) => drillsActions.setInjectForm({ runId: event.target.value === '' ? undefined : event.target.value })}>
            {choices.length === 0 ? <option value="">no live run</option> : null}
            {choices.map((item) => (
              <option key={item.runId} value={item.runId}>
                {item.scenario} · {item.status}
                {item.runId === currentRunId ? ' (run panel)' : ''} · {item.runId}
              </option>
            ))}
          </select>
        </label>
        <label className="filter-field">
          Fault
          <select aria-label="Fault" data-testid="inject-kind" value={form.kind} onChange={(event) => drillsActions.setInjectForm({ kind: event.target.value as InjectFaultKind })}>
            {injectFaultKinds.map((kind) => (
              <option key={kind} value={kind}>
                {kindLabels[kind]}
              </option>
            ))}
          </select>
        </label>
        {form.kind === 'load-spike' ? (
          <>
            <label className="filter-field">
              Generator
              {generators !== undefined && generators.length > 0 ? (
                <select aria-label="Generator" data-testid="inject-generator" value={form.generator} onChange={(event) => drillsActions.setInjectForm({ generator: event.target.value })}>
                  {generators.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </select>
              ) : (
                <input aria-label="Generator" data-testid="inject-generator" value={form.generator} placeholder="generator" onChange={(event) => drillsActions.setInjectForm({ generator: event.target.value })} />
              )}
            </label>
            <label className="filter-field">
              Factor
              <input aria-label="Factor" data-testid="inject-factor" inputMode="decimal" value={form.factor} onChange={(event) => drillsActions.setInjectForm({ factor: event.target.value })} size={5} />
            </label>
            <label className="filter-field">
              For (virtual)
              <input aria-label="Duration" data-testid="inject-duration" value={form.duration} placeholder="10s" onChange={(event) => drillsActions.setInjectForm({ duration: event.target.value })} size={6} />
            </label>
          </>
        ) : null}
        <button type="submit" className="primary" data-testid="inject-submit" disabled={pending || !engineReady || runId === undefined}>
          {pending ? 'Injecting…' : 'Inject'}
        </button>
      </form>
      {outcome?.ok === true ? (
        <p className="small inject-result" data-testid="inject-result" data-fault-id={outcome.result.faultId}>
          Injected <code>{outcome.result.faultId}</code> into {outcome.runId}: {outcome.result.detail}, {faultWindowText({ kind: outcome.result.kind, startUs: outcome.result.startUs, endUs: outcome.result.endUs })} (virtual).
        </p>
      ) : null}
      {outcome?.ok === false ? (
        <p className="error small" data-testid="inject-error" data-code={outcome.code}>
          <strong>{outcome.code}</strong>
          {outcome.path === undefined || outcome.path === '' ? null : (
            <>
              {' '}
              at <code>{outcome.path}</code>
            </>
          )}
          : {outcome.message}
        </p>
      ) : null}
      {runId !== undefined ? (
        <div className="inject-list">
          <h4 className="muted small">Faults injected into this run</h4>
          {injected.length === 0 ? <p className="muted small">None yet.</p> : null}
          <ul data-testid="injected-faults" data-count={injected.length}>
            {injected.map((fault) => (
              <li key={fault.faultId} data-testid="injected-fault" data-kind={fault.kind} data-fault-id={fault.faultId}>
                <code>{fault.kind}</code> <span className="numeric">{faultWindowText(fault)}</span> <span className="muted small">{fault.detail}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
