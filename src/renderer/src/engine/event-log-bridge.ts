/**
 * The event log browser's requests: pages for the rows in view (coalesced while the list
 * scrolls, dropped when the list has changed meanwhile), facets, jumps, verification, and
 * totals that follow a live run.
 */
import type { ApiClient } from '../../../shared/client.ts';
import { apiFilter, eventLogActions, eventLogStore, eventPageSize, pageRequest, type EventLogFilter } from '../state/event-log-store.ts';
import { labStore } from '../state/lab-store.ts';
import { describeError } from './describe-error.ts';

export interface EventLogCommands {
  /** Shows the event log, opening the current run (or the newest) if none is open. */
  show(): Promise<void>;
  refreshHistory(): Promise<void>;
  openRun(runId: string): Promise<void>;
  setFilter(filter: EventLogFilter): Promise<void>;
  /** The list shows rows first..last (last < first: it knows no total yet). */
  ensureRows(first: number, last: number): void;
  /** Scrolls to the first matching event at or after `position`, and inspects it. */
  jumpToPosition(position: number): Promise<void>;
  verify(runId: string): Promise<void>;
}

/** Rows in view are fetched this long after the list last moved (a drag asks once, not per pixel). */
const fetchDelayMs = 30;
/** A live run's totals and facets are refreshed at most this often. */
const liveRefreshMs = 1_000;

export function bindEventLog(client: ApiClient): EventLogCommands {
  const inFlight = new Set<string>();
  let wanted: { first: number; last: number } | undefined;
  let fetchTimer: ReturnType<typeof setTimeout> | undefined;
  let lastLiveRefresh = Number.NEGATIVE_INFINITY;
  let liveRefreshTimer: ReturnType<typeof setTimeout> | undefined;

  const fail = (generation: number, error: unknown): void => {
    if (eventLogStore.getState().generation === generation) eventLogActions.setError(describeError(error));
  };

  const loadFacets = async (runId: string): Promise<void> => {
    try {
      eventLogActions.setFacets(runId, await client.request('events.facets', { runId }));
    } catch (error) {
      fail(eventLogStore.getState().generation, error);
    }
  };

  const fetchPage = async (page: number, center: number): Promise<void> => {
    const state = eventLogStore.getState();
    if (state.runId === undefined || state.pages[page] !== undefined) return;
    const key = `${state.generation}:${page}`;
    if (inFlight.has(key)) return;
    inFlight.add(key);
    const filter = apiFilter(state.filter);
    try {
      const result = await client.request('events.read', { runId: state.runId, limit: eventPageSize, ...pageRequest(page, state.pages, filter !== undefined), ...(filter === undefined ? {} : { filter }) });
      eventLogActions.pageLoaded(state.generation, page, result, center);
    } catch (error) {
      fail(state.generation, error);
    } finally {
      inFlight.delete(key);
    }
  };

  const fetchWanted = (): void => {
    fetchTimer = undefined;
    if (wanted === undefined) return;
    const { first, last } = wanted;
    if (last < first) {
      if (eventLogStore.getState().total === undefined) void fetchPage(0, 0);
      return;
    }
    const firstPage = Math.floor(first / eventPageSize);
    const lastPage = Math.floor(last / eventPageSize);
    const center = Math.floor((firstPage + lastPage) / 2);
    for (let page = firstPage; page <= lastPage; page++) void fetchPage(page, center);
  };

  const refreshLive = async (): Promise<void> => {
    const state = eventLogStore.getState();
    if (state.runId === undefined) return;
    lastLiveRefresh = performance.now();
    const filter = apiFilter(state.filter);
    try {
      const result = await client.request('events.read', { runId: state.runId, offset: 0, limit: 1, ...(filter === undefined ? {} : { filter }) });
      eventLogActions.totalUpdated(state.generation, result.total, result.headPosition);
    } catch (error) {
      fail(state.generation, error);
    }
    await loadFacets(state.runId);
  };

  /** Called on every progress push of the open run: refreshes at most once a second, and once more at the end. */
  const scheduleLiveRefresh = (final: boolean): void => {
    if (liveRefreshTimer !== undefined) clearTimeout(liveRefreshTimer);
    const wait = final ? 0 : Math.max(0, lastLiveRefresh + liveRefreshMs - performance.now());
    liveRefreshTimer = setTimeout(() => {
      liveRefreshTimer = undefined;
      void refreshLive();
    }, wait);
  };

  const commands: EventLogCommands = {
    async show() {
      eventLogActions.showView('events');
      await commands.refreshHistory();
      const { runId, history } = eventLogStore.getState();
      const candidate = labStore.getState().currentRunId ?? history[0]?.runId;
      if (runId === undefined && candidate !== undefined) await commands.openRun(candidate);
    },
    async refreshHistory() {
      try {
        eventLogActions.setHistory((await client.request('runs.history', {})).runs);
      } catch (error) {
        eventLogActions.setHistoryError(describeError(error));
      }
    },
    async openRun(runId) {
      eventLogActions.openRun(runId);
      await Promise.all([loadFacets(runId), eventLogStore.getState().history.some((run) => run.runId === runId) ? undefined : commands.refreshHistory()]);
    },
    async setFilter(filter) {
      eventLogActions.setFilter(filter);
      const { runId } = eventLogStore.getState();
      if (runId !== undefined && eventLogStore.getState().facets === undefined) await loadFacets(runId);
    },
    ensureRows(first, last) {
      wanted = { first, last };
      fetchTimer ??= setTimeout(fetchWanted, fetchDelayMs);
    },
    async jumpToPosition(position) {
      const state = eventLogStore.getState();
      if (state.runId === undefined) return;
      const filter = apiFilter(state.filter);
      try {
        const result = await client.request('events.read', { runId: state.runId, fromPosition: position, limit: 1, locate: true, ...(filter === undefined ? {} : { filter }) });
        if (eventLogStore.getState().generation !== state.generation) return;
        const event = result.events[0];
        if (event === undefined) {
          eventLogActions.setError(`no ${filter === undefined ? '' : 'matching '}event at or after position ${position.toLocaleString('en')}`);
          return;
        }
        eventLogActions.setError(undefined);
        eventLogActions.select(event);
        eventLogActions.scrollTo(result.offset ?? 0);
      } catch (error) {
        fail(state.generation, error);
      }
    },
    async verify(runId) {
      try {
        eventLogActions.verificationUpdated(await client.request('events.verify', { runId }));
      } catch (error) {
        fail(eventLogStore.getState().generation, error);
      }
    },
  };

  client.on('events.verified', (verification) => eventLogActions.verificationUpdated(verification));
  client.on('run.progress', (summary) => {
    if (summary.runId === eventLogStore.getState().runId) scheduleLiveRefresh(false);
  });
  client.on('run.finished', (summary) => {
    const { runId, view } = eventLogStore.getState();
    if (summary.runId === runId) scheduleLiveRefresh(true);
    if (view === 'events') void commands.refreshHistory();
  });
  client.on('engine.status', (status) => {
    if (status.state !== 'ready') return;
    // A new engine: requests in flight were lost; ask again for what is on screen.
    inFlight.clear();
    const { runId, view } = eventLogStore.getState();
    if (runId !== undefined) {
      eventLogActions.reload();
      void loadFacets(runId);
    }
    if (view === 'events') void commands.refreshHistory();
  });
  return commands;
}
