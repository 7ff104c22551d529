/** One projection: its health in a line, its rebuild, comparison and errors below, its parked events when expanded. */
import type { ProjectionHealthView } from '../../../../shared/api.ts';
import type { ProjectionsCommands } from '../../engine/projections-bridge.ts';
import { runKey, type ParkedList, type ProjectionAction } from '../../state/projections-store.ts';
import { useProjections } from '../../state/use-projections.ts';
import { LagSparkline } from './LagSparkline.tsx';
import { describeCatchUp, describeCompare, formatCount, formatLatency, formatMs, rebuildProgress, statusLabel } from './projection-format.ts';

/** Parked events listed at most per projection (the engine answers them all). */
export const parkedShownMax = 200;

const noSamples: never[] = [];

interface RowProps {
  runId: string;
  projection: ProjectionHealthView;
  headPosition: number;
  live: boolean;
  commands: ProjectionsCommands;
}

export function ProjectionRow({ runId, projection, headPosition, live, commands }: RowProps) {
  const { name } = projection;
  const key = runKey(runId, name);
  const expanded = useProjections((state) => state.expanded[name] === true);
  const pending = useProjections((state) => state.pending[key]);
  const actionError = useProjections((state) => state.actionErrors[key]);
  const samples = useProjections((state) => state.lagHistory[runId]?.[name] ?? noSamples);
  const rebuilding = projection.rebuild !== null;
  const notLive = live ? undefined : 'the run has finished: projections are acted on while it runs';
  const action = (kind: ProjectionAction, label: string, title: string, disabledBecause: string | undefined) => (
    <button type="button" className="small-button" disabled={disabledBecause !== undefined || pending !== undefined} title={disabledBecause ?? title} onClick={() => void commands.act(name, kind)} data-testid={`projection-${kind}-${name}`}>
      {pending === kind ? `${label}…` : label}
    </button>
  );
  return (
    <div className={`projection-row status-row-${projection.status}`} role="rowgroup" data-testid={`projection-row-${name}`} data-status={projection.status}>
      <div className="projection-line" role="row">
        <span className="projection-name" role="cell">
          <button type="button" className="expander" aria-expanded={expanded} onClick={() => void commands.toggleParked(name)} data-testid={`projection-expand-${name}`} title={expanded ? 'Hide parked events' : 'Show parked events'}>
            {expanded ? '▾' : '▸'}
          </button>
          <span className="projection-title">
            <strong>{name}</strong>
            <span className="muted small" data-testid={`projection-version-${name}`} data-version={projection.version} data-shards={projection.shards}>
              v{projection.version} · {projection.shards} {projection.shards === 1 ? 'shard' : 'shards'}
            </span>
          </span>
        </span>
        <span role="cell">
          <span className={`projection-status projection-status-${projection.status}`} data-testid={`projection-status-${name}`} data-status={projection.status}>
            {statusLabel(projection.status)}
          </span>
        </span>
        <span className="numeric" role="cell" data-testid={`projection-checkpoint-${name}`} data-checkpoint={projection.checkpoint}>
          {formatCount(projection.checkpoint)} <span className="muted">/ {formatCount(headPosition)}</span>
        </span>
        <span className="projection-lag" role="cell">
          <span className="numeric" data-testid={`projection-lag-${name}`} data-lag-events={projection.lagEvents} data-lag-ms={projection.lagMs}>
            {formatCount(projection.lagEvents)} ev · {formatMs(projection.lagMs)}
          </span>
          <LagSparkline name={name} samples={samples} />
        </span>
        <span className="numeric" role="cell" data-testid={`projection-latency-${name}`} title={projection.latency.count === 0 ? 'nothing projected yet' : `p95 ${formatMs(projection.latency.p95Ms)} · max ${formatMs(projection.latency.maxMs)} · ${formatCount(projection.latency.count)} events`}>
          {formatLatency(projection.latency)}
        </span>
        <span className={projection.parked > 0 ? 'numeric parked-some' : 'numeric muted'} role="cell" data-testid={`projection-parked-${name}`} data-parked={projection.parked}>
          {formatCount(projection.parked)}
        </span>
        <span className={projection.stalls > 0 ? 'numeric parked-some' : 'numeric muted'} role="cell" data-testid={`projection-stalls-${name}`} data-stalls={projection.stalls} title={stallTitle(projection)}>
          {formatCount(projection.stalls)}
        </span>
        <span className="projection-actions" role="cell">
          {action('rebuild', 'Rebuild', 'build it again in shadow from position 1, compare, then swap it in', notLive ?? (rebuilding ? 'a rebuild is already running' : undefined))}
          {action('compare', 'Compare', 'build it again in shadow and compare it with the live one, without swapping', notLive ?? (rebuilding ? 'a rebuild is already running' : undefined))}
          {projection.status === 'halted' ? action('resume', 'Resume', 'go on past the event it halted on (the event stays parked)', notLive) : null}
        </span>
      </div>
      <RowNotes projection={projection} headPosition={headPosition} actionError={actionError} commands={commands} />
      {expanded ? <ParkedEvents name={name} parkedCount={projection.parked} runId={runId} commands={commands} /> : null}
    </div>
  );
}

