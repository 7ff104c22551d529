/**
 * The run control bar's state: which control request is in flight for which run, and the last
 * one's error. The run itself (paused, speed, events) is in the lab store, from the engine's
 * answers and pushes.
 */
import { createStore } from 'zustand/vanilla';

export type RunControlAction = 'pause' | 'resume' | 'step' | 'speed' | 'stop';

export interface RunControlState {
  pending: { runId: string; action: RunControlAction } | undefined;
  error: { runId: string; message: string } | undefined;
}

export const initialRunControlState: RunControlState = { pending: undefined, error: undefined };

export const runControlStore = createStore<RunControlState>(() => initialRunControlState);

export const runControlActions = {
  started(runId: string, action: RunControlAction): void {
    runControlStore.setState({ pending: { runId, action }, error: undefined });
  },
  ended(runId: string, message: string | undefined): void {
    runControlStore.setState((state) => ({
      pending: state.pending?.runId === runId ? undefined : state.pending,
      error: message === undefined ? undefined : { runId, message },
    }));
  },
};
