/**
 * The shared session's requests and pushes: the session's content (asked for again on every
 * session.changed push, one request at a time), its sync status (in each push, and polled every
 * 1.5 s since peers come and go without a change), peers' cursors, annotations, invites, joining,
 * and this user's presence: sent when they seek in Time travel (read from the time-travel store's
 * cursor, never written), when their name changes, and every 3 s so that peers keep them listed.
 */
import type { ApiClient } from '../../../shared/client.ts';
import { labStore } from '../state/lab-store.ts';
import { sessionActions, sessionStore, type InviteKind } from '../state/session-store.ts';
import { timeTravelStore } from '../state/time-travel-store.ts';
import { describeError } from './describe-error.ts';

export interface SessionCommands {
  /** Shows the Session tab and refreshes it. */
  show(): Promise<void>;
  refresh(): Promise<void>;
  /** Adds the annotation the form names. */
  annotate(): Promise<void>;
  createInvite(kind: InviteKind): Promise<void>;
  /** Joins the session of the invite pasted in the join field. */
  join(): Promise<void>;
  setName(name: string): void;
}

const statusPollMs = 1_500;
const presenceEveryMs = 3_000;

/** Where this user is: the Time travel tab's run and seek position. */
function cursor(): { runId?: string; position?: number } {
  const { runId, seek } = timeTravelStore.getState();
  return { ...(runId === undefined ? {} : { runId }), ...(runId === undefined || seek === undefined ? {} : { position: seek.position }) };
}

export function bindSession(client: ApiClient): SessionCommands {
  let loading = false;
  let nameTimer: ReturnType<typeof setTimeout> | undefined;
  let again = false;
  const ready = (): boolean => {
    const { link, engine } = labStore.getState();
    return link === 'open' && engine.state === 'ready';
  };

  const refresh = async (): Promise<void> => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      do {
        again = false;
        try {
          sessionActions.viewLoaded(await client.request('session.get', {}));
        } catch (error) {
          sessionActions.viewFailed(describeError(error));
        }
      } while (again);
    } finally {
      loading = false;
    }
  };

  const pollStatus = async (): Promise<void> => {
    if (!ready()) return;
    try {
      sessionActions.statusLoaded(await client.request('session.status', {}, 5_000));
    } catch (error) {
      sessionActions.statusFailed(describeError(error));
    }
  };

  const sendPresence = (): void => {
    if (!ready()) return;
    const name = sessionStore.getState().name.trim().slice(0, 64);
    if (name === '') return;
    client.request('session.presence', { name, ...cursor() }, 5_000).catch(() => undefined);
  };

  client.on('engine.status', (status) => {
    if (status.state !== 'ready') return;
    void refresh();
    void pollStatus();
    sendPresence();
  });
  client.on('session.changed', ({ status }) => {
    sessionActions.statusLoaded(status);
    void refresh();
  });
  client.on('session.presence', ({ peers }) => sessionActions.presence(peers));
  setInterval(() => void pollStatus(), statusPollMs);
  setInterval(sendPresence, presenceEveryMs);
  timeTravelStore.subscribe((state, previous) => {
    if (state.runId !== previous.runId || state.seek?.position !== previous.seek?.position) sendPresence();
  });

  return {
    async show() {
      sessionActions.show();
      const { form } = sessionStore.getState();
      // The form starts at where the user is in Time travel.
      if (form.runId === '' && form.position === '') {
        const at = cursor();
        if (at.runId !== undefined) sessionActions.setForm({ runId: at.runId, position: at.position === undefined ? '' : String(at.position) });
      }
      await Promise.all([refresh(), pollStatus()]);
    },
    refresh,
    async annotate() {
      const { form, name } = sessionStore.getState();
      const position = Number(form.position);
      if (form.position.trim() === '' || !Number.isFinite(position)) {
        sessionActions.annotateEnded('position: expected a whole number from 1');
        return;
      }
      sessionActions.annotateStarted();
      try {
        await client.request('session.annotate', { runId: form.runId.trim(), position, text: form.text, ...(name.trim() === '' ? {} : { author: name.trim() }) });
        sessionActions.annotateEnded(undefined);
        void refresh();
      } catch (error) {
        sessionActions.annotateEnded(describeError(error));
      }
    },
    async createInvite(kind) {
      try {
        const { invite } = await client.request('session.invite', { kind });
        sessionActions.inviteMade(kind, invite);
      } catch (error) {
        sessionActions.inviteFailed(describeError(error));
      }
    },
    async join() {
      const invite = sessionStore.getState().joinText.trim();
      if (invite === '') return;
      sessionActions.joinStarted();
      try {
        // Joining fetches the session from the other host: up to 15 s, plus the token check.
        sessionActions.joinEnded(await client.request('session.join', { invite }, 30_000));
        await Promise.all([refresh(), pollStatus()]);
        sendPresence();
      } catch (error) {
        sessionActions.joinEnded({ error: describeError(error) });
      }
    },
    setName(name) {
      sessionActions.setName(name);
      // Sent once typing pauses, not on every key.
      if (nameTimer !== undefined) clearTimeout(nameTimer);
      nameTimer = setTimeout(sendPresence, 400);
    },
  };
}
