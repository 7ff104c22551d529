/**
 * A what-if fork at the seek position: one `set` (a path such as workload.orders.rate.perSecond
 * and a value, read as JSON when it parses, else as text) and a speed. The engine checks the
 * change; its error, naming the path, is shown here.
 */
import type { FormEvent } from 'react';
import type { TimeTravelCommands } from '../../engine/time-travel-bridge.ts';
import { timeTravelActions } from '../../state/time-travel-store.ts';
import { useTimeTravel } from '../../state/use-time-travel.ts';
import { formatCount } from '../projections/projection-format.ts';
import { controlSpeeds, speedLabel, speedValue } from './time-travel-math.ts';

export function ForkForm({ position, commands }: { position: number; commands: TimeTravelCommands }) {
  const fork = useTimeTravel((state) => state.fork);
  const submit = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    void commands.fork();
  };
  return (
    <form className="fork-form" onSubmit={submit} data-testid="fork-form" data-position={position}>
      <div className="fork-title">
        Fork at position <strong className="numeric">{formatCount(position)}</strong>
        <span className="muted small"> · the fork shares the events up to here, then applies the change</span>
      </div>
      <div className="fork-fields">
        <label className="filter-field">
          Set
          <input
            value={fork.path}
            placeholder="workload.orders.rate.perSecond"
            spellCheck={false}
            onChange={(event) => timeTravelActions.setForkField('path', event.target.value)}
            data-testid="fork-path"
          />
        </label>
        <label className="filter-field">
          to
          <input value={fork.value} placeholder='100 or {"profile":"poisson","perSecond":50}' spellCheck={false} onChange={(event) => timeTravelActions.setForkField('value', event.target.value)} data-testid="fork-value" />
        </label>
        <label className="filter-field">
          Speed
          <select value={fork.speed} onChange={(event) => timeTravelActions.setForkField('speed', event.target.value)} data-testid="fork-speed">
            {controlSpeeds.map((speed) => (
              <option key={speedValue(speed)} value={speedValue(speed)}>
                {speedLabel(speed)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="small-button fork-submit" disabled={fork.pending || (fork.path.trim() !== '' && fork.value.trim() === '')} data-testid="fork-submit">
          {fork.pending ? 'Forking…' : 'Start fork'}
        </button>
        <button type="button" className="small-button" onClick={() => timeTravelActions.openFork(false)} data-testid="fork-cancel">
          Cancel
        </button>
      </div>
      <p className="muted small fork-help">The value is read as JSON when it parses (100, true, {'{"profile":"poisson","perSecond":50}'}), else as text. Leave both empty for a fork with no change.</p>
      {fork.error === undefined ? null : (
        <p className="error small" role="alert" data-testid="fork-error">
          {fork.error}
        </p>
      )}
    </form>
  );
}
