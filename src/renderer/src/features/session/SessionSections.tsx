/**
 * Every section of the session beside its annotations: the scenario library, chaos plans, drill
 * notes and run summaries. The current session (with `commands`) opens texts, shares this lab's
 * scenarios, chaos plans and drill notes, uses (saves locally) or removes entries, adds a local
 * run to the session and fetches runs this lab lacks from the host it joined; a past view (`past`) only
 * shows, with its own test ids so that it never mixes with the current one.
 */
import type { SessionRun, SessionView } from '../../../../shared/api.ts';
import type { SessionCommands } from '../../engine/session-bridge.ts';
import { sessionActions, type RunFetch } from '../../state/session-store.ts';
import { useEventLog } from '../../state/use-event-log.ts';
import { useSession } from '../../state/use-session.ts';
import type { ReactNode } from 'react';
import { DrillNoteForm, EntryButtons, SharePlanForm, ShareScenarioForm } from './SessionLibraryForms.tsx';
import { fetchLabel, shortHash } from './session-format.ts';
import { SubmitForm } from './SubmitForm.tsx';

export function SessionSections({ view, commands, past = false }: { view: SessionView; commands?: SessionCommands; past?: boolean }) {
  const id = (name: string): string => (past ? `past-${name}` : name);
  return (
    <div className="session-sections">
      <TextEntries
        title="Scenario library"
        section="scenarios"
        entries={view.scenarios.map((name) => ({ name }))}
        empty="No scenario in the session."
        testId={id('session-scenario')}
        commands={commands}
        form={commands !== undefined ? <ShareScenarioForm commands={commands} /> : null}
      />
      <TextEntries
        title="Chaos plans"
        section="chaosPlans"
        entries={view.chaosPlans.map((plan) => ({ name: plan.name, detail: `${plan.author} · ${new Date(plan.updatedAtMs).toLocaleString()} · ${plan.chars.toLocaleString('en')} characters` }))}
        empty="No chaos plan in the session."
        testId={id('session-chaos-plan')}
        commands={commands}
        form={commands !== undefined ? <SharePlanForm commands={commands} /> : null}
      />
      <section className="panel" aria-label="drill notes">
        <h3>Drill notes</h3>
        {view.drillNotes.length === 0 ? <p className="muted small">No drill note in the session.</p> : null}
        <ul className="annotation-list" data-testid={id('session-drill-notes')}>
          {view.drillNotes.map((note) => (
            <li key={note.id} className="annotation" data-testid={id('session-drill-note')} data-drill={note.drillId}>
              <div className="annotation-meta small">
                <strong>{note.author}</strong> <span className="muted">on drill {note.drillId} · {new Date(note.createdAtMs).toLocaleString()}</span>
              </div>
              <div className="annotation-text">{note.text}</div>
            </li>
          ))}
        </ul>
        {commands !== undefined ? <DrillNoteForm commands={commands} /> : null}
      </section>
      <section className="panel" aria-label="runs">
        <h3>Runs</h3>
        {view.runs.length === 0 ? <p className="muted small">No run in the session.</p> : null}
        <ul className="annotation-list session-runs" data-testid={id('session-runs')}>
          {view.runs.map((run) => (
            <li key={run.runId} className="annotation session-run" data-testid={id('session-run')} data-run={run.runId} data-local={String(run.local)} data-head-hash={run.headHash} data-events={run.headPosition}>
              <div className="session-run-main">
                <div>
                  <strong>{run.scenarioName}</strong> <span className="muted small">seed {run.seed} · {run.headPosition.toLocaleString('en')} events · head </span>
                  <code title={run.headHash}>{shortHash(run.headHash)}</code>
                  <div className="session-run-id muted small">{run.runId}</div>
                </div>
                {commands !== undefined ? <RunHere run={run} commands={commands} /> : null}
              </div>
              <div className="small">
                {run.status}
                {run.verdict !== undefined ? ` · ${run.verdict}` : ''}
                {run.summary !== undefined && run.summary !== '' ? <span className="muted"> · {run.summary}</span> : null}
              </div>
            </li>
          ))}
        </ul>
        {commands !== undefined ? <AddRunForm commands={commands} view={view} /> : null}
      </section>
    </div>
  );
}

