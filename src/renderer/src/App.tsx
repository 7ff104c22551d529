import type { EngineCommands } from './engine/engine-bridge.ts';
import { EngineStatusBadge } from './features/engine/EngineStatusBadge.tsx';
import { RunControls, RunView } from './features/run/RunPanel.tsx';
import { ScenarioList } from './features/scenarios/ScenarioList.tsx';
import { useLab } from './state/use-lab.ts';

export function App({ commands }: { commands: EngineCommands }) {
  const engineState = useLab((state) => state.engine.state);
  const link = useLab((state) => state.link);
  return (
    <div className="app">
      <header className="topbar">
        <h1>
          AURA Lab <span className="muted">simulation lab</span>
        </h1>
        <EngineStatusBadge />
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
        <RunView commands={commands} />
      </main>
    </div>
  );
}
