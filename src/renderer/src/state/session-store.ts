/**
 * The shared session as this page knows it: the session's content (session.get), its sync status
 * (session.status, and every session.changed push), peers' cursors (session.presence pushes), this
 * user's name, the Session tab's forms (annotation, invites, join, adding a run), the session's
 * history with the past point selected in it (session.history, session.viewAt), the text of a
 * scenario or chaos plan opened, and runs being fetched from the joined host.
 *
 * The engine never sends the session's document id or any token here, except an invite this page
 * asked for; invites live only in this store (never in storage).
 */
import { createStore } from 'zustand/vanilla';
import type { ChaosPlanFile, PresenceEntry, ResultOf, SessionChange, SessionFetchedRun, SessionStatus, SessionView } from '../../../shared/api.ts';

export type InviteKind = 'read-write' | 'read-only';

export interface AnnotationForm {
  runId: string;
  position: string;
  text: string;
}

/** A run being fetched from the joined host, or the outcome of the last fetch. */
export interface RunFetch {
  stage: 'starting' | 'download' | 'verify' | 'done' | 'failed';
  done: number;
  total: number;
  result?: SessionFetchedRun;
  error?: string;
  /** The typed error's code (not_found, conflict, damaged, ...). */
  code?: string;
}

export interface SessionHistory {
  /** Newest first. */
  changes: SessionChange[];
  total: number;
  loading: boolean;
  error: string | undefined;
}

/** A point of the history being looked at: the session then, and what differs now. */
export interface PastView {
  change: SessionChange;
  loading: boolean;
  result: ResultOf<'session.viewAt'> | undefined;
  error: string | undefined;
}

export interface OpenedText {
  section: 'scenarios' | 'chaosPlans';
  name: string;
  text: string | undefined;
  error: string | undefined;
}

/** The forms that put this lab's files and notes in the session. */
export type LibraryFormName = 'scenario' | 'plan' | 'note';

export interface LibraryForms {
  /** A file of scenarios.list, and the name to give it in the session ('' : the file's base name). */
  scenarioFile: string;
  scenarioName: string;
  /** A file of chaos.plans. */
  planFile: string;
  drillId: string;
  noteText: string;
  busy: LibraryFormName | undefined;
  errors: Partial<Record<LibraryFormName, string>>;
}

/** What became of Use or Remove on a session scenario or chaos plan (by `section/name`). */
export interface EntryAction {
  busy: boolean;
  error?: string;
  /** Use: where the scenario was saved, relative to the scenarios directory. */
  savedFile?: string;
}

export interface SessionState {
  /** The Session tab is on screen (over the other tabs' view). */
  shown: boolean;
  view: SessionView | undefined;
  viewError: string | undefined;
  status: SessionStatus | undefined;
  /** Why the last status request failed. */
  statusError: string | undefined;
  /** Peers' cursors as the engine last pushed them. */
  peers: PresenceEntry[];
  /** This user's name, shown to peers. */
  name: string;
  form: AnnotationForm;
  annotating: boolean;
  annotateError: string | undefined;
  invites: { kind: InviteKind; invite: string }[];
  inviteError: string | undefined;
  joinText: string;
  joining: boolean;
  joinError: string | undefined;
  joinedTitle: string | undefined;
  history: SessionHistory;
  past: PastView | undefined;
  opened: OpenedText | undefined;
  fetches: Record<string, RunFetch>;
  addRunId: string;
  addingRun: boolean;
  addRunError: string | undefined;
  library: LibraryForms;
  /** This lab's chaos experiment files (chaos.plans), to share. */
  localPlans: ChaosPlanFile[];
  /** The drill catalogue's drills (drills.list), for notes. */
  drills: string[];
  entryActions: Record<string, EntryAction>;
}

const nameKey = 'aura-lab.session.name';

