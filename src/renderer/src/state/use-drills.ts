import { useStore } from 'zustand';
import { drillsStore, type DrillsState } from './drills-store.ts';

/** React binding of the Drills tab's store. */
export function useDrills<T>(selector: (state: DrillsState) => T): T {
  return useStore(drillsStore, selector);
}
