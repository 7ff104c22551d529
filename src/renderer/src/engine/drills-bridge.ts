/**
 * The Drills tab's requests: the drills and the fault catalogue, starting a drill, a game-day
 * trainee's runbook actions, giving up, and a finished drill's debriefs (Markdown and HTML,
 * asked for once the drill ends). Drill states come as `drill.progress` pushes.
 */
import type { DrillRunbookAction, InjectFault } from '../../../shared/api.ts';
import { ApiRequestError, type ApiClient } from '../../../shared/client.ts';
import { drillsActions, drillsStore, registerInjectCommands, type InjectForm } from '../state/drills-store.ts';
import { labStore } from '../state/lab-store.ts';
import { eventLogStore } from '../state/event-log-store.ts';
import { parseSeed } from '../features/drills/drill-format.ts';
import { describeError } from './describe-error.ts';

export interface DrillsCommands {
  /** Shows the tab and asks for the drills and the catalogue (once they are loaded, not again). */
  show(): Promise<void>;
  refresh(): Promise<void>;
  /** Starts the drill the form names. */
  start(): Promise<void>;
  /** The trainee's runbook action on the drill on screen. */
  action(action: DrillRunbookAction): Promise<void>;
  /** Gives up the game day on screen. */
  abort(): Promise<void>;
  /** Shows another drill of this session. */
  open(drillId: string): Promise<void>;
  /** Injects the fault the Inject now form names into its live run (chaos.inject). */
  inject(): Promise<void>;
  /** Asks for a run's generators (its RunStarted event), for the load-spike form. */
  loadGenerators(runId: string): void;
}

/** The run the Inject now form aims at: the one it names, else the run panel's current run. */
export function injectTarget(form: InjectForm): string | undefined {
  return form.runId ?? labStore.getState().currentRunId;
}

/** The form as a fault, or a message naming the bad field (checked again by the engine). */
export function faultFromForm(form: InjectForm): { ok: true; fault: InjectFault } | { ok: false; path: string; message: string } {
  if (form.kind !== 'load-spike') return { ok: true, fault: { kind: form.kind } };
  const factor = Number(form.factor);
  if (form.factor.trim() === '' || !Number.isFinite(factor)) return { ok: false, path: 'fault.factor', message: 'expected a number greater than 1, at most 100' };
  return { ok: true, fault: { kind: 'load-spike', generator: form.generator.trim(), factor, duration: form.duration.trim() } };
}

/** The fault windows of a run as the engine lists them; fromSecond far ahead keeps the series out. */
const faultsOnlyFromSecond = 1_000_000_000;

