/**
 * The virtualized event list: fixed-height rows, only the rows in view (plus overscan) in the
 * DOM, a scrollbar sized by the total, pages fetched as the rows come into view.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { BrowsedEvent } from '../../../../shared/api.ts';
import type { EventLogCommands } from '../../engine/event-log-bridge.ts';
import { eventLogActions, eventPageSize } from '../../state/event-log-store.ts';
import { useEventLog } from '../../state/use-event-log.ts';
import { firstRowAt, scaled, scrollHeight, scrollTopFor, visibleRows, type ListGeometry } from './virtual-scroll.ts';

export const rowHeight = 26;
const viewportHeight = 520;
const overscan = 12;
/** Below every browser's cap on an element's height; a taller list is scaled (virtual-scroll.ts). */
const maxScrollHeight = 15_000_000;

export function formatVirtualTime(us: number): string {
  return `${(us / 1_000_000).toFixed(6)} s`;
}

function preview(event: BrowsedEvent): string {
  const text = typeof event.payload === 'string' && event.payloadError !== undefined ? event.payload : JSON.stringify(event.payload);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

export function EventList({ commands }: { commands: EventLogCommands }) {
  const total = useEventLog((state) => state.total);
  const pages = useEventLog((state) => state.pages);
  const generation = useEventLog((state) => state.generation);
  const selectedPosition = useEventLog((state) => state.selected?.position);
  const scrollRequest = useEventLog((state) => state.scrollRequest);
  const container = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const geometry = useMemo<ListGeometry>(() => ({ total: total ?? 0, rowHeight, viewportHeight, maxScrollHeight }), [total]);
  const rows = visibleRows(scrollTop, geometry, overscan);

  useEffect(() => {
    commands.ensureRows(rows.first, total === undefined ? -1 : rows.last);
  }, [commands, rows.first, rows.last, generation, total, pages]);

  useEffect(() => {
    const element = container.current;
    if (scrollRequest === undefined || element === null) return;
    element.scrollTop = scrollTopFor(scrollRequest.index, geometry);
    setScrollTop(element.scrollTop);
    eventLogActions.scrollDone(scrollRequest.serial);
  }, [scrollRequest, geometry]);

  // A scaled list (more rows than the scroll height holds) moves by rows on the wheel, not by
  // scaled pixels, so that reading it stays row by row.
  useEffect(() => {
    const element = container.current;
    if (element === null || !scaled(geometry)) return;
    const onWheel = (event: WheelEvent): void => {
      event.preventDefault();
      const rowsMoved = event.deltaMode === 1 ? event.deltaY : event.deltaMode === 2 ? (event.deltaY * viewportHeight) / rowHeight : event.deltaY / rowHeight;
      element.scrollTop = scrollTopFor(firstRowAt(element.scrollTop, geometry) + rowsMoved, geometry);
    };
    element.addEventListener('wheel', onWheel, { passive: false });
    return () => element.removeEventListener('wheel', onWheel);
  }, [geometry]);

  const rendered = [];
  for (let index = rows.first; index <= rows.last; index++) {
    const event = pages[Math.floor(index / eventPageSize)]?.[index % eventPageSize];
    const style = { top: rows.top(index), height: rowHeight };
    rendered.push(
      event === undefined ? (
        <div key={index} className="event-row pending" style={style} data-testid="event-row-pending" data-index={index}>
          <span className="cell-position muted">…</span>
        </div>
      ) : (
        <div
          key={index}
          className={event.position === selectedPosition ? 'event-row selected' : 'event-row'}
          style={style}
          role="row"
          aria-selected={event.position === selectedPosition}
          onClick={() => eventLogActions.select(event)}
          data-testid="event-row"
          data-index={index}
          data-position={event.position}
          data-type={event.type}
          data-stream={event.stream}
        >
          <span className="cell-position">{event.position.toLocaleString('en')}</span>
          <span className="cell-time">{formatVirtualTime(event.virtualTimeUs)}</span>
          <span className="cell-stream" title={event.stream}>
            {event.stream}
            <span className="muted"> v{event.version}</span>
          </span>
          <span className="cell-type">{event.type}</span>
          <span className={event.payloadError === undefined ? 'cell-payload' : 'cell-payload error'} title={event.payloadError}>
            {preview(event)}
          </span>
        </div>
      ),
    );
  }

  return (
    <div className="event-table">
      <div className="event-row event-head" role="row">
        <span className="cell-position">position</span>
        <span className="cell-time">virtual time</span>
        <span className="cell-stream">stream</span>
        <span className="cell-type">type</span>
        <span className="cell-payload">payload</span>
      </div>
      <div
        className="event-list"
        ref={container}
        style={{ height: viewportHeight }}
        onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
        role="grid"
        aria-rowcount={total ?? 0}
        tabIndex={0}
        data-testid="event-list"
      >
        <div className="event-list-content" style={{ height: scrollHeight(geometry) }}>
          {rendered}
        </div>
        {total === 0 ? <p className="muted event-list-empty">No events match.</p> : null}
      </div>
    </div>
  );
}
