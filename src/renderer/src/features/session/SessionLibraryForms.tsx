/**
 * What this lab puts in the session from its own files: a scenario of the scenarios directory
 * (the run tab's list), a chaos experiment file (chaos.plans), a note on a drill of the catalogue;
 * and, beside each session scenario or chaos plan, Use (save a session scenario locally, so that
 * the run tab lists it) and Remove. The engine validates everything; its errors show inline.
 */
import type { ReactNode } from 'react';
import type { SessionCommands } from '../../engine/session-bridge.ts';
import { entryKey, sessionActions, type LibraryFormName, type OpenedText } from '../../state/session-store.ts';
import { useLab } from '../../state/use-lab.ts';
import { useSession } from '../../state/use-session.ts';
import { SubmitForm } from './SubmitForm.tsx';

/** One share form: its fields, a submit button, and its error. */
function LibraryForm({ form, label, busyLabel, disabled, onSubmit, testId, children }: { form: LibraryFormName; label: string; busyLabel: string; disabled: boolean; onSubmit: () => void; testId: string; children: ReactNode }) {
  const busy = useSession((state) => state.library.busy === form);
  const error = useSession((state) => state.library.errors[form]);
  return (
    <SubmitForm className="add-run-form" label={label} busyLabel={busyLabel} busy={busy} disabled={disabled} error={error} onSubmit={onSubmit} testId={testId}>
      {children}
    </SubmitForm>
  );
}

export function ShareScenarioForm({ commands }: { commands: SessionCommands }) {
  const scenarios = useLab((state) => state.scenarios);
  const file = useSession((state) => state.library.scenarioFile);
  const name = useSession((state) => state.library.scenarioName);
  return (
    <LibraryForm form="scenario" label="Share" busyLabel="Sharing…" disabled={file === ''} onSubmit={() => void commands.shareScenario()} testId="session-share-scenario">
      <label className="filter-field">
        Share a scenario of this lab
        <select value={file} onChange={(event) => sessionActions.setLibrary({ scenarioFile: event.target.value })} data-testid="session-share-scenario-select">
          <option value="">{scenarios.length === 0 ? 'no local scenario' : 'choose a scenario…'}</option>
          {scenarios.map((scenario) => (
            <option key={scenario.file} value={scenario.file} disabled={scenario.error !== undefined}>
              {scenario.name} · {scenario.file}
              {scenario.error !== undefined ? ' (invalid)' : ''}
            </option>
          ))}
        </select>
      </label>
      <label className="filter-field">
        Name in the session
        <input value={name} onChange={(event) => sessionActions.setLibrary({ scenarioName: event.target.value })} placeholder="the file's name" data-testid="session-share-scenario-name" autoComplete="off" />
      </label>
    </LibraryForm>
  );
}

export function SharePlanForm({ commands }: { commands: SessionCommands }) {
  const plans = useSession((state) => state.localPlans);
  const file = useSession((state) => state.library.planFile);
  return (
    <LibraryForm form="plan" label="Share" busyLabel="Sharing…" disabled={file === ''} onSubmit={() => void commands.sharePlan()} testId="session-share-plan">
      <label className="filter-field">
        Share a chaos plan of this lab
        <select value={file} onChange={(event) => sessionActions.setLibrary({ planFile: event.target.value })} data-testid="session-share-plan-select">
          <option value="">{plans.length === 0 ? 'no chaos plan in scenarios/chaos' : 'choose a chaos plan…'}</option>
          {plans.map((plan) => (
            <option key={plan.file} value={plan.file} disabled={plan.error !== undefined} title={plan.error}>
              {plan.title} · {plan.file}
              {plan.error !== undefined ? ' (invalid)' : ''}
            </option>
          ))}
        </select>
      </label>
    </LibraryForm>
  );
}

export function DrillNoteForm({ commands }: { commands: SessionCommands }) {
  const drills = useSession((state) => state.drills);
  const drillId = useSession((state) => state.library.drillId);
  const text = useSession((state) => state.library.noteText);
  return (
    <LibraryForm form="note" label="Add note" busyLabel="Adding…" disabled={drillId === '' || text.trim() === ''} onSubmit={() => void commands.addDrillNote()} testId="session-note-add">
      <label className="filter-field">
        Drill
        <select value={drillId} onChange={(event) => sessionActions.setLibrary({ drillId: event.target.value })} data-testid="session-note-drill">
          {drills.length === 0 ? <option value="">no drill</option> : null}
          {drills.map((drill) => (
            <option key={drill} value={drill}>
              {drill}
            </option>
          ))}
        </select>
      </label>
      <label className="filter-field session-note-text">
        Note
        <textarea value={text} rows={2} onChange={(event) => sessionActions.setLibrary({ noteText: event.target.value })} data-testid="session-note-text" />
      </label>
    </LibraryForm>
  );
}

/** Use (scenarios) and Remove beside a session entry, with what became of them. */
export function EntryButtons({ section, name, testId, commands }: { section: OpenedText['section']; name: string; testId: string; commands: SessionCommands }) {
  const action = useSession((state) => state.entryActions[entryKey(section, name)]);
  const busy = action?.busy === true;
  return (
    <>
      {section === 'scenarios' ? (
        <button type="button" className="small-button" disabled={busy} onClick={() => void commands.useScenario(name)} title="Save it in this lab's scenarios (session/), to run it" data-testid={`${testId}-use`}>
          Use
        </button>
      ) : null}
      <button type="button" className="small-button" disabled={busy} onClick={() => void commands.removeEntry(section, name)} data-testid={`${testId}-remove`}>
        Remove
      </button>
      {action?.error !== undefined ? (
        <span className="error small" data-testid={`${testId}-error`}>
          {action.error}
        </span>
      ) : null}
      {action?.savedFile !== undefined ? (
        <span className="badge-ok small" data-testid={`${testId}-saved`} data-file={action.savedFile}>
          saved as {action.savedFile}: listed in the run tab
        </span>
      ) : null}
    </>
  );
}
