/** The event log browser: pick a run, filter, scroll a million events, inspect one, verify the log. */
import { useState } from 'react';
import type { EventLogCommands } from '../../engine/event-log-bridge.ts';
import { eventLogActions, isFiltered, noFilter } from '../../state/event-log-store.ts';
import { useEventLog } from '../../state/use-event-log.ts';
import { useLab } from '../../state/use-lab.ts';
import { RunPicker } from '../runs/RunPicker.tsx';
import { EventInspector } from './EventInspector.tsx';
import { EventList } from './EventList.tsx';
import { IntegrityBadge } from './IntegrityBadge.tsx';

export function EventLogView({ commands }: { commands: EventLogCommands }) {
  const runId = useEventLog((state) => state.runId);
  const history = useEventLog((state) => state.history);
  const historyError = useEventLog((state) => state.historyError);
  const error = useEventLog((state) => state.error);
  const entry = history.find((run) => run.runId === runId);
  const labStatus = useLab((state) => (runId === undefined ? undefined : state.runs[runId]?.status));
  const live = labStatus === undefined ? (entry?.live ?? false) : labStatus === 'running';
  return (
    <section className="panel event-log" data-testid="event-log" data-run-id={runId ?? ''}>
      <header className="event-log-header">
        <h2>Event log</h2>
        <RunPicker runId={runId} onPick={(picked) => void commands.openRun(picked)} testId="event-log-run" />
        <button type="button" onClick={() => void commands.refreshHistory()} data-testid="refresh-history" title="Look for runs again">
          Refresh
        </button>
        {runId === undefined ? null : <IntegrityBadge runId={runId} live={live} commands={commands} />}
      </header>
      {historyError ? <p className="error">{historyError}</p> : null}
      {error ? (
        <p className="error" data-testid="event-log-error">
          {error}
        </p>
      ) : null}
      {runId === undefined ? (
        <p className="muted">Pick a run to browse its events: every event of the log, filtered by stream or type, with its payload.</p>
      ) : (
        <>
          <FilterBar key={runId} commands={commands} />
          <ListToolbar commands={commands} />
          <div className="event-log-body">
            <EventList commands={commands} />
            <EventInspector />
          </div>
        </>
      )}
    </section>
  );
}

function FilterBar({ commands }: { commands: EventLogCommands }) {
  const facets = useEventLog((state) => state.facets);
  const filter = useEventLog((state) => state.filter);
  const [stream, setStream] = useState(filter.stream ?? '');
  const applyStream = (): void => {
    const value = stream.trim() === '' ? undefined : stream.trim();
    if (value !== filter.stream) void commands.setFilter({ ...filter, stream: value });
  };
  const toggleType = (name: string): void => {
    const types = filter.types.includes(name) ? filter.types.filter((type) => type !== name) : [...filter.types, name];
    void commands.setFilter({ ...filter, types });
  };
  const filtered = isFiltered(filter);
  return (
    <div className="filter-bar" data-testid="filter-bar">
      <label className="filter-field">
        Category
        <select value={filter.category ?? ''} onChange={(event) => void commands.setFilter({ ...filter, category: event.target.value === '' ? undefined : event.target.value })} data-testid="filter-category">
          <option value="">all categories</option>
          {facets?.categories.map((category) => (
            <option key={category.name} value={category.name}>
              {category.name} ({category.count.toLocaleString('en')})
            </option>
          ))}
        </select>
      </label>
      <label className="filter-field">
        Stream
        <input
          value={stream}
          placeholder={facets ? `one of ${facets.streams.toLocaleString('en')} streams, e.g. order-1` : 'stream name'}
          onChange={(event) => setStream(event.target.value)}
          onBlur={applyStream}
          onKeyDown={(event) => {
            if (event.key === 'Enter') applyStream();
          }}
          data-testid="filter-stream"
        />
      </label>
      <div className="type-filters" role="group" aria-label="Event types">
        {facets?.types.map((type) => (
          <label key={type.name} className={filter.types.includes(type.name) ? 'type-chip active' : 'type-chip'}>
            <input type="checkbox" checked={filter.types.includes(type.name)} onChange={() => toggleType(type.name)} data-testid={`filter-type-${type.name}`} />
            {type.name} <span className="muted">{type.count.toLocaleString('en')}</span>
          </label>
        ))}
      </div>
      {filtered ? (
        <button
          type="button"
          onClick={() => {
            setStream('');
            void commands.setFilter(noFilter);
          }}
          data-testid="clear-filters"
        >
          Clear filters
        </button>
      ) : null}
    </div>
  );
}

function ListToolbar({ commands }: { commands: EventLogCommands }) {
  const total = useEventLog((state) => state.total);
  const headPosition = useEventLog((state) => state.headPosition);
  const filtered = useEventLog((state) => isFiltered(state.filter));
  const [position, setPosition] = useState('');
  const jump = (): void => {
    const value = Number(position.replace(/[,_\s]/g, ''));
    if (Number.isSafeInteger(value) && value >= 1) void commands.jumpToPosition(value);
  };
  return (
    <div className="list-toolbar">
      <span data-testid="event-total" data-total={total ?? ''}>
        {total === undefined ? 'counting…' : `${total.toLocaleString('en')} ${filtered ? 'matching events' : 'events'}`}
      </span>
      <span className="muted" data-testid="event-head" data-head={headPosition}>
        head {headPosition.toLocaleString('en')}
      </span>
      <span className="spacer" />
      <button type="button" disabled={!total} onClick={() => eventLogActions.scrollTo(0)} data-testid="jump-start">
        ⇤ Start
      </button>
      <button type="button" disabled={!total} onClick={() => eventLogActions.scrollTo(Math.max(0, (total ?? 1) - 1))} data-testid="jump-end">
        End ⇥
      </button>
      <input
        className="jump-input"
        value={position}
        placeholder="position"
        inputMode="numeric"
        onChange={(event) => setPosition(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter') jump();
        }}
        data-testid="jump-position"
        aria-label="Jump to position"
      />
      <button type="button" disabled={!total} onClick={jump} data-testid="jump-go">
        Go
      </button>
    </div>
  );
}
