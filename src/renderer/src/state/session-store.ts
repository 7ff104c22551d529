/**
 * The shared session as this page knows it: the session's content (session.get), its sync status
 * (session.status, and every session.changed push), peers' cursors (session.presence pushes), this
 * user's name, and the Session tab's forms (annotation, invites, join).
 *
 * The engine never sends the session's document id or any token here, except an invite this page
 * asked for; invites live only in this store (never in storage).
 */
import { createStore } from 'zustand/vanilla';
import type { PresenceEntry, SessionStatus, SessionView } from '../../../shared/api.ts';

export type InviteKind = 'read-write' | 'read-only';

export interface AnnotationForm {
  runId: string;
  position: string;
  text: string;
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
};

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
};
