import { useStore } from 'zustand';
import { sessionStore, type SessionState } from './session-store.ts';

/** React binding of the shared session's store. */
export function useSession<T>(selector: (state: SessionState) => T): T {
  return useStore(sessionStore, selector);
}
