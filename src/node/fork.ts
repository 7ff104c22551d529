/**
 * What-if forks: a new run that shares a recorded run's first `at` events and then differs by
 * parameter changes. A fork is the source run's scenario, seed and operator actions up to `at`,
 * plus one `set` action per change at `at`: the kernel reproduces the shared prefix exactly, and
 * a replay of the fork needs nothing but its own manifest.
 */
import type { JsonValue } from '../core/kernel/canonical.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { applySet, type RecordedAction } from '../core/sim/operator.ts';
import type { Scenario } from '../core/sim/scenario.ts';
import { EventReader } from './event-reader.ts';
import { readRunManifest, type RunManifest } from './run-manifest.ts';
import { runFiles } from './run-files.ts';
import { parseScenarioText } from './scenario-loader.ts';
import { openDatabase } from './sqlite-schema.ts';

export interface ForkPlan {
  readonly manifest: RunManifest;
  readonly scenario: Scenario;
  readonly scenarioText: string;
  readonly seed: number;
  readonly actions: RecordedAction[];
  readonly at: number;
  readonly virtualTimeUs: number;
}

/**
 * @param liveActions the source's actions when it is still running (its manifest lists them only
 *   once it has ended).
 */
export function planFork(sourceDir: string, at: number, sets: readonly { path: string; value: JsonValue }[], liveActions?: readonly RecordedAction[]): ForkPlan {
  const manifest = readRunManifest(sourceDir);
  // A chaos experiment's faults come from its experiment, not from the scenario and actions a
  // fork replays: such a fork would share the prefix and then leave the faults out.
  if (manifest.experiment !== undefined) {
    throw new AuraError('validation', `${manifest.runId} is a chaos experiment's run: a fork replays a scenario and its operator actions, without the experiment's faults; run the experiment again with the change instead (aura-lab experiment run)`, [{ path: ['run'], message: 'a chaos experiment run' }]);
  }
  const scenario = parseScenarioText(manifest.scenario.text, `${runFiles.manifest(sourceDir)} (scenario.text)`);
  const db = openDatabase(runFiles.eventLog(sourceDir), { readonly: true });
  let virtualTimeUs: number;
  let completedAt: number;
  try {
    const reader = new EventReader(db);
    const row = reader.rawAt(at);
    completedAt = (db.prepare("SELECT coalesce(min(position), 0) AS p FROM events WHERE type_id = (SELECT type_id FROM event_types WHERE name = 'RunCompleted')").get() as { p: number }).p;
    if (!Number.isInteger(at) || at < 1 || row === undefined) {
      const head = (db.prepare('SELECT coalesce(max(position), 0) AS head FROM events').get() as { head: number }).head;
      throw new AuraError('validation', `--at ${at}: expected a position between 1 and ${head} of ${manifest.runId}`, [{ path: ['at'], message: `expected 1..${head}` }]);
    }
    virtualTimeUs = row[7];
  } finally {
    db.close();
  }
  if (completedAt > 0 && at >= completedAt) {
    throw new AuraError('validation', `--at ${at}: the run completed at position ${completedAt}; fork before it`, [{ path: ['at'], message: `expected a position before ${completedAt}` }]);
  }
  const actions = (liveActions ?? manifest.actions).filter((action) => action.sequence < at);
  // The scenario as the recorded actions had left it at `at`, then each change in turn: a bad
  // path or value is refused here, before anything is written.
  let current = scenario;
  for (const recorded of actions) {
    if (recorded.action.kind === 'set') current = applySet(current, recorded.action.path, recorded.action.value).scenario;
  }
  sets.forEach((set, index) => {
    current = applySet(current, set.path, set.value).scenario;
    actions.push({ sequence: at + index, virtualTimeUs, action: { kind: 'set', path: set.path, value: set.value } });
  });
  return { manifest, scenario, scenarioText: manifest.scenario.text, seed: manifest.seed, actions, at, virtualTimeUs };
}
