/**
 * The Session tab: the shared session's annotations (anchored to run positions) and the form to
 * add one, its other sections (scenario library, chaos plans, drill notes, runs, with fetching a
 * peer's run), who is in the session and where, the invites, and the session's history.
 * Everything here comes from the engine, which holds the session; the page never blocks on the
 * network.
 */
import { countsText } from './session-format.ts';
import type { SessionCommands } from '../../engine/session-bridge.ts';
import { sessionActions } from '../../state/session-store.ts';
import { useEventLog } from '../../state/use-event-log.ts';
import { useLab } from '../../state/use-lab.ts';
import { useSession } from '../../state/use-session.ts';
import { AnnotationItems } from './AnnotationItems.tsx';
import { InvitePanel } from './InvitePanel.tsx';
import { PresenceList } from './PresenceList.tsx';
import { SessionHistory } from './SessionHistory.tsx';
import { SessionSections } from './SessionSections.tsx';
import { SubmitForm } from './SubmitForm.tsx';

export function SessionView({ commands }: { commands: SessionCommands }) {
  const view = useSession((state) => state.view);
  const viewError = useSession((state) => state.viewError);
  return (
    <div className="session-view" data-testid="session-view">
      <div className="view-header">
        <h2>{view?.title ?? 'Session'}</h2>
        {view !== undefined ? (
          <span className="muted small" data-testid="session-counts">
            {countsText(view.counts)}
            {view.rejected > 0 ? ` · ${view.rejected} malformed entries from peers left out` : ''}
          </span>
        ) : null}
      </div>
      {viewError !== undefined ? <p className="error">{viewError}</p> : null}
      <div className="session-grid">
        <div>
          <AnnotationForm commands={commands} />
          <AnnotationList />
          {view !== undefined ? <SessionSections view={view} commands={commands} /> : null}
        </div>
        <div>
          <PresenceList onName={commands.setName} />
          <InvitePanel commands={commands} />
        </div>
      </div>
      <SessionHistory commands={commands} />
    </div>
  );
}

function AnnotationForm({ commands }: { commands: SessionCommands }) {
  const form = useSession((state) => state.form);
  const annotating = useSession((state) => state.annotating);
  const error = useSession((state) => state.annotateError);
  const history = useEventLog((state) => state.history);
  const runs = useLab((state) => state.runs);
  const known = [...new Set([...Object.keys(runs), ...history.map((run) => run.runId)])];
  return (
    <SubmitForm className="panel annotation-form" label="Add annotation" busyLabel="Adding…" busy={annotating} disabled={false} error={error} onSubmit={() => void commands.annotate()} testId="annotation-add" errorTestId="annotation-error">
      <h3>Add an annotation</h3>
      <div className="annotation-fields">
        <label className="filter-field">
          Run
          <input list="session-known-runs" value={form.runId} onChange={(event) => sessionActions.setForm({ runId: event.target.value })} data-testid="annotation-run" placeholder="run id" autoComplete="off" />
          <datalist id="session-known-runs">
            {known.map((runId) => (
              <option key={runId} value={runId} />
            ))}
          </datalist>
        </label>
        <label className="filter-field">
          Position
          <input inputMode="numeric" value={form.position} onChange={(event) => sessionActions.setForm({ position: event.target.value })} data-testid="annotation-position" className="jump-input" />
        </label>
      </div>
      <label className="filter-field">
        Text
        <textarea value={form.text} rows={3} onChange={(event) => sessionActions.setForm({ text: event.target.value })} data-testid="annotation-text" />
      </label>
    </SubmitForm>
  );
}

function AnnotationList() {
  const annotations = useSession((state) => state.view?.annotations);
  if (annotations === undefined) return null;
  return (
    <section className="panel" aria-label="annotations">
      <h3>Annotations</h3>
      {annotations.length === 0 ? <p className="muted small">No annotation yet.</p> : null}
      <AnnotationItems annotations={annotations} testId="annotation" />
    </section>
  );
}
