import type { EngineCommands } from './engine/engine-bridge.ts';
import { DebatesView } from './features/debates/DebatesView.tsx';
import { DrillsView } from './features/drills/DrillsView.tsx';
import { EngineStatusBadge } from './features/engine/EngineStatusBadge.tsx';
import { EventLogView } from './features/event-log/EventLogView.tsx';
import { ProjectionsView } from './features/projections/ProjectionsView.tsx';
import { RunControls, RunView } from './features/run/RunPanel.tsx';
import { ScenarioList } from './features/scenarios/ScenarioList.tsx';
import { SessionView } from './features/session/SessionView.tsx';
import { SyncBadge } from './features/session/SyncBadge.tsx';
import { TimeTravelView } from './features/time-travel/TimeTravelView.tsx';
import { drillsActions } from './state/drills-store.ts';
import { eventLogActions } from './state/event-log-store.ts';
import { useDrills } from './state/use-drills.ts';
import { useEventLog } from './state/use-event-log.ts';
import { useLab } from './state/use-lab.ts';
import { sessionActions } from './state/session-store.ts';
import { useSession } from './state/use-session.ts';

export function App({ commands }: { commands: EngineCommands }) {
  const engineState = useLab((state) => state.engine.state);
  const link = useLab((state) => state.link);
  const view = useEventLog((state) => state.view);
  const drillsShown = useDrills((state) => state.shown);
  const sessionShown = useSession((state) => state.shown);
  const overlay = drillsShown || sessionShown;
  // The Drills and Session tabs lie over the others' view: choosing another tab hides them.
  const tab = (name: typeof view): { selected: boolean; className: string } => ({ selected: !overlay && view === name, className: !overlay && view === name ? 'tab active' : 'tab' });
  const showSession = (): void => {
    drillsActions.hide();
    void commands.session.show();
  };
  return (
    <div className="app">
      <header className="topbar">
        <h1>
          AURA Lab <span className="muted">simulation lab</span>
        </h1>
        <div className="topbar-badges">
          <SyncBadge onOpen={showSession} />
          <EngineStatusBadge />
        </div>
      </header>
      {engineState === 'restarting' && link === 'open' ? (
        <div className="banner" data-testid="engine-restarting" role="status">
          The engine stopped unexpectedly and is restarting. The page stays up; runs that were live are marked interrupted.
        </div>
      ) : null}
      <main className="layout">
        <aside>
          <ScenarioList />
          <RunControls commands={commands} />
        </aside>
        <div className="main-column">
          <nav className="tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab('run').selected} className={tab('run').className} onClick={() => { sessionActions.hide(); drillsActions.hide(); eventLogActions.showView('run'); }} data-testid="tab-run">
              Run
            </button>
            <button type="button" role="tab" aria-selected={tab('events').selected} className={tab('events').className} onClick={() => { sessionActions.hide(); drillsActions.hide(); void commands.eventLog.show(); }} data-testid="tab-event-log">
              Event log
            </button>
            <button type="button" role="tab" aria-selected={tab('projections').selected} className={tab('projections').className} onClick={() => { sessionActions.hide(); drillsActions.hide(); void commands.projections.show(); }} data-testid="tab-projections">
              Projections
            </button>
            <button type="button" role="tab" aria-selected={tab('time-travel').selected} className={tab('time-travel').className} onClick={() => { sessionActions.hide(); drillsActions.hide(); void commands.timeTravel.show(); }} data-testid="tab-time-travel">
              Time travel
            </button>
            <button type="button" role="tab" aria-selected={tab('debates').selected} className={tab('debates').className} onClick={() => { sessionActions.hide(); drillsActions.hide(); void commands.debates.show(); }} data-testid="tab-debates">
              Debates
            </button>
            <button type="button" role="tab" aria-selected={drillsShown && !sessionShown} className={drillsShown && !sessionShown ? 'tab active' : 'tab'} onClick={() => { sessionActions.hide(); void commands.drills.show(); }} data-testid="tab-drills">
              Drills
            </button>
            <button type="button" role="tab" aria-selected={sessionShown} className={sessionShown ? 'tab active' : 'tab'} onClick={showSession} data-testid="tab-session">
              Session
            </button>
          </nav>
          {sessionShown ? (
            <SessionView commands={commands.session} />
          ) : drillsShown ? (
            <DrillsView commands={commands.drills} />
          ) : view === 'run' ? (
            <RunView commands={commands} />
          ) : view === 'events' ? (
            <EventLogView commands={commands.eventLog} />
          ) : view === 'projections' ? (
            <ProjectionsView commands={commands.projections} />
          ) : view === 'time-travel' ? (
            <TimeTravelView commands={commands.timeTravel} />
          ) : (
            <DebatesView commands={commands.debates} />
          )}
        </div>
      </main>
    </div>
  );
}