export function bindDrills(client: ApiClient): DrillsCommands {
  const loadDebriefs = (drillId: string): void => {
    for (const format of ['markdown', 'html'] as const) {
      const known = drillsStore.getState().debriefs[drillId]?.[format];
      if (known !== undefined && (known.state === 'loading' || known.state === 'loaded')) continue;
      drillsActions.debriefLoading(drillId, format);
      client.request('drill.debrief', { drillId, format }).then(
        ({ text }) => drillsActions.debriefLoaded(drillId, format, text),
        (error: unknown) => drillsActions.debriefFailed(drillId, format, describeError(error)),
      );
    }
  };

  const commands: DrillsCommands = {
    async show() {
      drillsActions.show();
      const { drills, catalogue } = drillsStore.getState();
      if (drills.state !== 'loaded' || catalogue.state !== 'loaded') await commands.refresh();
    },
    async refresh() {
      drillsActions.drillsLoading();
      await Promise.all([
        client.request('drills.list', {}).then(
          ({ drills }) => drillsActions.drillsLoaded(drills),
          (error: unknown) => drillsActions.drillsFailed(describeError(error)),
        ),
        client.request('chaos.catalogue', {}).then(
          ({ faults }) => drillsActions.catalogueLoaded(faults),
          (error: unknown) => drillsActions.catalogueFailed(describeError(error)),
        ),
      ]);
    },
    async start() {
      const { form } = drillsStore.getState();
      if (form.drill === undefined) return;
      const seed = parseSeed(form.seed);
      if (!seed.ok) {
        drillsActions.setError(seed.message);
        return;
      }
      drillsActions.starting();
      try {
        const { drillId } = await client.request('drill.start', { drill: form.drill, mode: form.mode, ...(seed.seed === undefined ? {} : { seed: seed.seed }) });
        drillsActions.started(drillId);
      } catch (error) {
        drillsActions.setError(describeError(error));
      }
    },
    async action(action) {
      const { currentId } = drillsStore.getState();
      if (currentId === undefined) return;
      drillsActions.actionTaken(currentId, { action, accepted: undefined });
      try {
        drillsActions.actionAnswered(currentId, action, await client.request('drill.action', { drillId: currentId, action }));
      } catch (error) {
        drillsActions.actionAnswered(currentId, action, { error: describeError(error) });
      }
    },
    async abort() {
      const { currentId } = drillsStore.getState();
      if (currentId === undefined) return;
      try {
        await client.request('drill.abort', { drillId: currentId });
      } catch (error) {
        drillsActions.setError(describeError(error));
      }
    },
    async open(drillId) {
      drillsActions.open(drillId);
      const known = drillsStore.getState().states[drillId];
      if (known !== undefined && known.status !== 'running') loadDebriefs(drillId);
    },
    async inject() {
      const { form } = drillsStore.getState().inject;
      const runId = injectTarget(form);
      if (runId === undefined) {
        drillsActions.injectFailed(undefined, { code: 'conflict', message: 'no live run: start a run first', path: undefined });
        return;
      }
      const fault = faultFromForm(form);
      if (!fault.ok) {
        drillsActions.injectFailed(runId, { code: 'validation', message: fault.message, path: fault.path });
        return;
      }
      drillsActions.injecting();
      try {
        const result = await client.request('chaos.inject', { runId, fault: fault.fault });
        drillsActions.injected(runId, result);
        if (result.kind !== 'engine-kill') loadFaults(runId);
      } catch (error) {
        if (error instanceof ApiRequestError) {
          const issue = error.issues[0];
          drillsActions.injectFailed(runId, { code: error.code, message: error.message, path: issue === undefined ? undefined : issue.path.join('.') });
        } else {
          drillsActions.injectFailed(runId, { code: 'internal', message: describeError(error), path: undefined });
        }
      }
    },
    loadGenerators(runId) {
      client.request('events.read', { runId, fromPosition: 1, limit: 1 }).then(
        ({ events }) => {
          const payload = events[0]?.type === 'RunStarted' ? (events[0].payload as { generators?: unknown }) : undefined;
          const generators = Array.isArray(payload?.generators) ? payload.generators.filter((item): item is string => typeof item === 'string') : [];
          drillsActions.generatorsLoaded(runId, generators);
        },
        () => undefined,
      );
    },
  };

  /** The engine's list of the run's fault windows (injected and from its log), for the chart bands. */
  const loadFaults = (runId: string): void => {
    client.request('telemetry.get', { runId, fromSecond: faultsOnlyFromSecond }).then(
      ({ faults }) => {
        if (faults !== undefined) drillsActions.faultsLoaded(runId, faults);
      },
      () => undefined,
    );
  };
  registerInjectCommands(commands);

  client.on('drill.progress', (drill) => {
    drillsActions.stateReceived(drill, performance.now());
    if (drill.status === 'passed' || drill.status === 'failed') loadDebriefs(drill.drillId);
  });
  // A run with injected faults ends: its windows as the engine closed them (a spike cut short by the end).
  client.on('run.finished', (summary) => {
    if (drillsStore.getState().faults[summary.runId] !== undefined) loadFaults(summary.runId);
  });
  client.on('engine.status', (status) => {
    if (status.state !== 'ready') return;
    if (drillsStore.getState().shown) void commands.refresh();
    // A drill that was running when the engine went away: still there, or lost with it.
    for (const drill of Object.values(drillsStore.getState().states)) {
      if (drill.status !== 'running') continue;
      client.request('drill.get', { drillId: drill.drillId }).then(
        (state) => drillsActions.stateReceived(state, performance.now()),
        (error: unknown) => {
          if (error instanceof ApiRequestError && error.code === 'not_found') drillsActions.drillLost(drill.drillId, 'the engine restarted: the drill was lost with it');
        },
      );
    }
  });
  // Another tab chosen: the Drills tab steps aside.
  eventLogStore.subscribe((state, previous) => {
    if (state.view !== previous.view) drillsActions.hide();
  });
  return commands;
}
