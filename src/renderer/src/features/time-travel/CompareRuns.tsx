/**
 * Two runs side by side (runs.diff): where their logs first diverge, with both events, and
 * their metrics in one table, the rows that differ marked.
 */
import { useMemo } from 'react';
import type { TimeTravelCommands } from '../../engine/time-travel-bridge.ts';
import { timeTravelActions } from '../../state/time-travel-store.ts';
import { useTimeTravel } from '../../state/use-time-travel.ts';
import { formatCount } from '../projections/projection-format.ts';
import { RunPicker } from '../runs/RunPicker.tsx';
import { formatVirtualTime, metricRows, type RunDiff } from './time-travel-math.ts';

type DiffSide = NonNullable<RunDiff['firstDivergence']>['a'];

export function CompareRuns({ commands }: { commands: TimeTravelCommands }) {
  const compare = useTimeTravel((state) => state.compare);
  const { a, b, pending, result, error } = compare;
  return (
    <section className="panel compare-runs" data-testid="compare-runs">
      <header className="view-header">
        <h2>Compare runs</h2>
      </header>
      <div className="compare-pickers">
        <label className="filter-field">
          A
          <RunPicker runId={a} onPick={(runId) => timeTravelActions.setCompareRun('a', runId)} testId="compare-a" />
        </label>
        <label className="filter-field">
          B
          <RunPicker runId={b} onPick={(runId) => timeTravelActions.setCompareRun('b', runId)} testId="compare-b" />
        </label>
        <button type="button" disabled={a === undefined || b === undefined || pending} onClick={() => void commands.compare()} data-testid="compare-submit">
          {pending ? 'Comparing…' : 'Compare'}
        </button>
      </div>
      {error === undefined ? null : (
        <p className="error small" data-testid="compare-error">
          {error}
        </p>
      )}
      {result === undefined ? <p className="muted small">Choose two runs (a run and its fork, or two seeds of a scenario) and compare their logs and metrics.</p> : <CompareResult result={result} />}
    </section>
  );
}

function CompareResult({ result }: { result: RunDiff }) {
  const rows = useMemo(() => metricRows(result.a, result.b), [result]);
  const divergence = result.firstDivergence;
  return (
    <>
      <div className="compare-divergence" data-testid="compare-divergence" data-position={divergence?.position ?? ''} data-identical={result.identical} data-shared-prefix={result.sharedPrefix}>
        {result.identical ? (
          <p className="compare-equal">Identical logs: all {formatCount(result.sharedPrefix)} events are the same.</p>
        ) : (
          <>
            <p>
              The logs share their first <strong>{formatCount(result.sharedPrefix)}</strong> events and first differ at position <strong className="numeric">{formatCount(divergence?.position ?? 0)}</strong>.
            </p>
            <div className="compare-sides">
              <DivergentEvent label="A" side={divergence?.a ?? null} testId="compare-event-a" />
              <DivergentEvent label="B" side={divergence?.b ?? null} testId="compare-event-b" />
            </div>
          </>
        )}
      </div>
      <table className="compare-metrics" data-testid="compare-metrics">
        <thead>
          <tr>
            <th>Metric</th>
            <th className="numeric" title={result.a.runId}>
              A
            </th>
            <th className="numeric" title={result.b.runId}>
              B
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key} className={row.differs ? 'differs' : undefined} data-testid="compare-metric" data-metric={row.key} data-differs={row.differs}>
              <td>
                {row.differs ? <span className="differs-mark" title="differs" aria-label="differs">≠ </span> : null}
                {row.label}
              </td>
              <td className="numeric">{row.a}</td>
              <td className="numeric">{row.b}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function DivergentEvent({ label, side, testId }: { label: string; side: DiffSide; testId: string }) {
  if (side === null) {
    return (
      <div className="compare-event" data-testid={testId} data-type="">
        <h4>{label}</h4>
        <p className="muted small">No event here: this log ends before.</p>
      </div>
    );
  }
  let payload = side.payload;
  try {
    payload = JSON.stringify(JSON.parse(side.payload), null, 2);
  } catch {
    // Shown as stored.
  }
  return (
    <div className="compare-event" data-testid={testId} data-type={side.type} data-position={side.position}>
      <h4>
        {label} · <span className="cell-type">{side.type}</span>
      </h4>
      <dl className="inspector-meta">
        <div>
          <dt>position</dt>
          <dd>{formatCount(side.position)}</dd>
        </div>
        <div>
          <dt>stream</dt>
          <dd>
            {side.stream} v{side.version}
          </dd>
        </div>
        <div>
          <dt>virtual time</dt>
          <dd>{formatVirtualTime(side.virtualTimeUs)}</dd>
        </div>
      </dl>
      <pre className="inspector-payload">{payload}</pre>
    </div>
  );
}
