import { useStore } from 'zustand';
import { debatesStore, type DebatesState } from './debates-store.ts';

/** React binding of the Debates tab's store. */
export function useDebates<T>(selector: (state: DebatesState) => T): T {
  return useStore(debatesStore, selector);
}
