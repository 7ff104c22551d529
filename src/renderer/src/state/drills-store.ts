/**
 * The Drills tab's state: the drills and the fault catalogue the engine lists, the console's
 * form, every drill state the engine pushed in this session (newest first), the trainee's
 * actions with the engine's answers, and the finished drills' debriefs.
 */
import { createStore } from 'zustand/vanilla';
import type { ChaosFault, DrillInfo, DrillState } from '../../../shared/api.ts';
import type { Loadable } from './debates-store.ts';

export interface TakenAction {
  readonly action: string;
  readonly accepted: boolean | undefined;
  readonly error?: string;
}

export interface DrillDebriefs {
  readonly markdown: Loadable<string>;
  readonly html: Loadable<string>;
}

export interface DrillsState {
  /** The Drills tab is on screen (over the other tabs' view). */
  shown: boolean;
  drills: Loadable<DrillInfo[]>;
  catalogue: Loadable<ChaosFault[]>;
  form: { drill: string | undefined; mode: DrillState['mode']; seed: string };
  starting: boolean;
  error: string | undefined;
  /** The drill the console shows. */
  currentId: string | undefined;
  states: Record<string, DrillState>;
  /** performance.now() when each state arrived (the console's clock runs on from it). */
  receivedAt: Record<string, number>;
  /** Drill ids, newest first. */
  order: string[];
  taken: Record<string, TakenAction[]>;
  debriefs: Record<string, DrillDebriefs>;
}

export const initialDrillsState: DrillsState = {
  shown: false,
  drills: { state: 'idle' },
  catalogue: { state: 'idle' },
  form: { drill: undefined, mode: 'auto', seed: '' },
  starting: false,
  error: undefined,
  currentId: undefined,
  states: {},
  receivedAt: {},
  order: [],
  taken: {},
  debriefs: {},
};

export const drillsStore = createStore<DrillsState>(() => initialDrillsState);

const idleDebriefs: DrillDebriefs = { markdown: { state: 'idle' }, html: { state: 'idle' } };

export const drillsActions = {
  show(): void {
    drillsStore.setState({ shown: true });
  },
  hide(): void {
    if (drillsStore.getState().shown) drillsStore.setState({ shown: false });
  },
  drillsLoading(): void {
    drillsStore.setState((state) => (state.drills.state === 'loaded' ? state : { drills: { state: 'loading' } }));
  },
  drillsLoaded(drills: DrillInfo[]): void {
    drillsStore.setState((state) => ({ drills: { state: 'loaded', data: drills }, form: state.form.drill !== undefined && drills.some((item) => item.drill === state.form.drill) ? state.form : { ...state.form, drill: drills[0]?.drill } }));
  },
  drillsFailed(message: string): void {
    drillsStore.setState({ drills: { state: 'error', message } });
  },
  catalogueLoaded(faults: ChaosFault[]): void {
    drillsStore.setState({ catalogue: { state: 'loaded', data: faults } });
  },
  catalogueFailed(message: string): void {
    drillsStore.setState({ catalogue: { state: 'error', message } });
  },
  setForm(form: Partial<DrillsState['form']>): void {
    drillsStore.setState((state) => ({ form: { ...state.form, ...form } }));
  },
  starting(): void {
    drillsStore.setState({ starting: true, error: undefined });
  },
  started(drillId: string): void {
    drillsStore.setState((state) => ({ starting: false, currentId: drillId, order: state.order.includes(drillId) ? state.order : [drillId, ...state.order] }));
  },
  setError(message: string | undefined): void {
    drillsStore.setState({ starting: false, error: message });
  },
  /** A pushed or asked-for state; a drill this console did not start is shown when none is. */
  stateReceived(drill: DrillState, at: number): void {
    drillsStore.setState((state) => {
      const known = state.states[drill.drillId] !== undefined;
      return {
        states: { ...state.states, [drill.drillId]: drill },
        receivedAt: { ...state.receivedAt, [drill.drillId]: at },
        order: known || state.order.includes(drill.drillId) ? state.order : [drill.drillId, ...state.order],
        currentId: state.currentId ?? drill.drillId,
      };
    });
  },
  /** The engine lost a running drill (it restarted): the console says so. */
  drillLost(drillId: string, message: string): void {
    drillsStore.setState((state) => {
      const drill = state.states[drillId];
      if (drill === undefined || drill.status !== 'running') return state;
      return { states: { ...state.states, [drillId]: { ...drill, status: 'error', awaiting: null, error: message } } };
    });
  },
  open(drillId: string): void {
    drillsStore.setState({ currentId: drillId });
  },
  actionTaken(drillId: string, taken: TakenAction): void {
    drillsStore.setState((state) => ({ taken: { ...state.taken, [drillId]: [...(state.taken[drillId] ?? []), taken] } }));
  },
  /** The engine's answer to the trainee's latest action of this kind. */
  actionAnswered(drillId: string, action: string, answer: { accepted: boolean } | { error: string }): void {
    drillsStore.setState((state) => {
      const list = [...(state.taken[drillId] ?? [])];
      const index = list.findLastIndex((item) => item.action === action && item.accepted === undefined && item.error === undefined);
      if (index < 0) return state;
      list[index] = 'error' in answer ? { action, accepted: false, error: answer.error } : { action, accepted: answer.accepted };
      return { taken: { ...state.taken, [drillId]: list } };
    });
  },
  debriefLoading(drillId: string, format: 'markdown' | 'html'): void {
    drillsStore.setState((state) => ({ debriefs: { ...state.debriefs, [drillId]: { ...(state.debriefs[drillId] ?? idleDebriefs), [format]: { state: 'loading' } } } }));
  },
  debriefLoaded(drillId: string, format: 'markdown' | 'html', text: string): void {
    drillsStore.setState((state) => ({ debriefs: { ...state.debriefs, [drillId]: { ...(state.debriefs[drillId] ?? idleDebriefs), [format]: { state: 'loaded', data: text } } } }));
  },
  debriefFailed(drillId: string, format: 'markdown' | 'html', message: string): void {
    drillsStore.setState((state) => ({ debriefs: { ...state.debriefs, [drillId]: { ...(state.debriefs[drillId] ?? idleDebriefs), [format]: { state: 'error', message } } } }));
  },
};
