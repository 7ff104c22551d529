import { useStore } from 'zustand';
import { timeTravelStore, type TimeTravelState } from './time-travel-store.ts';

/** React binding of the Time travel tab's store. */
export function useTimeTravel<T>(selector: (state: TimeTravelState) => T): T {
  return useStore(timeTravelStore, selector);
}
