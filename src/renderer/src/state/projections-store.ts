/**
 * The Projections tab's state: a cache of what the engine pushed and answered about runs'
 * projections (health, parked events, the outcome of actions), never the source of truth.
 * Health is kept per run, with a minute of lag samples per projection for the sparklines.
 */
import { createStore } from 'zustand/vanilla';
import type { ProjectionHealthView, PushOf } from '../../../shared/api.ts';

/** Lag samples older than this are dropped: the sparklines show the last minute. */
export const lagWindowMs = 60_000;

export interface LagSample {
  /** Wall-clock time the health arrived (the renderer's clock, ms). */
  readonly atMs: number;
  readonly lagEvents: number;
  readonly lagMs: number;
}

export interface RunProjections {
  readonly headPosition: number;
  readonly projections: ProjectionHealthView[];
  /** True while the engine runs it: actions and parked lists are answered for live runs only. */
  readonly live: boolean;
}

/** A projection's parked events as last asked: the list, or why the engine gives none. */
export type ParkedList =
  | { readonly state: 'loading' }
  | { readonly state: 'loaded'; readonly events: { position: number; error: string }[]; readonly count: number }
  | { readonly state: 'unavailable'; readonly reason: string }
  | { readonly state: 'error'; readonly message: string };

export type ProjectionAction = 'rebuild' | 'compare' | 'resume';

export interface ProjectionsState {
  /** The run the tab shows. */
  runId: string | undefined;
  runs: Record<string, RunProjections>;
  /** Runs known to have finished (their later pushes are final health, not live). */
  finished: Record<string, true>;
  /** Why the shown run's projections could not be listed. */
  listError: string | undefined;
  /** By run, then projection. */
  lagHistory: Record<string, Record<string, LagSample[]>>;
  /** Expanded rows of the shown run. */
  expanded: Record<string, true>;
  /** By `runKey(runId, name)`. */
  parked: Record<string, ParkedList>;
  /** Actions in flight and the last action error, by `runKey(runId, name)`. */
  pending: Record<string, ProjectionAction>;
  actionErrors: Record<string, string>;
}

export const initialProjectionsState: ProjectionsState = {
  runId: undefined,
  runs: {},
  finished: {},
  listError: undefined,
  lagHistory: {},
  expanded: {},
  parked: {},
  pending: {},
  actionErrors: {},
};

export const projectionsStore = createStore<ProjectionsState>(() => initialProjectionsState);

export function runKey(runId: string, name: string): string {
  return `${runId}/${name}`;
}

/** `samples` with `sample` appended and the ones older than the window before it dropped. */
export function appendLagSample(samples: readonly LagSample[], sample: LagSample, windowMs = lagWindowMs): LagSample[] {
  const from = sample.atMs - windowMs;
  const kept = samples.filter((item) => item.atMs >= from && item.atMs <= sample.atMs);
  kept.push(sample);
  return kept;
}

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const copy = { ...record };
  delete copy[key];
  return copy;
}

export const projectionsActions = {
  /** Shows another run: rows collapsed, its list error forgotten. */
  openRun(runId: string): void {
    projectionsStore.setState((state) => (state.runId === runId ? state : { runId, listError: undefined, expanded: {} }));
  },
  listed(runId: string, projections: ProjectionHealthView[], live: boolean, headPosition: number): void {
    projectionsStore.setState((state) => ({
      runs: { ...state.runs, [runId]: { projections, live: live && state.finished[runId] === undefined, headPosition: Math.max(headPosition, state.runs[runId]?.headPosition ?? 0) } },
      listError: state.runId === runId ? undefined : state.listError,
      finished: live ? state.finished : { ...state.finished, [runId]: true },
    }));
  },
  listFailed(runId: string, message: string): void {
    projectionsStore.setState((state) => (state.runId === runId ? { listError: message } : state));
  },
  /** A `projections.health` push, received at `atMs`. */
  healthPushed(health: PushOf<'projections.health'>, atMs: number): void {
    projectionsStore.setState((state) => {
      const history = { ...state.lagHistory[health.runId] };
      for (const projection of health.projections) {
        history[projection.name] = appendLagSample(history[projection.name] ?? [], { atMs, lagEvents: projection.lagEvents, lagMs: projection.lagMs });
      }
      return {
        runs: { ...state.runs, [health.runId]: { headPosition: health.headPosition, projections: health.projections, live: state.finished[health.runId] === undefined } },
        lagHistory: { ...state.lagHistory, [health.runId]: history },
        listError: state.runId === health.runId ? undefined : state.listError,
      };
    });
  },
  runFinished(runId: string): void {
    projectionsStore.setState((state) => {
      const run = state.runs[runId];
      return { finished: { ...state.finished, [runId]: true }, runs: run === undefined ? state.runs : { ...state.runs, [runId]: { ...run, live: false } } };
    });
  },
  /** The engine restarted: what it knew of live runs is gone. */
  engineRestarted(): void {
    projectionsStore.setState((state) => ({
      runs: Object.fromEntries(Object.entries(state.runs).map(([runId, run]) => [runId, { ...run, live: false }])),
      finished: { ...state.finished, ...Object.fromEntries(Object.keys(state.runs).map((runId) => [runId, true as const])) },
      pending: {},
    }));
  },
  toggleExpanded(name: string): void {
    projectionsStore.setState((state) => ({ expanded: state.expanded[name] ? without(state.expanded, name) : { ...state.expanded, [name]: true } }));
  },
  parkedUpdated(runId: string, name: string, parked: ParkedList): void {
    projectionsStore.setState((state) => ({ parked: { ...state.parked, [runKey(runId, name)]: parked } }));
  },
  actionStarted(runId: string, name: string, action: ProjectionAction): void {
    const key = runKey(runId, name);
    projectionsStore.setState((state) => ({ pending: { ...state.pending, [key]: action }, actionErrors: without(state.actionErrors, key) }));
  },
  actionEnded(runId: string, name: string, error: string | undefined): void {
    const key = runKey(runId, name);
    projectionsStore.setState((state) => ({
      pending: without(state.pending, key),
      actionErrors: error === undefined ? without(state.actionErrors, key) : { ...state.actionErrors, [key]: error },
    }));
  },
};
