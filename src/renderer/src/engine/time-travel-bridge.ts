/**
 * The Time travel tab's requests: the shown run's timeline and telemetry (asked again about once
 * a second while the run is live and the tab is on screen), the projection state at the seek
 * position (one request in flight, the latest position wins), forks and comparisons.
 */
import { ApiRequestError, type ApiClient } from '../../../shared/client.ts';
import { eventLogActions, eventLogStore } from '../state/event-log-store.ts';
import { labActions, labStore } from '../state/lab-store.ts';
import { seekProjection, timeTravelActions, timeTravelStore } from '../state/time-travel-store.ts';
import { nextTelemetrySecond, parseJsonOrText, parseSpeed } from '../features/time-travel/time-travel-math.ts';
import { describeError } from './describe-error.ts';
import { startingSummary } from './starting-summary.ts';
import type { EventLogCommands } from './event-log-bridge.ts';

export interface TimeTravelCommands {
  /** Shows the tab, on the current run (or the newest) if none is shown. */
  show(): Promise<void>;
  openRun(runId: string): Promise<void>;
  /** Asks again for the shown run's timeline and telemetry. */
  refresh(): Promise<void>;
  /** Moves the cursor to `position` and asks for the projection's state there. */
  seek(position: number): void;
  /** Forks the shown run at the seek position with the form's change, and shows the fork. */
  fork(): Promise<void>;
  compare(): Promise<void>;
}

/** Buckets of the scrubber's timeline. */
export const timelineBuckets = 120;
/** A live run's timeline and telemetry are asked again this often while the tab is on screen. */
const liveRefreshMs = 1_000;

