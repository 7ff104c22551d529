/** The Drills tab: the drill console (with the live scorecard), the debrief of a finished drill, and the chaos catalogue. */
import type { DrillsCommands } from '../../engine/drills-bridge.ts';
import { useDrills } from '../../state/use-drills.ts';
import { ChaosCatalogue } from './ChaosCatalogue.tsx';
import { DebriefView } from './DebriefView.tsx';
import { DrillConsole } from './DrillConsole.tsx';

export function DrillsView({ commands }: { commands: DrillsCommands }) {
  const current = useDrills((state) => (state.currentId === undefined ? undefined : state.states[state.currentId]));
  const debriefs = useDrills((state) => (state.currentId === undefined ? undefined : state.debriefs[state.currentId]));
  const finished = current !== undefined && (current.status === 'passed' || current.status === 'failed');
  return (
    <div className="drills" data-testid="drills-tab">
      <DrillConsole commands={commands} />
      {finished ? <DebriefView key={current.drillId} drill={current} debriefs={debriefs} /> : null}
      <ChaosCatalogue />
    </div>
  );
}
