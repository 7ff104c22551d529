/**
 * The Time travel tab's state: a cache of what the engine answered about one run (its timeline,
 * the projection state at the seek position, its telemetry), the fork form, and the comparison
 * of two runs. Answers for a run or a position no longer on screen are dropped.
 */
import { createStore } from 'zustand/vanilla';
import type { ResultOf } from '../../../shared/api.ts';
import { mergeTelemetrySeconds, type RunDiff, type Telemetry, type Timeline } from '../features/time-travel/time-travel-math.ts';

export type StateAt = ResultOf<'run.stateAt'>;

/** The projection the scrubber shows at the seek position. */
export const seekProjection = 'events-per-second-by-type';

export interface SeekView {
  readonly position: number;
  /** The answer for `position` (or, while it is asked for, the previous one). */
  readonly result: StateAt | undefined;
  readonly pending: boolean;
  readonly error: string | undefined;
}

export type TelemetryView =
  | { readonly state: 'idle' }
  | { readonly state: 'loading' }
  | { readonly state: 'loaded'; readonly data: Telemetry }
  /** The engine has no telemetry for this run (not recorded yet, or by an older lab). */
  | { readonly state: 'unavailable'; readonly message: string }
  | { readonly state: 'error'; readonly message: string };

export interface ForkForm {
  readonly open: boolean;
  readonly path: string;
  readonly value: string;
  readonly speed: string;
  readonly pending: boolean;
  readonly error: string | undefined;
}

export interface CompareView {
  readonly a: string | undefined;
  readonly b: string | undefined;
  readonly pending: boolean;
  readonly result: RunDiff | undefined;
  readonly error: string | undefined;
}

export interface TimeTravelState {
  runId: string | undefined;
  timeline: Timeline | undefined;
  timelineError: string | undefined;
  seek: SeekView | undefined;
  telemetry: TelemetryView;
  fork: ForkForm;
  compare: CompareView;
}

const closedFork: ForkForm = { open: false, path: '', value: '', speed: 'max', pending: false, error: undefined };

export const initialTimeTravelState: TimeTravelState = {
  runId: undefined,
  timeline: undefined,
  timelineError: undefined,
  seek: undefined,
  telemetry: { state: 'idle' },
  fork: closedFork,
  compare: { a: undefined, b: undefined, pending: false, result: undefined, error: undefined },
};

export const timeTravelStore = createStore<TimeTravelState>(() => initialTimeTravelState);

export const timeTravelActions = {
  /** Shows another run: its timeline, seek and telemetry start over; the fork form keeps its fields. */
  openRun(runId: string): void {
    timeTravelStore.setState((state) =>
      state.runId === runId
        ? state
        : { runId, timeline: undefined, timelineError: undefined, seek: undefined, telemetry: { state: 'idle' }, fork: { ...state.fork, open: false, pending: false, error: undefined } },
    );
  },
  timelineLoaded(runId: string, timeline: Timeline): void {
    timeTravelStore.setState((state) => (state.runId === runId ? { timeline, timelineError: undefined } : state));
  },
  timelineFailed(runId: string, message: string): void {
    timeTravelStore.setState((state) => (state.runId === runId ? { timelineError: message } : state));
  },
  seekStarted(runId: string, position: number): void {
    timeTravelStore.setState((state) => (state.runId === runId ? { seek: { position, result: state.seek?.result, pending: true, error: undefined } } : state));
  },
  /** An answer for a position: kept only if it is still the one sought. */
  seekAnswered(runId: string, result: StateAt): void {
    timeTravelStore.setState((state) => (state.runId === runId && state.seek?.position === result.position ? { seek: { position: result.position, result, pending: false, error: undefined } } : state));
  },
  seekFailed(runId: string, position: number, message: string): void {
    timeTravelStore.setState((state) => (state.runId === runId && state.seek?.position === position ? { seek: { ...state.seek, pending: false, error: message } } : state));
  },
  telemetryLoading(runId: string): void {
    timeTravelStore.setState((state) => (state.runId === runId && state.telemetry.state === 'idle' ? { telemetry: { state: 'loading' } } : state));
  },
  /** Telemetry asked from `fromSecond`: merged into the series held (the rest is replaced). */
  telemetryLoaded(runId: string, data: Telemetry, fromSecond: number): void {
    timeTravelStore.setState((state) => {
      if (state.runId !== runId) return state;
      const held = state.telemetry.state === 'loaded' ? state.telemetry.data.seconds : [];
      return { telemetry: { state: 'loaded', data: { ...data, seconds: mergeTelemetrySeconds(held, data.seconds, fromSecond) } } };
    });
  },
  telemetryFailed(runId: string, view: Extract<TelemetryView, { state: 'unavailable' | 'error' }>): void {
    timeTravelStore.setState((state) => (state.runId === runId ? { telemetry: view } : state));
  },
  openFork(open: boolean): void {
    timeTravelStore.setState((state) => ({ fork: { ...state.fork, open, error: undefined } }));
  },
  setForkField(field: 'path' | 'value' | 'speed', value: string): void {
    timeTravelStore.setState((state) => ({ fork: { ...state.fork, [field]: value } }));
  },
  forkStarted(): void {
    timeTravelStore.setState((state) => ({ fork: { ...state.fork, pending: true, error: undefined } }));
  },
  forkFailed(message: string): void {
    timeTravelStore.setState((state) => ({ fork: { ...state.fork, pending: false, error: message } }));
  },
  /** The fork started: the form closes (its fields stay for the next one). */
  forkDone(): void {
    timeTravelStore.setState((state) => ({ fork: { ...state.fork, open: false, pending: false, error: undefined } }));
  },
  setCompareRun(side: 'a' | 'b', runId: string): void {
    timeTravelStore.setState((state) => ({ compare: { ...state.compare, [side]: runId, error: undefined } }));
  },
  compareStarted(): void {
    timeTravelStore.setState((state) => ({ compare: { ...state.compare, pending: true, error: undefined } }));
  },
  /** A diff of (a, b): kept only if those are still the runs chosen. */
  compareAnswered(a: string, b: string, result: RunDiff): void {
    timeTravelStore.setState((state) => (state.compare.a === a && state.compare.b === b ? { compare: { ...state.compare, pending: false, result, error: undefined } } : { compare: { ...state.compare, pending: false } }));
  },
  compareFailed(message: string): void {
    timeTravelStore.setState((state) => ({ compare: { ...state.compare, pending: false, result: undefined, error: message } }));
  },
};
