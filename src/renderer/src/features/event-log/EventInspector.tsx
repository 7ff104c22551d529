/** The payload inspector: the selected event's metadata and its payload as formatted JSON. */
import { eventLogActions } from '../../state/event-log-store.ts';
import { useEventLog } from '../../state/use-event-log.ts';
import { formatVirtualTime } from './EventList.tsx';

export function EventInspector() {
  const event = useEventLog((state) => state.selected);
  if (event === undefined) {
    return (
      <aside className="inspector empty" data-testid="event-inspector" data-empty="true">
        <p className="muted">Click an event to inspect its payload and metadata.</p>
      </aside>
    );
  }
  const metadata: [string, string][] = [
    ['position', event.position.toLocaleString('en')],
    ['stream', event.stream],
    ['version', String(event.version)],
    ['type', event.type],
    ['schema version', String(event.schemaVersion)],
    ['virtual time', formatVirtualTime(event.virtualTimeUs)],
    ['id', event.id],
    ...(event.causationId === undefined ? [] : [['causation id', event.causationId] as [string, string]]),
    ...(event.correlationId === undefined ? [] : [['correlation id', event.correlationId] as [string, string]]),
  ];
  const payloadText = event.payloadError !== undefined && typeof event.payload === 'string' ? event.payload : JSON.stringify(event.payload, null, 2);
  return (
    <aside className="inspector" data-testid="event-inspector" data-position={event.position}>
      <header className="inspector-header">
        <h3>
          {event.type} <span className="muted">#{event.position.toLocaleString('en')}</span>
        </h3>
        <button type="button" className="icon" onClick={() => eventLogActions.select(undefined)} aria-label="Close the inspector" data-testid="inspector-close">
          ×
        </button>
      </header>
      <dl className="inspector-meta" data-testid="inspector-meta">
        {metadata.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <h4>Payload</h4>
      {event.payloadError !== undefined ? <p className="error small">{event.payloadError}</p> : null}
      <pre className="inspector-payload" data-testid="inspector-payload">
        {payloadText}
      </pre>
    </aside>
  );
}