function stallTitle(projection: ProjectionHealthView): string {
  const stall = projection.lastStall;
  if (stall === null) return 'no stall seen';
  const recovered = stall.recoveredAfterMs === null ? 'still stalled' : `recovered ${formatMs(stall.recoveredAfterMs)} later`;
  return `last stall seen after ${formatMs(stall.detectedAfterMs)} without progress; ${recovered}`;
}

function RowNotes({ projection, headPosition, actionError, commands }: { projection: ProjectionHealthView; headPosition: number; actionError: string | undefined; commands: ProjectionsCommands }) {
  const { name, rebuild, catchUp, lastCompare, halted, error } = projection;
  if (rebuild === null && catchUp === null && lastCompare === null && halted === null && error === null && actionError === undefined) return null;
  const progress = rebuild === null ? 0 : rebuildProgress(rebuild.checkpoint, headPosition);
  const split = catchUp === null ? undefined : describeCatchUp(catchUp);
  return (
    <div className="projection-notes small">
      {catchUp === null || split === undefined ? null : (
        <div className="projection-note" data-testid={`projection-catch-up-${name}`} data-folded={catchUp.folded} data-from={catchUp.from} data-to={catchUp.to} data-parts={catchUp.parts}>
          <span>{split.text}</span>
          <span className="rebuild-bar" aria-hidden="true">
            <span className="rebuild-fill" style={{ width: `${(split.progress * 100).toFixed(1)}%` }} />
          </span>
        </div>
      )}
      {rebuild === null ? null : (
        <div className="projection-note" data-testid={`projection-rebuild-progress-${name}`} data-checkpoint={rebuild.checkpoint} data-head={headPosition} data-swap={rebuild.swap}>
          <span>
            {rebuild.swap ? 'Rebuilding' : 'Comparing'} in shadow: {formatCount(rebuild.checkpoint)} / {formatCount(headPosition)} ({Math.floor(progress * 100)}%)
          </span>
          <span className="rebuild-bar" aria-hidden="true">
            <span className="rebuild-fill" style={{ width: `${(progress * 100).toFixed(1)}%` }} />
          </span>
        </div>
      )}
      {lastCompare === null ? null : (
        <div className={lastCompare.equal ? 'projection-note compare-equal' : 'projection-note compare-different'} data-testid={`projection-last-compare-${name}`} data-equal={lastCompare.equal} data-swapped={lastCompare.swapped} data-at={lastCompare.at}>
          Last comparison: {describeCompare(lastCompare)}
        </div>
      )}
      {halted === null ? null : (
        <div className="projection-note error" data-testid={`projection-halted-${name}`} data-position={halted.position}>
          Halted at position {formatCount(halted.position)}: {halted.error}{' '}
          <button type="button" className="small-button" onClick={() => void commands.openEvent(halted.position)} data-testid={`projection-halted-open-${name}`}>
            Open in event log
          </button>
        </div>
      )}
      {error === null ? null : (
        <div className="projection-note error" data-testid={`projection-error-${name}`}>
          {error}
        </div>
      )}
      {actionError === undefined ? null : (
        <div className="projection-note error" role="alert" data-testid={`projection-action-error-${name}`}>
          {actionError}
        </div>
      )}
    </div>
  );
}

function ParkedEvents({ name, parkedCount, runId, commands }: { name: string; parkedCount: number; runId: string; commands: ProjectionsCommands }) {
  const parked: ParkedList | undefined = useProjections((state) => state.parked[runKey(runId, name)]);
  return (
    <div className="parked" data-testid={`projection-parked-list-${name}`} data-state={parked?.state ?? 'loading'}>
      {parked === undefined || parked.state === 'loading' ? <p className="muted small">Asking the engine for the parked events…</p> : null}
      {parked?.state === 'error' ? <p className="error small">{parked.message}</p> : null}
      {parked?.state === 'unavailable' ? (
        <p className="muted small" data-testid={`projection-parked-unavailable-${name}`}>
          {formatCount(parkedCount)} parked {parkedCount === 1 ? 'event' : 'events'}. The engine lists parked events only while a run is live ({parked.reason}).
        </p>
      ) : null}
      {parked?.state === 'loaded' && parked.events.length === 0 ? <p className="muted small">No parked events: every event so far was applied.</p> : null}
      {parked?.state === 'loaded' && parked.events.length > 0 ? (
        <>
          <ul className="parked-list">
            {parked.events.slice(0, parkedShownMax).map((event) => (
              <li key={event.position} className="parked-event" data-testid={`parked-event-${event.position}`} data-position={event.position}>
                <span className="cell-position">#{formatCount(event.position)}</span>
                <span className="parked-error" title={event.error}>
                  {event.error}
                </span>
                <button type="button" className="small-button" onClick={() => void commands.openEvent(event.position)} data-testid={`parked-event-open-${event.position}`}>
                  Open in event log
                </button>
              </li>
            ))}
          </ul>
          {parked.events.length > parkedShownMax ? (
            <p className="muted small">
              The first {parkedShownMax} of {formatCount(parked.events.length)} are listed.
            </p>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
