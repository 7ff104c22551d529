/**
 * The Debates tab's requests: the shown run's debates (its DebateStarted and DebateDecided
 * events, asked again about once a second while the run is live and the tab is on screen), the
 * selected debate's events (its stream), and the sweeps with one sweep's results.
 */
import { eventPageMax, type BrowsedEvent, type EventFilter } from '../../../shared/api.ts';
import type { ApiClient } from '../../../shared/client.ts';
import { debatesActions, debatesStore } from '../state/debates-store.ts';
import { eventLogActions, eventLogStore } from '../state/event-log-store.ts';
import { labStore } from '../state/lab-store.ts';
import { debateSummaries, parseDebate } from '../features/debates/debate-math.ts';
import { describeError } from './describe-error.ts';
import type { EventLogCommands } from './event-log-bridge.ts';

export interface DebatesCommands {
  /** Shows the tab, on the current run (or the newest) if none is shown, and lists the sweeps. */
  show(): Promise<void>;
  openRun(runId: string): Promise<void>;
  /** Asks again for the shown run's debates (and the selected one's events). */
  refresh(): Promise<void>;
  openDebate(stream: string): Promise<void>;
  refreshSweeps(): Promise<void>;
  openSweep(name: string): Promise<void>;
}

/** Pages of one read at most (debates listed: 40 x 500 / 2 = 10,000). */
const maxPages = 40;
const liveRefreshMs = 1_000;

export function bindDebates(client: ApiClient, eventLog: EventLogCommands): DebatesCommands {
  let liveTimer: ReturnType<typeof setInterval> | undefined;
  let listing: { runId: string; done: Promise<void> } | undefined;

  /** Every event matching the filter, a page at a time by position. */
  const readAll = async (runId: string, filter: EventFilter): Promise<BrowsedEvent[]> => {
    const out: BrowsedEvent[] = [];
    let fromPosition: number | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      const result = await client.request('events.read', { runId, limit: eventPageMax, filter, ...(fromPosition === undefined ? {} : { fromPosition }) });
      out.push(...result.events);
      const last = result.events.at(-1);
      if (last === undefined || result.events.length < eventPageMax) break;
      fromPosition = last.position + 1;
    }
    return out;
  };

  const loadList = (runId: string): Promise<void> => {
    if (listing?.runId === runId) return listing.done;
    const done = (async () => {
      try {
        debatesActions.debatesLoaded(runId, debateSummaries(await readAll(runId, { types: ['DebateStarted', 'DebateDecided'] })));
      } catch (error) {
        debatesActions.debatesFailed(runId, describeError(error));
      }
    })().finally(() => {
      if (listing?.done === done) listing = undefined;
    });
    listing = { runId, done };
    return done;
  };

  const loadDetail = async (runId: string, stream: string): Promise<void> => {
    try {
      debatesActions.detailLoaded(runId, parseDebate(stream, await readAll(runId, { streams: [stream] })));
    } catch (error) {
      debatesActions.detailFailed(runId, stream, describeError(error));
    }
  };

  const shownRunIsLive = (): boolean => {
    const { runId } = debatesStore.getState();
    if (runId === undefined) return false;
    const run = labStore.getState().runs[runId];
    if (run !== undefined) return run.status === 'running';
    return eventLogStore.getState().history.find((entry) => entry.runId === runId)?.live ?? false;
  };

  const commands: DebatesCommands = {
    async show() {
      eventLogActions.showView('debates');
      void commands.refreshSweeps();
      const candidate = debatesStore.getState().runId ?? labStore.getState().currentRunId;
      await eventLog.refreshHistory();
      const runId = candidate ?? eventLogStore.getState().history[0]?.runId;
      if (runId === undefined) return;
      if (runId === debatesStore.getState().runId) await commands.refresh();
      else await commands.openRun(runId);
    },
    async openRun(runId) {
      debatesActions.openRun(runId);
      await loadList(runId);
    },
    async refresh() {
      const { runId, stream, detail } = debatesStore.getState();
      if (runId === undefined) return;
      // A decided debate's events do not change: only an undecided one is read again.
      const undecided = stream !== undefined && !(detail.state === 'loaded' && detail.data.decision !== undefined);
      await Promise.all([loadList(runId), undecided ? loadDetail(runId, stream) : Promise.resolve()]);
    },
    async openDebate(stream) {
      const { runId } = debatesStore.getState();
      if (runId === undefined) return;
      debatesActions.openDebate(stream);
      await loadDetail(runId, stream);
    },
    async refreshSweeps() {
      debatesActions.sweepsLoading();
      try {
        debatesActions.sweepsLoaded((await client.request('sweeps.list', {})).sweeps);
      } catch (error) {
        debatesActions.sweepsFailed(describeError(error));
      }
    },
    async openSweep(name) {
      debatesActions.openSweep(name);
      try {
        debatesActions.resultsLoaded(name, await client.request('sweeps.results', { name }));
      } catch (error) {
        debatesActions.resultsFailed(name, describeError(error));
      }
    },
  };

  const tick = (): void => {
    if (eventLogStore.getState().view !== 'debates' || listing !== undefined || !shownRunIsLive()) return;
    void commands.refresh();
  };

  client.on('run.finished', (summary) => {
    if (summary.runId !== debatesStore.getState().runId || eventLogStore.getState().view !== 'debates') return;
    // The final list, after any read asked before the end.
    void (listing?.done ?? Promise.resolve()).then(() => commands.refresh());
  });
  client.on('engine.status', (status) => {
    if (status.state === 'ready' && eventLogStore.getState().view === 'debates') void commands.refresh();
  });
  // A run started in this session is the one to watch: the tab follows it.
  labStore.subscribe((state, previous) => {
    if (state.currentRunId !== undefined && state.currentRunId !== previous.currentRunId) void commands.openRun(state.currentRunId);
  });
  eventLogStore.subscribe((state, previous) => {
    if (state.view === previous.view) return;
    if (state.view === 'debates') liveTimer ??= setInterval(tick, liveRefreshMs);
    else if (liveTimer !== undefined) {
      clearInterval(liveTimer);
      liveTimer = undefined;
    }
  });
  return commands;
}
