/**
 * The Drills tab's requests: the drills and the fault catalogue, starting a drill, a game-day
 * trainee's runbook actions, giving up, and a finished drill's debriefs (Markdown and HTML,
 * asked for once the drill ends). Drill states come as `drill.progress` pushes.
 */
import type { DrillRunbookAction } from '../../../shared/api.ts';
import { ApiRequestError, type ApiClient } from '../../../shared/client.ts';
import { drillsActions, drillsStore } from '../state/drills-store.ts';
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
}

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
  };

  client.on('drill.progress', (drill) => {
    drillsActions.stateReceived(drill, performance.now());
    if (drill.status === 'passed' || drill.status === 'failed') loadDebriefs(drill.drillId);
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
