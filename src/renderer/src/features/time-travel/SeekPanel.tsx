/**
 * What the cursor points at: the position, its virtual time, and the events-per-second-by-type
 * projection's state there (run.stateAt) as a small table with d3-scaled bars. "Fork here" opens
 * the fork form at that position.
 */
import { scaleLinear } from 'd3';
import type { TimeTravelCommands } from '../../engine/time-travel-bridge.ts';
import { seekProjection, timeTravelActions, type SeekView } from '../../state/time-travel-store.ts';
import { useTimeTravel } from '../../state/use-time-travel.ts';
import { formatCount } from '../projections/projection-format.ts';
import { ForkForm } from './ForkForm.tsx';
import { formatVirtualTime, isEventsPerSecondState, typeCounts } from './time-travel-math.ts';

export function SeekPanel({ seek, head, commands }: { seek: SeekView | undefined; head: number; commands: TimeTravelCommands }) {
  const forkOpen = useTimeTravel((state) => state.fork.open);
  if (seek === undefined) {
    return (
      <div className="seek-panel">
        <p className="muted small" data-testid="seek-hint">
          Click or drag on the timeline to see the run as it was at that point ({seekProjection}); arrow keys move one event, shift-arrow one slice.
        </p>
      </div>
    );
  }
  const { result } = seek;
  const shown = result !== undefined && result.position === seek.position ? result : undefined;
  return (
    <div className="seek-panel">
      <div className="seek-line">
        <span>
          Position{' '}
          <strong className="numeric" data-testid="seek-position" data-position={seek.position}>
            {formatCount(seek.position)}
          </strong>{' '}
          <span className="muted">of {formatCount(head)}</span>
        </span>
        <span>
          Virtual time{' '}
          <strong className="numeric" data-testid="seek-time" data-virtual-time-us={shown?.virtualTimeUs ?? ''}>
            {shown === undefined ? '…' : formatVirtualTime(shown.virtualTimeUs)}
          </strong>
        </span>
        {shown === undefined ? null : <span className="muted small">folded {formatCount(shown.foldedEvents)} events after the nearest snapshot</span>}
        <span className="spacer" />
        <button type="button" className="small-button" disabled={seek.position <= 1} onClick={() => commands.seek(seek.position - 1)} data-testid="seek-previous" title="One event back">
          ◀
        </button>
        <button type="button" className="small-button" disabled={seek.position >= head} onClick={() => commands.seek(seek.position + 1)} data-testid="seek-next" title="One event on">
          ▶
        </button>
        <button type="button" disabled={seek.position < 1 || forkOpen} onClick={() => timeTravelActions.openFork(true)} data-testid="fork-here" title="A what-if run sharing the events up to here, then differing by one change">
          Fork here
        </button>
      </div>
      {forkOpen ? <ForkForm position={seek.position} commands={commands} /> : null}
      {seek.error === undefined ? null : (
        <p className="error small" data-testid="seek-error">
          {seek.error}
        </p>
      )}
      <SeekState seek={seek} />
    </div>
  );
}

function SeekState({ seek }: { seek: SeekView }) {
  const { result } = seek;
  const state = seek.error !== undefined ? 'error' : result === undefined || result.position !== seek.position ? 'loading' : 'loaded';
  if (result === undefined || !isEventsPerSecondState(result.state)) {
    return (
      <div className="seek-state" data-testid="seek-state" data-state={state}>
        <p className="muted small">{result === undefined ? 'Asking the engine…' : 'The projection has no state here.'}</p>
      </div>
    );
  }
  const { second, rows } = typeCounts(result.state, result.virtualTimeUs);
  const width = scaleLinear()
    .domain([0, Math.max(1, ...rows.map((row) => row.total))])
    .range([0, 100]);
  return (
    <div className="seek-state" data-testid="seek-state" data-state={state} data-position={result.position} data-total={result.state.total}>
      <table className="seek-table">
        <thead>
          <tr>
            <th>Type</th>
            <th className="numeric">In second {second}</th>
            <th className="numeric">So far</th>
            <th aria-hidden="true" />
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                No workload events yet at this position.
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={row.type} data-testid="seek-state-row" data-type={row.type} data-total={row.total}>
                <td className="cell-type">{row.type}</td>
                <td className="numeric">{formatCount(row.inSecond)}</td>
                <td className="numeric">{formatCount(row.total)}</td>
                <td className="seek-bar-cell">
                  <span className="seek-bar" style={{ width: `${width(row.total).toFixed(1)}%` }} />
                </td>
              </tr>
            ))
          )}
        </tbody>
        <tfoot>
          <tr>
            <td>workload events</td>
            <td />
            <td className="numeric">{formatCount(result.state.total)}</td>
            <td />
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