/** Named texts of the session (scenarios, chaos plans); the current session opens, uses and removes them, and shares more (`form`). */
function TextEntries({ title, section, entries, empty, testId, commands, form }: { title: string; section: 'scenarios' | 'chaosPlans'; entries: readonly { name: string; detail?: string }[]; empty: string; testId: string; commands: SessionCommands | undefined; form: ReactNode }) {
  return (
    <section className="panel" aria-label={title}>
      <h3>{title}</h3>
      {entries.length === 0 ? <p className="muted small">{empty}</p> : null}
      <ul className="session-entries" data-testid={`${testId}s`}>
        {entries.map((entry) => (
          <li key={entry.name} className="session-entry" data-testid={testId} data-name={entry.name}>
            <span className="session-entry-name">{entry.name}</span>
            {entry.detail !== undefined ? <span className="muted small">{entry.detail}</span> : null}
            {commands !== undefined ? (
              <button type="button" className="small-button" onClick={() => void commands.openText(section, entry.name)} data-testid={`${testId}-open`}>
                Open
              </button>
            ) : null}
            {commands !== undefined ? <EntryButtons section={section} name={entry.name} testId={testId} commands={commands} /> : null}
          </li>
        ))}
      </ul>
      {commands !== undefined ? <OpenedText section={section} /> : null}
      {form}
    </section>
  );
}

/** Local, or a Fetch button with the fetch's progress and outcome. */
function RunHere({ run, commands }: { run: SessionRun; commands: SessionCommands }) {
  const fetch: RunFetch | undefined = useSession((state) => state.fetches[run.runId]);
  const busy = fetch !== undefined && fetch.stage !== 'done' && fetch.stage !== 'failed';
  return (
    <div className="run-here">
      {run.local && fetch?.stage !== 'done' ? <span className="muted small">local</span> : null}
      {!run.local && fetch?.stage !== 'done' ? (
        <button type="button" className="small-button" disabled={busy} onClick={() => void commands.fetchRun(run.runId)} data-testid="session-run-fetch">
          {busy ? 'Fetching…' : fetch?.stage === 'failed' ? 'Fetch again' : 'Fetch'}
        </button>
      ) : null}
      {fetch !== undefined ? (
        <div className={`small ${fetch.stage === 'failed' ? 'error' : fetch.stage === 'done' ? 'badge-ok' : 'muted'}`} data-testid="session-run-fetch-state" data-stage={fetch.stage} data-code={fetch.code ?? ''} data-events={fetch.result?.events ?? ''} data-head-hash={fetch.result?.headHash ?? ''}>
          {fetchLabel(fetch)}
        </div>
      ) : null}
    </div>
  );
}

function AddRunForm({ commands, view }: { commands: SessionCommands; view: SessionView }) {
  const history = useEventLog((state) => state.history);
  const addRunId = useSession((state) => state.addRunId);
  const adding = useSession((state) => state.addingRun);
  const error = useSession((state) => state.addRunError);
  const inSession = new Set(view.runs.map((run) => run.runId));
  const candidates = history.filter((run) => !run.live && !inSession.has(run.runId));
  return (
    <SubmitForm className="add-run-form" label="Add to session" busyLabel="Adding…" busy={adding} disabled={addRunId === ''} error={error} onSubmit={() => void commands.addRun()} testId="session-add-run">
      <label className="filter-field">
        Put a finished run of this lab in the session (peers can then fetch it)
        <select value={addRunId} onChange={(event) => sessionActions.setAddRunId(event.target.value)} data-testid="session-add-run-select">
          <option value="">{candidates.length === 0 ? 'no local run to add' : 'choose a run…'}</option>
          {candidates.map((run) => (
            <option key={run.runId} value={run.runId}>
              {run.scenario} · seed {run.seed} · {run.events.toLocaleString('en')} events · {run.runId}
            </option>
          ))}
        </select>
      </label>
    </SubmitForm>
  );
}

function OpenedText({ section }: { section: 'scenarios' | 'chaosPlans' }) {
  const opened = useSession((state) => state.opened);
  if (opened?.section !== section) return null;
  return (
    <div className="session-text" data-testid="session-text" data-section={section} data-name={opened.name}>
      <div className="session-text-header small">
        <strong>{opened.name}</strong>
        <button type="button" className="small-button" onClick={() => sessionActions.closeText()}>
          Close
        </button>
      </div>
      {opened.error !== undefined ? <p className="error">{opened.error}</p> : opened.text === undefined ? <p className="muted small">Loading…</p> : <pre>{opened.text}</pre>}
    </div>
  );
}
