import { useStore } from 'zustand';
import { labStore, type LabState } from './lab-store.ts';

/** React binding of the lab store: components re-render only when their slice changes. */
export function useLab<T>(selector: (state: LabState) => T): T {
  return useStore(labStore, selector);
}
