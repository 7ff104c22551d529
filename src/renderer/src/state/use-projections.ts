import { useStore } from 'zustand';
import { projectionsStore, type ProjectionsState } from './projections-store.ts';

/** React binding of the projections store. */
export function useProjections<T>(selector: (state: ProjectionsState) => T): T {
  return useStore(projectionsStore, selector);
}
