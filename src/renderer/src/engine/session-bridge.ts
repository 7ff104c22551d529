/**
 * The shared session's requests and pushes: the session's content (asked for again on every
 * session.changed push, one request at a time), its sync status (in each push, and polled every
 * 1.5 s since peers come and go without a change), peers' cursors, annotations, invites, joining,
 * and this user's presence: sent when they seek in Time travel (read from the time-travel store's
 * cursor, never written), when their name changes, and every 3 s so that peers keep them listed.
 * While the Session tab is shown, the history's newest changes are asked for again with the
 * content. Fetching a peer's run follows its session.fetchProgress pushes; once it is kept, the
 * run browser's list of local runs is refreshed.
 */
import type { SessionChange } from '../../../shared/api.ts';
import { ApiRequestError, type ApiClient } from '../../../shared/client.ts';
import { labStore } from '../state/lab-store.ts';
import { entryKey, sessionActions, sessionStore, type InviteKind, type LibraryFormName, type OpenedText } from '../state/session-store.ts';
import { timeTravelStore } from '../state/time-travel-store.ts';
import { describeError } from './describe-error.ts';
import type { EventLogCommands } from './event-log-bridge.ts';

export interface SessionCommands {
  /** Shows the Session tab and refreshes it. */
  show(): Promise<void>;
  refresh(): Promise<void>;
  /** Adds the annotation the form names. */
  annotate(): Promise<void>;
  /** expiresInMs: the invite admits no new peer after that long; undefined: never expires. */
  createInvite(kind: InviteKind, expiresInMs?: number): Promise<void>;
  /** Joins the session of the invite pasted in the join field. */
  join(): Promise<void>;
  setName(name: string): void;
  /** Loads the next older page of the history. */
  moreHistory(): Promise<void>;
  /** Shows the session as it was right after this change, and what differs now. */
  selectChange(change: SessionChange): Promise<void>;
  openText(section: OpenedText['section'], name: string): Promise<void>;
  /** Puts the run named in the add-run field in the session. */
  addRun(): Promise<void>;
  /** Fetches a run from the host this lab joined, verified, as a local run. */
  fetchRun(runId: string): Promise<void>;
  /** Puts the local scenario file the share form names in the session. */
  shareScenario(): Promise<void>;
  /** Puts the local chaos experiment file the share form names in the session. */
  sharePlan(): Promise<void>;
  /** Adds the drill note the form holds. */
  addDrillNote(): Promise<void>;
  /** Takes a scenario or chaos plan out of the session. */
  removeEntry(section: OpenedText['section'], name: string): Promise<void>;
  /** Saves a session scenario under the local scenarios directory (then the run tab lists it). */
  useScenario(name: string): Promise<void>;
}

const statusPollMs = 1_500;
const presenceEveryMs = 3_000;
const historyPageSize = 100;
/** A fetch reports progress as it goes; a very large run can take minutes. */
const fetchTimeoutMs = 30 * 60_000;

/** Where this user is: the Time travel tab's run and seek position. */
function cursor(): { runId?: string; position?: number } {
  const { runId, seek } = timeTravelStore.getState();
  return { ...(runId === undefined ? {} : { runId }), ...(runId === undefined || seek === undefined ? {} : { position: seek.position }) };
}

