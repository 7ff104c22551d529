import { field, isString, labEventTypes } from '../events/lab-events.ts';
import type { JsonValue } from '../kernel/canonical.ts';
import type { ProjectionDefinition } from './projection.ts';

interface Window {
  [key: string]: JsonValue;
  faultId: string;
  kind: string;
  target: string;
  startUs: number;
  endUs: number | null;
}

/** Every fault's window of virtual time: open ones have endUs null. Charts draw them as bands. */
export interface FaultWindows {
  [key: string]: JsonValue;
  windows: Window[];
}

export const faultWindows: ProjectionDefinition<FaultWindows> = {
  name: 'fault-windows',
  version: 1,
  description: 'When each injected fault was active, in virtual time',
  initial: () => ({ windows: [] }),
  // A fault cleared that was never injected means the log and the chaos engine disagree: stop
  // and let an operator look, rather than draw wrong bands on every chart.
  onPoison: 'halt',
  apply: (state, event) => {
    if (event.type === labEventTypes.faultInjected) {
      state.windows.push({
        faultId: field(event, 'faultId', isString, 'a fault id'),
        kind: field(event, 'kind', isString, 'a fault kind'),
        target: field(event, 'target', isString, 'a target'),
        startUs: event.metadata.virtualTimeUs,
        endUs: null,
      });
    } else if (event.type === labEventTypes.faultCleared) {
      const faultId = field(event, 'faultId', isString, 'a fault id');
      const open = state.windows.find((window) => window.faultId === faultId && window.endUs === null);
      if (open === undefined) throw new TypeError(`FaultCleared at position ${event.position}: fault ${faultId} is not active`);
      open.endUs = event.metadata.virtualTimeUs;
    }
    return state;
  },
};
