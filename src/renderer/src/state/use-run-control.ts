import { useStore } from 'zustand';
import { runControlStore, type RunControlState } from './run-control-store.ts';

/** React binding of the run control bar's store. */
export function useRunControl<T>(selector: (state: RunControlState) => T): T {
  return useStore(runControlStore, selector);
}