/** `refreshScenarios`: asks the engine for the scenario list again (the run tab's). */
export function bindSession(client: ApiClient, eventLog: EventLogCommands, refreshScenarios: () => Promise<void>): SessionCommands {
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
        if (sessionStore.getState().shown) await loadHistory(false);
      } while (again);
    } finally {
      loading = false;
    }
  };

  /** The newest changes (as many as the list holds, up to 500), or the next older page. */
  const loadHistory = async (append: boolean): Promise<void> => {
    const { changes } = sessionStore.getState().history;
    sessionActions.historyLoading();
    try {
      const page = append ? await client.request('session.history', { offset: changes.length, limit: historyPageSize }) : await client.request('session.history', { offset: 0, limit: Math.min(500, Math.max(historyPageSize, changes.length)) });
      sessionActions.historyLoaded(page, append);
    } catch (error) {
      sessionActions.historyFailed(describeError(error));
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

  /** One of the library forms' requests: busy while it runs, its error shown inline, the session asked for again once it is in. */
  const submitLibrary = async (form: LibraryFormName, request: () => Promise<unknown>): Promise<void> => {
    sessionActions.libraryStarted(form);
    try {
      await request();
      sessionActions.libraryEnded(form, undefined);
      void refresh();
    } catch (error) {
      sessionActions.libraryEnded(form, describeError(error));
    }
  };

  /** This lab's chaos experiment files and drills, for the share and note forms. */
  const loadLocalLists = async (): Promise<void> => {
    await Promise.all([
      client.request('chaos.plans', {}).then(({ plans }) => sessionActions.localListsLoaded({ localPlans: plans }), (error: unknown) => sessionActions.libraryEnded('plan', describeError(error))),
      client.request('drills.list', {}).then(({ drills }) => sessionActions.localListsLoaded({ drills: drills.map((drill) => drill.drill) }), (error: unknown) => sessionActions.libraryEnded('note', describeError(error))),
    ]);
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
  client.on('session.fetchProgress', ({ runId, stage, done, total }) => {
    const current = sessionStore.getState().fetches[runId];
    if (current !== undefined && current.stage !== 'done' && current.stage !== 'failed') sessionActions.fetchUpdated(runId, { stage, done, total });
  });
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
      // The local runs, for the run to add to the session.
      await Promise.all([refresh(), pollStatus(), eventLog.refreshHistory(), loadLocalLists()]);
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
    async createInvite(kind, expiresInMs) {
      try {
        const { invite } = await client.request('session.invite', expiresInMs === undefined ? { kind } : { kind, expiresInMs });
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
    moreHistory: () => loadHistory(true),
    async selectChange(change) {
      sessionActions.pastRequested(change);
      try {
        sessionActions.pastLoaded(change, await client.request('session.viewAt', { heads: change.heads }));
      } catch (error) {
        sessionActions.pastLoaded(change, { error: describeError(error) });
      }
    },
    async openText(section, name) {
      sessionActions.textRequested(section, name);
      try {
        sessionActions.textLoaded(section, name, await client.request('session.text', { section, name }));
      } catch (error) {
        sessionActions.textLoaded(section, name, { error: describeError(error) });
      }
    },
    async addRun() {
      const runId = sessionStore.getState().addRunId.trim();
      if (runId === '') return;
      sessionActions.addRunStarted();
      try {
        await client.request('session.addRun', { runId });
        sessionActions.addRunEnded(undefined);
        void refresh();
      } catch (error) {
        sessionActions.addRunEnded(describeError(error));
      }
    },
    shareScenario() {
      const { scenarioFile, scenarioName } = sessionStore.getState().library;
      const name = scenarioName.trim();
      return submitLibrary('scenario', () => client.request('session.putScenario', { scenario: scenarioFile, ...(name === '' ? {} : { name }) }));
    },
    sharePlan() {
      const { library, name } = sessionStore.getState();
      return submitLibrary('plan', () => client.request('session.putChaosPlan', { file: library.planFile, ...(name.trim() === '' ? {} : { author: name.trim() }) }));
    },
    addDrillNote() {
      const { library, name } = sessionStore.getState();
      return submitLibrary('note', () => client.request('session.addDrillNote', { drillId: library.drillId, text: library.noteText, ...(name.trim() === '' ? {} : { author: name.trim() }) }));
    },
    async removeEntry(section, name) {
      const key = entryKey(section, name);
      sessionActions.entryAction(key, { busy: true });
      try {
        await client.request(section === 'scenarios' ? 'session.removeScenario' : 'session.removeChaosPlan', { name });
        sessionActions.entryAction(key, { busy: false });
        const { opened } = sessionStore.getState();
        if (opened?.section === section && opened.name === name) sessionActions.closeText();
        void refresh();
      } catch (error) {
        sessionActions.entryAction(key, { busy: false, error: describeError(error) });
      }
    },
    async useScenario(name) {
      const key = entryKey('scenarios', name);
      sessionActions.entryAction(key, { busy: true });
      try {
        const { file } = await client.request('session.saveScenario', { name });
        sessionActions.entryAction(key, { busy: false, savedFile: file });
        await refreshScenarios();
      } catch (error) {
        sessionActions.entryAction(key, { busy: false, error: describeError(error) });
      }
    },
    async fetchRun(runId) {
      const current = sessionStore.getState().fetches[runId];
      if (current !== undefined && current.stage !== 'done' && current.stage !== 'failed') return;
      sessionActions.fetchStarted(runId);
      try {
        const result = await client.request('session.fetchRun', { runId }, fetchTimeoutMs);
        sessionActions.fetchUpdated(runId, { stage: 'done', result });
        await Promise.all([refresh(), eventLog.refreshHistory()]);
      } catch (error) {
        sessionActions.fetchUpdated(runId, { stage: 'failed', error: describeError(error), ...(error instanceof ApiRequestError ? { code: error.code } : {}) });
      }
    },
  };
}
