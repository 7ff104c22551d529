/**
 * The Debates tab's state: a cache of what the engine answered about one run's debates (the
 * list, the selected debate's events read back) and about the sweeps (the list, one sweep's
 * results). Answers for a run, a debate or a sweep no longer on screen are dropped.
 */
import { createStore } from 'zustand/vanilla';
import type { DebateDetail, DebateSummary } from '../features/debates/debate-math.ts';
import type { SweepEntry, SweepResults } from '../features/debates/sweep-math.ts';

export type Loadable<T> = { readonly state: 'idle' } | { readonly state: 'loading' } | { readonly state: 'loaded'; readonly data: T } | { readonly state: 'error'; readonly message: string };

export interface DebatesState {
  runId: string | undefined;
  debates: Loadable<DebateSummary[]>;
  /** The selected debate's stream (debate-<name>-<n>). */
  stream: string | undefined;
  detail: Loadable<DebateDetail>;
  sweeps: Loadable<SweepEntry[]>;
  sweep: string | undefined;
  results: Loadable<SweepResults>;
}

export const initialDebatesState: DebatesState = {
  runId: undefined,
  debates: { state: 'idle' },
  stream: undefined,
  detail: { state: 'idle' },
  sweeps: { state: 'idle' },
  sweep: undefined,
  results: { state: 'idle' },
};

export const debatesStore = createStore<DebatesState>(() => initialDebatesState);

export const debatesActions = {
  /** Shows another run: its list and selection start over. */
  openRun(runId: string): void {
    debatesStore.setState((state) => (state.runId === runId ? state : { runId, debates: { state: 'loading' }, stream: undefined, detail: { state: 'idle' } }));
  },
  debatesLoaded(runId: string, debates: DebateSummary[]): void {
    debatesStore.setState((state) => (state.runId === runId ? { debates: { state: 'loaded', data: debates } } : state));
  },
  debatesFailed(runId: string, message: string): void {
    debatesStore.setState((state) => (state.runId === runId ? { debates: { state: 'error', message } } : state));
  },
  openDebate(stream: string): void {
    debatesStore.setState((state) => (state.stream === stream && state.detail.state === 'loaded' ? state : { stream, detail: { state: 'loading' } }));
  },
  detailLoaded(runId: string, detail: DebateDetail): void {
    debatesStore.setState((state) => (state.runId === runId && state.stream === detail.stream ? { detail: { state: 'loaded', data: detail } } : state));
  },
  detailFailed(runId: string, stream: string, message: string): void {
    debatesStore.setState((state) => (state.runId === runId && state.stream === stream ? { detail: { state: 'error', message } } : state));
  },
  sweepsLoading(): void {
    debatesStore.setState((state) => (state.sweeps.state === 'loaded' ? state : { sweeps: { state: 'loading' } }));
  },
  sweepsLoaded(sweeps: SweepEntry[]): void {
    debatesStore.setState({ sweeps: { state: 'loaded', data: sweeps } });
  },
  sweepsFailed(message: string): void {
    debatesStore.setState({ sweeps: { state: 'error', message } });
  },
  openSweep(name: string): void {
    debatesStore.setState({ sweep: name, results: { state: 'loading' } });
  },
  resultsLoaded(name: string, results: SweepResults): void {
    debatesStore.setState((state) => (state.sweep === name ? { results: { state: 'loaded', data: results } } : state));
  },
  resultsFailed(name: string, message: string): void {
    debatesStore.setState((state) => (state.sweep === name ? { results: { state: 'error', message } } : state));
  },
};