function initialName(): string {
  try {
    const stored = globalThis.localStorage?.getItem(nameKey);
    if (stored !== null && stored !== undefined && stored.trim() !== '') return stored;
  } catch {
    // Storage can be off; a generated name does.
  }
  return `guest-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
}

export const initialSessionState: SessionState = {
  shown: false,
  view: undefined,
  viewError: undefined,
  status: undefined,
  statusError: undefined,
  peers: [],
  name: 'guest',
  form: { runId: '', position: '', text: '' },
  annotating: false,
  annotateError: undefined,
  invites: [],
  inviteError: undefined,
  joinText: '',
  joining: false,
  joinError: undefined,
  joinedTitle: undefined,
  history: { changes: [], total: 0, loading: false, error: undefined },
  past: undefined,
  opened: undefined,
  fetches: {},
  addRunId: '',
  addingRun: false,
  addRunError: undefined,
  library: { scenarioFile: '', scenarioName: '', planFile: '', drillId: '', noteText: '', busy: undefined, errors: {} },
  localPlans: [],
  drills: [],
  entryActions: {},
};

/** The key of a session scenario or chaos plan in `entryActions`. */
export function entryKey(section: OpenedText['section'], name: string): string {
  return `${section}/${name}`;
}

/** The key of a change (its heads) in lists. */
export function changeKey(change: SessionChange): string {
  return change.heads.join(',');
}

export const sessionStore = createStore<SessionState>(() => ({ ...initialSessionState, name: initialName() }));

export const sessionActions = {
  show(): void {
    sessionStore.setState({ shown: true });
  },
  hide(): void {
    sessionStore.setState({ shown: false });
  },
  viewLoaded(view: SessionView): void {
    sessionStore.setState({ view, viewError: undefined });
  },
  viewFailed(message: string): void {
    sessionStore.setState({ viewError: message });
  },
  statusLoaded(status: SessionStatus): void {
    sessionStore.setState({ status, statusError: undefined });
  },
  statusFailed(message: string): void {
    sessionStore.setState({ statusError: message });
  },
  presence(peers: PresenceEntry[]): void {
    sessionStore.setState({ peers });
  },
  setName(name: string): void {
    sessionStore.setState({ name });
    try {
      globalThis.localStorage?.setItem(nameKey, name);
    } catch {
      // Not kept: fine.
    }
  },
  setForm(patch: Partial<AnnotationForm>): void {
    sessionStore.setState((state) => ({ form: { ...state.form, ...patch } }));
  },
  annotateStarted(): void {
    sessionStore.setState({ annotating: true, annotateError: undefined });
  },
  annotateEnded(error: string | undefined): void {
    sessionStore.setState((state) => ({ annotating: false, annotateError: error, form: error === undefined ? { ...state.form, text: '' } : state.form }));
  },
  inviteMade(kind: InviteKind, invite: string): void {
    sessionStore.setState((state) => ({ invites: [{ kind, invite }, ...state.invites].slice(0, 5), inviteError: undefined }));
  },
  inviteFailed(message: string): void {
    sessionStore.setState({ inviteError: message });
  },
  setJoinText(joinText: string): void {
    sessionStore.setState({ joinText });
  },
  joinStarted(): void {
    sessionStore.setState({ joining: true, joinError: undefined });
  },
  joinEnded(result: { title: string } | { error: string }): void {
    sessionStore.setState('title' in result ? { joining: false, joinError: undefined, joinedTitle: result.title, joinText: '', invites: [] } : { joining: false, joinError: result.error });
  },
  historyLoading(): void {
    sessionStore.setState((state) => ({ history: { ...state.history, loading: true } }));
  },
  /** A page of changes: the newest ones (`append` false) or the next older ones. */
  historyLoaded(page: ResultOf<'session.history'>, append: boolean): void {
    sessionStore.setState((state) => ({ history: { changes: append ? [...state.history.changes, ...page.changes] : page.changes, total: page.total, loading: false, error: undefined } }));
  },
  historyFailed(message: string): void {
    sessionStore.setState((state) => ({ history: { ...state.history, loading: false, error: message } }));
  },
  pastRequested(change: SessionChange): void {
    sessionStore.setState({ past: { change, loading: true, result: undefined, error: undefined } });
  },
  pastLoaded(change: SessionChange, result: ResultOf<'session.viewAt'> | { error: string }): void {
    sessionStore.setState((state) => {
      // A newer selection wins over an older answer.
      if (state.past === undefined || changeKey(state.past.change) !== changeKey(change)) return {};
      return { past: 'error' in result ? { change, loading: false, result: undefined, error: result.error } : { change, loading: false, result, error: undefined } };
    });
  },
  closePast(): void {
    sessionStore.setState({ past: undefined });
  },
  textRequested(section: OpenedText['section'], name: string): void {
    sessionStore.setState({ opened: { section, name, text: undefined, error: undefined } });
  },
  textLoaded(section: OpenedText['section'], name: string, result: { text: string } | { error: string }): void {
    sessionStore.setState((state) => {
      if (state.opened?.section !== section || state.opened.name !== name) return {};
      return { opened: { section, name, text: 'text' in result ? result.text : undefined, error: 'error' in result ? result.error : undefined } };
    });
  },
  closeText(): void {
    sessionStore.setState({ opened: undefined });
  },
  fetchStarted(runId: string): void {
    sessionStore.setState((state) => ({ fetches: { ...state.fetches, [runId]: { stage: 'starting', done: 0, total: 0 } } }));
  },
  fetchUpdated(runId: string, patch: Partial<RunFetch>): void {
    sessionStore.setState((state) => ({ fetches: { ...state.fetches, [runId]: { ...(state.fetches[runId] ?? { stage: 'starting', done: 0, total: 0 }), ...patch } } }));
  },
  setAddRunId(addRunId: string): void {
    sessionStore.setState({ addRunId });
  },
  addRunStarted(): void {
    sessionStore.setState({ addingRun: true, addRunError: undefined });
  },
  addRunEnded(error: string | undefined): void {
    sessionStore.setState((state) => ({ addingRun: false, addRunError: error, addRunId: error === undefined ? '' : state.addRunId }));
  },
  setLibrary(patch: Partial<Omit<LibraryForms, 'busy' | 'errors'>>): void {
    sessionStore.setState((state) => ({ library: { ...state.library, ...patch } }));
  },
  libraryStarted(form: LibraryFormName): void {
    sessionStore.setState((state) => ({ library: { ...state.library, busy: form, errors: { ...state.library.errors, [form]: undefined } } }));
  },
  /** A form's request ended; on success the name or the note typed is cleared (the choices stay). */
  libraryEnded(form: LibraryFormName, error: string | undefined): void {
    sessionStore.setState((state) => {
      const cleared = error !== undefined ? {} : form === 'note' ? { noteText: '' } : form === 'scenario' ? { scenarioName: '' } : {};
      return { library: { ...state.library, ...cleared, busy: undefined, errors: { ...state.library.errors, [form]: error } } };
    });
  },
  localListsLoaded(lists: { localPlans?: ChaosPlanFile[]; drills?: string[] }): void {
    sessionStore.setState((state) => ({
      ...lists,
      library: {
        ...state.library,
        // The first loadable choice, until the user picks one.
        planFile: state.library.planFile !== '' ? state.library.planFile : (lists.localPlans?.find((plan) => plan.error === undefined)?.file ?? ''),
        drillId: state.library.drillId !== '' ? state.library.drillId : (lists.drills?.[0] ?? ''),
      },
    }));
  },
  entryAction(key: string, action: EntryAction): void {
    sessionStore.setState((state) => ({ entryActions: { ...state.entryActions, [key]: action } }));
  },
};
