/**
 * The run control bar's requests: pause, resume, step, speed and stop of a live run. Each
 * answers with the run's summary, which goes to the lab store like a progress push.
 */
import type { RunSummary } from '../../../shared/api.ts';
import type { ApiClient } from '../../../shared/client.ts';
import { labActions } from '../state/lab-store.ts';
import { runControlActions, type RunControlAction } from '../state/run-control-store.ts';
import type { Speed } from '../features/time-travel/time-travel-math.ts';
import { describeError } from './describe-error.ts';

export interface RunControlCommands {
  pause(runId: string): Promise<void>;
  resume(runId: string): Promise<void>;
  /** While paused: appends the next `events` events. */
  step(runId: string, events: number): Promise<void>;
  setSpeed(runId: string, speed: Speed): Promise<void>;
  stop(runId: string): Promise<void>;
}

export function bindRunControl(client: ApiClient): RunControlCommands {
  const act = async (runId: string, action: RunControlAction, request: () => Promise<RunSummary>): Promise<void> => {
    runControlActions.started(runId, action);
    try {
      labActions.runUpdated(await request());
      runControlActions.ended(runId, undefined);
    } catch (error) {
      runControlActions.ended(runId, describeError(error));
    }
  };
  return {
    pause: (runId) => act(runId, 'pause', () => client.request('run.pause', { runId })),
    resume: (runId) => act(runId, 'resume', () => client.request('run.resume', { runId })),
    step: (runId, events) => act(runId, 'step', () => client.request('run.step', { runId, events })),
    setSpeed: (runId, speed) => act(runId, 'speed', () => client.request('run.speed', { runId, speed })),
    // A stop answers once the run's projections have caught up: no request timeout.
    stop: (runId) => act(runId, 'stop', () => client.request('run.stop', { runId }, 0)),
  };
}
