/**
 * The event log browser's state: a cache of what the engine answered about one run's log
 * (pages of events, totals, facets, verification), never the source of truth. Pages are
 * `eventPageSize` rows, keyed by page index among the events that match the filter.
 */
import { createStore } from 'zustand/vanilla';
import type { BrowsedEvent, EventFilter, ResultOf, RunHistoryEntry, Verification } from '../../../shared/api.ts';

export const eventPageSize = 100;
/** Pages kept at most; the ones farthest from the rows in view go first. */
export const eventPagesKept = 40;

export interface EventLogFilter {
  readonly types: readonly string[];
  readonly category: string | undefined;
  readonly stream: string | undefined;
}

/** The tab on screen (kept here since the event log's jumps switch to it). */
export type LabView = 'run' | 'events' | 'projections' | 'time-travel' | 'debates';

export interface EventLogState {
  view: LabView;
  history: RunHistoryEntry[];
  historyError: string | undefined;
  runId: string | undefined;
  filter: EventLogFilter;
  facets: ResultOf<'events.facets'> | undefined;
  /** Bumped whenever the list's rows change meaning (another run, another filter, a reload). */
  generation: number;
  /** Matching events; undefined until the first page answers. */
  total: number | undefined;
  headPosition: number;
  pages: Record<number, BrowsedEvent[]>;
  selected: BrowsedEvent | undefined;
  /** A row index the list should scroll to (set by jumps, cleared by the list). */
  scrollRequest: { index: number; serial: number } | undefined;
  verifications: Record<string, Verification>;
  error: string | undefined;
}

export const noFilter: EventLogFilter = { types: [], category: undefined, stream: undefined };

export const initialEventLogState: EventLogState = {
  view: 'run',
  history: [],
  historyError: undefined,
  runId: undefined,
  filter: noFilter,
  facets: undefined,
  generation: 0,
  total: undefined,
  headPosition: 0,
  pages: {},
  selected: undefined,
  scrollRequest: undefined,
  verifications: {},
  error: undefined,
};

export const eventLogStore = createStore<EventLogState>(() => initialEventLogState);

export function isFiltered(filter: EventLogFilter): boolean {
  return filter.types.length > 0 || filter.category !== undefined || filter.stream !== undefined;
}

/** The filter as the API takes it (absent when it matches everything). */
export function apiFilter(filter: EventLogFilter): EventFilter | undefined {
  const api: EventFilter = {
    ...(filter.types.length > 0 ? { types: [...filter.types] } : {}),
    ...(filter.stream ? { streams: [filter.stream] } : {}),
    ...(filter.category ? { category: filter.category } : {}),
  };
  return Object.keys(api).length === 0 ? undefined : api;
}

/**
 * How to ask for page `page`: without a filter, by offset (it is a position); with one, after
 * the previous page's last position when that page is here and full (a cheap indexed read),
 * else by offset (a scan, for jumps).
 */
export function pageRequest(page: number, pages: Record<number, BrowsedEvent[]>, filtered: boolean): { offset: number } | { fromPosition: number } {
  const previous = pages[page - 1];
  if (filtered && previous !== undefined && previous.length === eventPageSize) return { fromPosition: previous.at(-1)!.position + 1 };
  return { offset: page * eventPageSize };
}

/** Keeps the `eventPagesKept` pages nearest to `center`. */
export function prunePages(pages: Record<number, BrowsedEvent[]>, center: number): Record<number, BrowsedEvent[]> {
  const indexes = Object.keys(pages).map(Number);
  if (indexes.length <= eventPagesKept) return pages;
  const kept = indexes.sort((a, b) => Math.abs(a - center) - Math.abs(b - center)).slice(0, eventPagesKept);
  return Object.fromEntries(kept.map((index) => [index, pages[index]!]));
}

let scrollSerial = 0;

export const eventLogActions = {
  showView(view: EventLogState['view']): void {
    eventLogStore.setState({ view });
  },
  setHistory(history: RunHistoryEntry[]): void {
    eventLogStore.setState({ history, historyError: undefined });
  },
  setHistoryError(message: string): void {
    eventLogStore.setState({ historyError: message });
  },
  /** Opens a run's log: a new list, no filter, nothing selected. */
  openRun(runId: string): void {
    eventLogStore.setState((state) => ({
      view: 'events',
      runId,
      filter: state.runId === runId ? state.filter : noFilter,
      facets: state.runId === runId ? state.facets : undefined,
      ...freshList(state),
      selected: undefined,
      scrollRequest: { index: 0, serial: ++scrollSerial },
    }));
  },
  setFilter(filter: EventLogFilter): void {
    eventLogStore.setState((state) => ({ filter, ...freshList(state), scrollRequest: { index: 0, serial: ++scrollSerial } }));
  },
  /** Drops every page (the engine restarted, or the log changed under us); keeps the scroll position. */
  reload(): void {
    eventLogStore.setState((state) => freshList(state));
  },
  setFacets(runId: string, facets: ResultOf<'events.facets'>): void {
    eventLogStore.setState((state) => (state.runId === runId ? { facets } : state));
  },
  /** A page answered: stored if it still belongs to the list on screen. */
  pageLoaded(generation: number, page: number, result: ResultOf<'events.read'>, center: number): void {
    eventLogStore.setState((state) => {
      if (state.generation !== generation) return state;
      let pages: Record<number, BrowsedEvent[]> = { ...state.pages, [page]: result.events };
      // The log grew (a live run): a short last page is incomplete now.
      if (state.total !== undefined && result.total > state.total) pages = withoutShortPages(pages, page);
      return { pages: prunePages(pages, center), total: result.total, headPosition: Math.max(state.headPosition, result.headPosition), error: undefined };
    });
  },
  /** New totals for a growing log (a live run). */
  totalUpdated(generation: number, total: number, headPosition: number): void {
    eventLogStore.setState((state) => {
      if (state.generation !== generation || state.total === total) return state;
      return { total, headPosition, pages: withoutShortPages(state.pages) };
    });
  },
  select(event: BrowsedEvent | undefined): void {
    eventLogStore.setState({ selected: event });
  },
  scrollTo(index: number): void {
    eventLogStore.setState({ scrollRequest: { index, serial: ++scrollSerial } });
  },
  scrollDone(serial: number): void {
    eventLogStore.setState((state) => (state.scrollRequest?.serial === serial ? { scrollRequest: undefined } : state));
  },
  verificationUpdated(verification: Verification): void {
    eventLogStore.setState((state) => ({ verifications: { ...state.verifications, [verification.runId]: verification } }));
  },
  setError(message: string | undefined): void {
    eventLogStore.setState({ error: message });
  },
};

function freshList(state: EventLogState): Pick<EventLogState, 'generation' | 'total' | 'headPosition' | 'pages' | 'error'> {
  return { generation: state.generation + 1, total: undefined, headPosition: 0, pages: {}, error: undefined };
}

function withoutShortPages(pages: Record<number, BrowsedEvent[]>, except?: number): Record<number, BrowsedEvent[]> {
  return Object.fromEntries(Object.entries(pages).filter(([index, events]) => Number(index) === except || events.length === eventPageSize));
}