export function bindTimeTravel(client: ApiClient, eventLog: EventLogCommands): TimeTravelCommands {
  let refreshing: { runId: string; done: Promise<void> } | undefined;
  let liveTimer: ReturnType<typeof setInterval> | undefined;
  let seekInFlight = false;
  let seekWanted: { runId: string; position: number } | undefined;

  const loadTimeline = async (runId: string): Promise<void> => {
    try {
      timeTravelActions.timelineLoaded(runId, await client.request('run.timeline', { runId, buckets: timelineBuckets }));
    } catch (error) {
      timeTravelActions.timelineFailed(runId, describeError(error));
    }
  };

  /** A live run's telemetry is asked from its first unsettled second; `full` asks it all (a finished run, once). */
  const loadTelemetry = async (runId: string, full: boolean): Promise<void> => {
    const held = timeTravelStore.getState().telemetry;
    const fromSecond = !full && held.state === 'loaded' ? nextTelemetrySecond(held.data.seconds) : 0;
    timeTravelActions.telemetryLoading(runId);
    try {
      timeTravelActions.telemetryLoaded(runId, await client.request('telemetry.get', { runId, fromSecond }), fromSecond);
    } catch (error) {
      // No telemetry: not recorded by this engine (yet), or a run from an older lab that kept none.
      const unavailable = error instanceof ApiRequestError && (error.code === 'unavailable' || error.code === 'not_found');
      timeTravelActions.telemetryFailed(runId, unavailable ? { state: 'unavailable', message: error.message } : { state: 'error', message: describeError(error) });
    }
  };

  /** Asks for the shown run's timeline and telemetry; a refresh of the same run already in flight is shared. */
  const refresh = (full = !shownRunIsLive()): Promise<void> => {
    const { runId } = timeTravelStore.getState();
    if (runId === undefined) return Promise.resolve();
    if (refreshing?.runId === runId) return refreshing.done;
    const done: Promise<void> = Promise.all([loadTimeline(runId), loadTelemetry(runId, full)])
      .then(() => undefined)
      .finally(() => {
        if (refreshing?.done === done) refreshing = undefined;
      });
    refreshing = { runId, done };
    return done;
  };

  /** True while the shown run is being written (by this engine). */
  const shownRunIsLive = (): boolean => {
    const { runId, timeline } = timeTravelStore.getState();
    if (runId === undefined) return false;
    const run = labStore.getState().runs[runId];
    if (run !== undefined) return run.status === 'running';
    return timeline?.live ?? false;
  };

  const tick = (): void => {
    if (eventLogStore.getState().view !== 'time-travel' || refreshing !== undefined || !shownRunIsLive()) return;
    void refresh(false);
  };

  const runSeeks = async (): Promise<void> => {
    seekInFlight = true;
    while (seekWanted !== undefined) {
      const { runId, position } = seekWanted;
      seekWanted = undefined;
      try {
        timeTravelActions.seekAnswered(runId, await client.request('run.stateAt', { runId, position, projection: seekProjection }));
      } catch (error) {
        timeTravelActions.seekFailed(runId, position, describeError(error));
      }
    }
    seekInFlight = false;
  };

  const commands: TimeTravelCommands = {
    async show() {
      eventLogActions.showView('time-travel');
      const candidate = timeTravelStore.getState().runId ?? labStore.getState().currentRunId;
      await eventLog.refreshHistory();
      const runId = candidate ?? eventLogStore.getState().history[0]?.runId;
      if (runId === undefined) return;
      if (runId === timeTravelStore.getState().runId) await refresh();
      else await commands.openRun(runId);
    },
    async openRun(runId) {
      timeTravelActions.openRun(runId);
      await refresh();
    },
    refresh,
    seek(position) {
      const { runId } = timeTravelStore.getState();
      if (runId === undefined) return;
      timeTravelActions.seekStarted(runId, position);
      seekWanted = { runId, position };
      if (!seekInFlight) void runSeeks();
    },
    async fork() {
      const { runId, seek, fork } = timeTravelStore.getState();
      if (runId === undefined || seek === undefined || fork.pending) return;
      const path = fork.path.trim();
      const speed = parseSpeed(fork.speed) ?? 'max';
      timeTravelActions.forkStarted();
      try {
        const started = await client.request('run.fork', { from: runId, at: seek.position, set: path === '' ? [] : [{ path, value: parseJsonOrText(fork.value) }], speed });
        timeTravelActions.forkDone();
        const initial = startingSummary(started, speed);
        // The fork is the run to watch now: the Run tab and this tab follow it.
        labActions.runStarted(labStore.getState().runs[started.runId] ?? initial);
        timeTravelActions.setCompareRun('a', started.forkOf.runId);
        timeTravelActions.setCompareRun('b', started.runId);
        await Promise.all([commands.openRun(started.runId), eventLog.refreshHistory()]);
      } catch (error) {
        timeTravelActions.forkFailed(describeError(error));
      }
    },
    async compare() {
      const { a, b } = timeTravelStore.getState().compare;
      if (a === undefined || b === undefined) return;
      timeTravelActions.compareStarted();
      try {
        timeTravelActions.compareAnswered(a, b, await client.request('runs.diff', { a, b }));
      } catch (error) {
        timeTravelActions.compareFailed(describeError(error));
      }
    },
  };

  client.on('run.finished', (summary) => {
    if (eventLogStore.getState().view !== 'time-travel') return;
    void eventLog.refreshHistory();
    if (summary.runId !== timeTravelStore.getState().runId) return;
    // The final timeline and telemetry of the shown run, all of it, after any refresh asked before the end.
    void (refreshing?.done ?? Promise.resolve()).then(() => refresh(true));
  });
  client.on('engine.status', (status) => {
    if (status.state === 'ready' && eventLogStore.getState().view === 'time-travel') void refresh();
  });
  // A run started in this session (or a fork) is the one to watch: the tab follows it.
  labStore.subscribe((state, previous) => {
    if (state.currentRunId !== undefined && state.currentRunId !== previous.currentRunId) void commands.openRun(state.currentRunId);
  });
  // The live refresh runs only while the tab is on screen.
  eventLogStore.subscribe((state, previous) => {
    if (state.view === previous.view) return;
    if (state.view === 'time-travel') liveTimer ??= setInterval(tick, liveRefreshMs);
    else if (liveTimer !== undefined) {
      clearInterval(liveTimer);
      liveTimer = undefined;
    }
  });
  return commands;
}
