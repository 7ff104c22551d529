/**
 * The renderer's state: a cache of what the engine pushes, never the source of truth.
 * A vanilla zustand store (no React here), so it can be tested and driven without a DOM.
 */
import { createStore } from 'zustand/vanilla';
import type { EngineState, PushOf, RunSummary, ScenarioEntry } from '../../../shared/api.ts';
import type { LinkState } from '../engine/connection.ts';

export interface ProjectionView {
  readonly checkpoint: number;
  readonly state: unknown;
}

export interface LabState {
  link: LinkState;
  engine: { state: EngineState; pid: number | null; restarts: number; reason?: string };
  scenarios: ScenarioEntry[];
  scenariosError: string | undefined;
  selectedScenario: string | undefined;
  seed: string;
  speed: string;
  runs: Record<string, RunSummary>;
  currentRunId: string | undefined;
  projections: Record<string, Record<string, ProjectionView>>;
  lastError: string | undefined;
}

export const initialLabState: LabState = {
  link: 'connecting',
  engine: { state: 'starting', pid: null, restarts: 0 },
  scenarios: [],
  scenariosError: undefined,
  selectedScenario: undefined,
  seed: '',
  speed: '20',
  runs: {},
  currentRunId: undefined,
  projections: {},
  lastError: undefined,
};

export const labStore = createStore<LabState>(() => initialLabState);

export const labActions = {
  setLink(link: LinkState): void {
    labStore.setState({ link });
  },
  setEngineStatus(status: PushOf<'engine.status'>): void {
    labStore.setState((state) => {
      const restarted = status.state === 'restarting' || status.state === 'stopped';
      // Runs that were live in an engine that died are interrupted: the new engine does not know them.
      const runs = restarted
        ? Object.fromEntries(Object.entries(state.runs).map(([id, run]) => [id, run.status === 'running' ? { ...run, status: 'interrupted' as const } : run]))
        : state.runs;
      return { engine: { state: status.state, pid: status.pid, restarts: status.restarts, ...(status.reason === undefined ? {} : { reason: status.reason }) }, runs };
    });
  },
  setScenarios(scenarios: ScenarioEntry[]): void {
    labStore.setState((state) => ({
      scenarios,
      scenariosError: undefined,
      selectedScenario: state.selectedScenario ?? scenarios.find((scenario) => scenario.error === undefined)?.file,
    }));
  },
  setScenariosError(message: string): void {
    labStore.setState({ scenariosError: message });
  },
  selectScenario(file: string): void {
    labStore.setState({ selectedScenario: file });
  },
  setSeed(seed: string): void {
    labStore.setState({ seed });
  },
  setSpeed(speed: string): void {
    labStore.setState({ speed });
  },
  runStarted(summary: RunSummary): void {
    labStore.setState((state) => ({ runs: { ...state.runs, [summary.runId]: summary }, currentRunId: summary.runId, lastError: undefined }));
  },
  runUpdated(summary: RunSummary): void {
    labStore.setState((state) => {
      const known = state.runs[summary.runId];
      // A late progress message must not undo a finished run.
      if (known && known.status !== 'running' && summary.status === 'running') return state;
      return { runs: { ...state.runs, [summary.runId]: summary } };
    });
  },
  projectionUpdated(update: PushOf<'projection.updated'>): void {
    labStore.setState((state) => ({
      projections: {
        ...state.projections,
        [update.runId]: {
          ...state.projections[update.runId],
          [update.projection]: { checkpoint: update.checkpoint, state: update.state },
        },
      },
    }));
  },
  setError(message: string | undefined): void {
    labStore.setState({ lastError: message });
  },
};
