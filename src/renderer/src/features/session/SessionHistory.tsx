/**
 * The session's history: a strip of its changes over time (d3), the list of changes (newest
 * first: who, when, what), and, for the change selected, the session as it was right after it
 * and what differs now, section by section.
 */
import { count, countsText } from './session-format.ts';
import { extent, scaleTime } from 'd3';
import { sessionSectionNames, type SessionChange, type SessionDiff, type SessionSectionName } from '../../../../shared/api.ts';
import type { SessionCommands } from '../../engine/session-bridge.ts';
import { changeKey, sessionActions } from '../../state/session-store.ts';
import { useSession } from '../../state/use-session.ts';
import { AnnotationItems } from './AnnotationItems.tsx';
import { SessionSections } from './SessionSections.tsx';

const sectionTitles: Record<SessionSectionName, string> = { scenarios: 'Scenarios', annotations: 'Annotations', chaosPlans: 'Chaos plans', drillNotes: 'Drill notes', runs: 'Runs' };

export function SessionHistory({ commands }: { commands: SessionCommands }) {
  const history = useSession((state) => state.history);
  const selected = useSession((state) => (state.past === undefined ? undefined : changeKey(state.past.change)));
  return (
    <section className="panel session-history" aria-label="history" data-testid="session-history" data-total={history.total}>
      <h3>
        History <span className="muted small">{history.total.toLocaleString('en')} changes</span>
      </h3>
      {history.error !== undefined ? <p className="error">{history.error}</p> : null}
      <HistoryTimeline changes={history.changes} selected={selected} onSelect={(change) => void commands.selectChange(change)} />
      <ol className="history-list" data-testid="history-list">
        {history.changes.map((change, index) => (
          <li key={changeKey(change)} className={selected === changeKey(change) ? 'history-change selected' : 'history-change'}>
            <button type="button" className="history-change-button" onClick={() => void commands.selectChange(change)} data-testid="history-change" data-index={index} data-actor={change.actor} data-seq={change.seq} data-message={change.message ?? ''} aria-current={selected === changeKey(change)}>
              <span className="muted small">{change.timeMs > 0 ? new Date(change.timeMs).toLocaleString() : 'no time'}</span> <code>{change.actor}</code>
              <span className="muted small">#{change.seq}</span> {change.message ?? <span className="muted">(no message)</span>}
            </button>
          </li>
        ))}
      </ol>
      {history.changes.length < history.total ? (
        <button type="button" disabled={history.loading} onClick={() => void commands.moreHistory()} data-testid="history-more">
          Older changes
        </button>
      ) : null}
      <PastView />
    </section>
  );
}

const stripWidth = 640;
const stripHeight = 34;
const stripInset = 8;

/** One mark per change (of those listed) on a time axis; click one to look at it. */
function HistoryTimeline({ changes, selected, onSelect }: { changes: readonly SessionChange[]; selected: string | undefined; onSelect: (change: SessionChange) => void }) {
  const timed = changes.filter((change) => change.timeMs > 0);
  const [first, last] = extent(timed, (change) => change.timeMs);
  if (first === undefined || last === undefined) return null;
  // One instant: a minute around it, so that the marks sit in the middle.
  const scale = scaleTime()
    .domain(first === last ? [first - 30_000, last + 30_000] : [first, last])
    .range([stripInset, stripWidth - stripInset]);
  const ticks = scale.ticks(5);
  const format = scale.tickFormat(5);
  return (
    <svg className="history-timeline" viewBox={`0 0 ${stripWidth} ${stripHeight}`} role="img" aria-label="changes over time" data-testid="history-timeline" data-changes={timed.length}>
      <line className="history-axis" x1={stripInset} x2={stripWidth - stripInset} y1={18} y2={18} />
      {ticks.map((tick) => (
        <text key={tick.getTime()} className="history-tick-label" x={scale(tick)} y={stripHeight - 2} textAnchor="middle">
          {format(tick)}
        </text>
      ))}
      {timed.map((change) => {
        const x = scale(change.timeMs);
        const key = changeKey(change);
        return (
          <line key={key} className={key === selected ? 'history-mark selected' : 'history-mark'} x1={x} x2={x} y1={6} y2={22} onClick={() => onSelect(change)} data-testid="history-mark">
            <title>{`${new Date(change.timeMs).toLocaleString()} · ${change.actor} #${change.seq}${change.message === null ? '' : ` · ${change.message}`}`}</title>
          </line>
        );
      })}
    </svg>
  );
}

function PastView() {
  const past = useSession((state) => state.past);
  if (past === undefined) return null;
  const { change, result } = past;
  return (
    <div className="history-past" data-testid="history-past" data-loading={String(past.loading)} data-message={change.message ?? ''} data-changes-since={result?.changesSince ?? ''}>
      <div className="history-past-header">
        <h3>
          The session right after {change.actor} #{change.seq}
          {change.timeMs > 0 ? <span className="muted small"> · {new Date(change.timeMs).toLocaleString()}</span> : null}
        </h3>
        <button type="button" className="small-button" onClick={() => sessionActions.closePast()} data-testid="history-past-close">
          Back to now
        </button>
      </div>
      {past.error !== undefined ? <p className="error">{past.error}</p> : null}
      {past.loading ? <p className="muted small">Loading…</p> : null}
      {result !== undefined ? (
        <>
          <p className="small" data-testid="history-past-counts">
            Then: {countsText(result.view.counts)}. {count(result.changesSince, 'change', 'changes')} since.
          </p>
          <DiffSummary diff={result.diff} />
          <section className="panel" aria-label="annotations then">
            <h3>Annotations then</h3>
            {result.view.annotations.length === 0 ? <p className="muted small">No annotation then.</p> : null}
            <AnnotationItems annotations={result.view.annotations} testId="past-annotation" />
          </section>
          <SessionSections view={result.view} past />
        </>
      ) : null}
    </div>
  );
}

/** What differs now from the point looked at: entries added, changed and removed since, per section. */
function DiffSummary({ diff }: { diff: SessionDiff }) {
  const sections = sessionSectionNames.filter((section) => {
    const entry = diff[section];
    return entry.added.length + entry.changed.length + entry.removed.length + entry.more > 0;
  });
  return (
    <div className="history-diff" data-testid="history-diff">
      <h4>Since then</h4>
      {sections.length === 0 && !diff.titleChanged ? <p className="muted small">Nothing has changed since.</p> : null}
      {diff.titleChanged ? <p className="small">The title changed.</p> : null}
      <ul className="history-diff-list">
        {sections.map((section) => {
          const entry = diff[section];
          return (
            <li key={section} data-testid="history-diff-section" data-section={section} data-added={entry.added.length} data-changed={entry.changed.length} data-removed={entry.removed.length}>
              <strong>{sectionTitles[section]}</strong>: {entry.added.length} added, {entry.changed.length} changed, {entry.removed.length} removed
              {entry.more > 0 ? ` (and ${entry.more} more)` : ''}
              <div className="muted small history-diff-keys">
                {entry.added.length > 0 ? <div>added: {entry.added.join(', ')}</div> : null}
                {entry.changed.length > 0 ? <div>changed: {entry.changed.join(', ')}</div> : null}
                {entry.removed.length > 0 ? <div>removed: {entry.removed.join(', ')}</div> : null}
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
