import { labActions } from '../../state/lab-store.ts';
import { useLab } from '../../state/use-lab.ts';

function formatDuration(durationUs: number): string {
  const seconds = durationUs / 1_000_000;
  return seconds >= 60 ? `${(seconds / 60).toFixed(seconds % 60 === 0 ? 0 : 1)} min` : `${seconds} s`;
}

export function ScenarioList() {
  const scenarios = useLab((state) => state.scenarios);
  const selected = useLab((state) => state.selectedScenario);
  const error = useLab((state) => state.scenariosError);
  return (
    <section className="panel">
      <h2>Scenarios</h2>
      {error ? <p className="error">{error}</p> : null}
      {scenarios.length === 0 && !error ? <p className="muted">No scenarios yet.</p> : null}
      <ul className="scenario-list" data-testid="scenario-list">
        {scenarios.map((scenario) => (
          <li key={scenario.file}>
            <button
              type="button"
              className={scenario.file === selected ? 'scenario selected' : 'scenario'}
              disabled={scenario.error !== undefined}
              onClick={() => labActions.selectScenario(scenario.file)}
              data-testid={`scenario-${scenario.name}`}
              data-file={scenario.file}
              title={scenario.error ?? scenario.description}
            >
              <span className="scenario-name">{scenario.name}</span>
              <span className="muted">
                {scenario.error ? 'invalid: see tooltip' : `${formatDuration(scenario.durationUs)} · seed ${scenario.seed} · ${scenario.file}`}
              </span>
              {scenario.description && !scenario.error ? <span className="scenario-description">{scenario.description}</span> : null}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
