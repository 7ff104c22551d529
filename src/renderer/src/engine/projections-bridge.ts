/**
 * The Projections tab's requests: the shown run's projections (listed once, then followed by
 * the engine's health pushes), parked events of expanded rows (asked again when their count
 * changes, at most every parkedRefreshMs), the rebuild / compare / resume actions, and the jump
 * from a parked event to the event log.
 */
import { isFiltered, noFilter, eventLogActions, eventLogStore } from '../state/event-log-store.ts';
import { labStore } from '../state/lab-store.ts';
import { projectionsActions, projectionsStore, runKey, type ProjectionAction } from '../state/projections-store.ts';
import { ApiRequestError, type ApiClient } from '../../../shared/client.ts';
import { describeError } from './describe-error.ts';
import type { EventLogCommands } from './event-log-bridge.ts';

export interface ProjectionsCommands {
  /** Shows the tab, on the current run (or the newest) if none is shown. */
  show(): Promise<void>;
  openRun(runId: string): Promise<void>;
  act(name: string, action: ProjectionAction): Promise<void>;
  toggleParked(name: string): Promise<void>;
  /** Opens the event log of the shown run at `position`. */
  openEvent(position: number): Promise<void>;
}

/** An expanded row's parked list is asked again at most this often while its count grows. */
const parkedRefreshMs = 2_000;

const methodOf = { rebuild: 'projections.rebuild', compare: 'projections.compare', resume: 'projections.resume' } as const;

export function bindProjections(client: ApiClient, eventLog: EventLogCommands): ProjectionsCommands {
  const parkedInFlight = new Set<string>();
  const parkedAskedAt = new Map<string, number>();
  const askAgain = new Set<string>();

  const list = async (runId: string): Promise<void> => {
    try {
      const result = await client.request('projections.list', { runId });
      const head = Math.max(0, ...result.projections.map((projection) => projection.checkpoint + projection.lagEvents));
      projectionsActions.listed(runId, result.projections, result.live, head);
    } catch (error) {
      const notHere = error instanceof ApiRequestError && error.code === 'not_found';
      projectionsActions.listFailed(
        runId,
        notHere ? `${describeError(error)}. Projection health is kept by the engine that ran the run; a run from an earlier session shows its events in the Event log only.` : describeError(error),
      );
    }
  };

  const loadParked = async (runId: string, name: string): Promise<void> => {
    const key = runKey(runId, name);
    if (parkedInFlight.has(key)) {
      // The answer on its way may be out of date (the run finished meanwhile): ask once more after it.
      askAgain.add(key);
      return;
    }
    parkedInFlight.add(key);
    parkedAskedAt.set(key, performance.now());
    if (projectionsStore.getState().parked[key] === undefined) projectionsActions.parkedUpdated(runId, name, { state: 'loading' });
    try {
      const { events } = await client.request('projections.parked', { runId, name });
      projectionsActions.parkedUpdated(runId, name, { state: 'loaded', events, count: events.length });
    } catch (error) {
      const finished = error instanceof ApiRequestError && error.code === 'conflict';
      projectionsActions.parkedUpdated(runId, name, finished ? { state: 'unavailable', reason: error.message } : { state: 'error', message: describeError(error) });
    } finally {
      parkedInFlight.delete(key);
    }
    if (askAgain.delete(key)) await loadParked(runId, name);
  };

  /** Expanded rows whose parked count moved since their list was asked for: ask again. */
  const refreshExpanded = (runId: string, force: boolean): void => {
    const state = projectionsStore.getState();
    if (state.runId !== runId) return;
    for (const name of Object.keys(state.expanded)) {
      const key = runKey(runId, name);
      const shown = state.parked[key];
      const count = state.runs[runId]?.projections.find((projection) => projection.name === name)?.parked;
      const stale = shown?.state === 'loaded' && count !== undefined && count !== shown.count;
      const due = performance.now() - (parkedAskedAt.get(key) ?? Number.NEGATIVE_INFINITY) >= parkedRefreshMs;
      if (force || (stale && due)) void loadParked(runId, name);
    }
  };

  const commands: ProjectionsCommands = {
    async show() {
      eventLogActions.showView('projections');
      const candidate = projectionsStore.getState().runId ?? labStore.getState().currentRunId ?? eventLogStore.getState().history[0]?.runId;
      await eventLog.refreshHistory();
      const runId = candidate ?? eventLogStore.getState().history[0]?.runId;
      if (runId !== undefined) await commands.openRun(runId);
    },
    async openRun(runId) {
      projectionsActions.openRun(runId);
      await list(runId);
    },
    async act(name, action) {
      const { runId } = projectionsStore.getState();
      if (runId === undefined) return;
      projectionsActions.actionStarted(runId, name, action);
      try {
        await client.request(methodOf[action], { runId, name });
        projectionsActions.actionEnded(runId, name, undefined);
      } catch (error) {
        projectionsActions.actionEnded(runId, name, describeError(error));
      }
    },
    async toggleParked(name) {
      const { runId, expanded } = projectionsStore.getState();
      if (runId === undefined) return;
      projectionsActions.toggleExpanded(name);
      if (!expanded[name]) await loadParked(runId, name);
    },
    async openEvent(position) {
      const { runId } = projectionsStore.getState();
      if (runId === undefined) return;
      await eventLog.openRun(runId);
      // A filter left on the log could hide the event: show every event.
      if (isFiltered(eventLogStore.getState().filter)) await eventLog.setFilter(noFilter);
      await eventLog.jumpToPosition(position);
    },
  };

  client.on('projections.health', (health) => {
    projectionsActions.healthPushed(health, performance.now());
    refreshExpanded(health.runId, false);
  });
  client.on('run.finished', (summary) => {
    projectionsActions.runFinished(summary.runId);
    if (eventLogStore.getState().view === 'projections') void eventLog.refreshHistory();
    if (projectionsStore.getState().runId !== summary.runId) return;
    void list(summary.runId);
    refreshExpanded(summary.runId, true);
  });
  client.on('engine.status', (status) => {
    if (status.state === 'restarting' || status.state === 'stopped') projectionsActions.engineRestarted();
    const { runId } = projectionsStore.getState();
    if (status.state === 'ready' && runId !== undefined) void list(runId);
  });
  // A run started in this session is the one to watch: the tab follows it.
  labStore.subscribe((state, previous) => {
    if (state.currentRunId !== undefined && state.currentRunId !== previous.currentRunId) void commands.openRun(state.currentRunId);
  });
  return commands;
}
