import { useStore } from 'zustand';
import { eventLogStore, type EventLogState } from './event-log-store.ts';

/** React binding of the event log store. */
export function useEventLog<T>(selector: (state: EventLogState) => T): T {
  return useStore(eventLogStore, selector);
}
