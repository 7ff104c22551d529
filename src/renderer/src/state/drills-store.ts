/**
 * The Drills tab's state: the drills and the fault catalogue the engine lists, the console's
 * form, every drill state the engine pushed in this session (newest first), the trainee's
 * actions with the engine's answers, and the finished drills' debriefs.
 */
import { createStore } from 'zustand/vanilla';
import type { ChaosFault, DrillInfo, DrillState, FaultWindow, InjectFaultKind, ResultOf } from '../../../shared/api.ts';
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

/** The "Inject now" form: which run (undefined: the run panel's current run), which fault, its parameters as typed. */
export interface InjectForm {
  runId: string | undefined;
  kind: InjectFaultKind;
  generator: string;
  factor: string;
  duration: string;
}

/** The engine's answer to the last injection: the fault, or the typed error. */
export type InjectOutcome =
  | { readonly ok: true; readonly runId: string; readonly result: ResultOf<'chaos.inject'> }
  | { readonly ok: false; readonly runId: string | undefined; readonly code: string; readonly message: string; readonly path: string | undefined };

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
  inject: { form: InjectForm; pending: boolean; outcome: InjectOutcome | undefined };
  /** Each run's generators (from its RunStarted event), for the load-spike form. */
  generators: Record<string, string[]>;
  /** Each run's fault windows known to this page: injected from here, or listed by telemetry.get. */
  faults: Record<string, FaultWindow[]>;
}

export const initialInjectForm: InjectForm = { runId: undefined, kind: 'load-spike', generator: '', factor: '3', duration: '10s' };

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
  inject: { form: initialInjectForm, pending: false, outcome: undefined },
  generators: {},
  faults: {},
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
  setInjectForm(form: Partial<InjectForm>): void {
    drillsStore.setState((state) => ({ inject: { ...state.inject, form: { ...state.inject.form, ...form } } }));
  },
  injecting(): void {
    drillsStore.setState((state) => ({ inject: { ...state.inject, pending: true, outcome: undefined } }));
  },
  /** The engine injected the fault: it is listed, and drawn on the run's charts. */
  injected(runId: string, result: ResultOf<'chaos.inject'>): void {
    drillsStore.setState((state) => {
      const fault: FaultWindow = { faultId: result.faultId, kind: result.kind, detail: result.detail, startUs: result.startUs, endUs: result.endUs, source: 'injected' };
      const known = (state.faults[runId] ?? []).filter((item) => !(item.source === 'injected' && item.faultId === result.faultId));
      return { inject: { ...state.inject, pending: false, outcome: { ok: true, runId, result } }, faults: { ...state.faults, [runId]: [...known, fault].sort((a, b) => a.startUs - b.startUs) } };
    });
  },
  injectFailed(runId: string | undefined, error: { code: string; message: string; path: string | undefined }): void {
    drillsStore.setState((state) => ({ inject: { ...state.inject, pending: false, outcome: { ok: false, runId, ...error } } }));
  },
  /** The run's fault windows as the engine lists them (telemetry.get); injections it no longer knows (an engine killed since) stay. */
  faultsLoaded(runId: string, faults: readonly FaultWindow[]): void {
    drillsStore.setState((state) => {
      const listed = new Set(faults.map((fault) => `${fault.source}:${fault.faultId}`));
      const kept = (state.faults[runId] ?? []).filter((fault) => fault.source === 'injected' && !listed.has(`${fault.source}:${fault.faultId}`));
      return { faults: { ...state.faults, [runId]: [...faults, ...kept].sort((a, b) => a.startUs - b.startUs) } };
    });
  },
  generatorsLoaded(runId: string, generators: string[]): void {
    drillsStore.setState((state) => {
      const form = state.inject.form;
      const generator = form.generator !== '' && generators.includes(form.generator) ? form.generator : (generators[0] ?? form.generator);
      return { generators: { ...state.generators, [runId]: generators }, inject: { ...state.inject, form: { ...form, generator } } };
    });
  },
  debriefFailed(drillId: string, format: 'markdown' | 'html', message: string): void {
    drillsStore.setState((state) => ({ debriefs: { ...state.debriefs, [drillId]: { ...(state.debriefs[drillId] ?? idleDebriefs), [format]: { state: 'error', message } } } }));
  },
};

/**
 * The Inject now form's command, registered by the drills bridge (the catalogue is drawn without
 * the bridge's commands as props). Undefined until a bridge is bound.
 */
let injectCommand: (() => Promise<void>) | undefined;
let generatorsCommand: ((runId: string) => void) | undefined;

export function registerInjectCommands(commands: { inject: () => Promise<void>; loadGenerators: (runId: string) => void }): void {
  injectCommand = commands.inject;
  generatorsCommand = commands.loadGenerators;
}

/** Injects the fault the form names into its run. */
export function injectNow(): Promise<void> {
  return injectCommand?.() ?? Promise.resolve();
}

/** Asks for a run's generators once (for the load-spike form). */
const generatorsAsked = new Set<string>();
export function loadRunGenerators(runId: string): void {
  if (drillsStore.getState().generators[runId] !== undefined || generatorsAsked.has(runId) || generatorsCommand === undefined) return;
  generatorsAsked.add(runId);
  generatorsCommand(runId);
}
