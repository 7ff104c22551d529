/** Wires the engine connection to the store, and turns UI intents into API requests. */
import type { ApiClient } from '../../../shared/client.ts';
import { labActions, labStore } from '../state/lab-store.ts';
import type { EngineConnection } from './connection.ts';
import { bindDebates, type DebatesCommands } from './debates-bridge.ts';
import { describeError as describe } from './describe-error.ts';
import { bindDrills, type DrillsCommands } from './drills-bridge.ts';
import { startingSummary } from './starting-summary.ts';
import { bindEventLog, type EventLogCommands } from './event-log-bridge.ts';
import { bindProjections, type ProjectionsCommands } from './projections-bridge.ts';
import { bindRunControl, type RunControlCommands } from './run-control-bridge.ts';
import { bindSession, type SessionCommands } from './session-bridge.ts';
import { bindTimeTravel, type TimeTravelCommands } from './time-travel-bridge.ts';

export interface EngineCommands {
  refreshScenarios(): Promise<void>;
  startRun(): Promise<void>;
  stopRun(runId: string): Promise<void>;
  readonly eventLog: EventLogCommands;
  readonly projections: ProjectionsCommands;
  readonly runControl: RunControlCommands;
  readonly timeTravel: TimeTravelCommands;
  readonly debates: DebatesCommands;
  readonly drills: DrillsCommands;
  readonly session: SessionCommands;
}


export function bindEngine(connection: EngineConnection): EngineCommands {
  const client: ApiClient = connection.client;
  const eventLog = bindEventLog(client);
  const commands: EngineCommands = {
    eventLog,
    projections: bindProjections(client, eventLog),
    runControl: bindRunControl(client),
    timeTravel: bindTimeTravel(client, eventLog),
    debates: bindDebates(client, eventLog),
    drills: bindDrills(client),
    session: bindSession(client, eventLog, () => commands.refreshScenarios()),
    async refreshScenarios() {
      try {
        const { scenarios } = await client.request('scenarios.list', {});
        labActions.setScenarios(scenarios);
      } catch (error) {
        labActions.setScenariosError(describe(error));
      }
    },
    async startRun() {
      const { selectedScenario, seed, speed } = labStore.getState();
      if (selectedScenario === undefined) return;
      try {
        const seedValue = seed.trim() === '' ? undefined : Number(seed);
        if (seedValue !== undefined && (!Number.isSafeInteger(seedValue) || seedValue < 0)) {
          labActions.setError(`seed must be a non-negative integer, got ${JSON.stringify(seed)}`);
          return;
        }
        const started = await client.request('run.start', {
          scenario: selectedScenario,
          speed: speed === 'max' ? 'max' : Number(speed),
          ...(seedValue === undefined ? {} : { seed: seedValue }),
        });
        const initial = startingSummary(started, speed === 'max' ? 'max' : Number(speed));
        labActions.runStarted(labStore.getState().runs[started.runId] ?? initial);
      } catch (error) {
        labActions.setError(describe(error));
      }
    },
    async stopRun(runId: string) {
      try {
        labActions.runUpdated(await client.request('run.stop', { runId }));
      } catch (error) {
        labActions.setError(describe(error));
      }
    },
  };

  client.on('engine.status', (status) => {
    labActions.setEngineStatus(status);
    if (status.state === 'ready') void commands.refreshScenarios();
  });
  client.on('run.progress', (summary) => labActions.runUpdated(summary));
  client.on('run.finished', (summary) => labActions.runUpdated(summary));
  client.on('projection.updated', (update) => labActions.projectionUpdated(update));
  connection.onState((state) => labActions.setLink(state));
  return commands;
}
