import { beforeEach, describe, expect, it } from 'vitest';
import type { BrowsedEvent, ResultOf } from '../../src/shared/api.ts';
import { firstRowAt, scrollHeight, scrollTopFor, visibleRows, type ListGeometry } from '../../src/renderer/src/features/event-log/virtual-scroll.ts';
import {
  apiFilter,
  eventLogActions,
  eventLogStore,
  eventPageSize,
  eventPagesKept,
  initialEventLogState,
  noFilter,
  pageRequest,
  prunePages,
} from '../../src/renderer/src/state/event-log-store.ts';

const event = (position: number): BrowsedEvent => ({ position, stream: 'order-1', version: position, id: 'ab', type: 'OrderPlaced', schemaVersion: 1, virtualTimeUs: 0, payload: {} });
const page = (firstPosition: number, length = eventPageSize): BrowsedEvent[] => Array.from({ length }, (_, index) => event(firstPosition + index));
const read = (events: BrowsedEvent[], total: number): ResultOf<'events.read'> => ({ events, total, offset: null, headPosition: total });

describe('virtual scroll geometry', () => {
  const exact: ListGeometry = { total: 1_000, rowHeight: 20, viewportHeight: 400, maxScrollHeight: 1_000_000 };
  const scaled: ListGeometry = { total: 1_000_002, rowHeight: 26, viewportHeight: 520, maxScrollHeight: 15_000_000 };

  it('maps scroll positions to rows one to one while the list fits', () => {
    expect(scrollHeight(exact)).toBe(20_000);
    expect(firstRowAt(200, exact)).toBe(10);
    expect(scrollTopFor(10, exact)).toBe(200);
    const rows = visibleRows(200, exact, 5);
    expect(rows.first).toBe(5);
    expect(rows.last).toBe(10 + 21 + 5);
    expect(rows.top(10)).toBe(200);
    expect(rows.top(11)).toBe(220);
  });

  it('scales a list taller than the cap, keeping rows their height and reaching both ends', () => {
    expect(scrollHeight(scaled)).toBe(15_000_000);
    expect(firstRowAt(0, scaled)).toBe(0);
    const end = visibleRows(15_000_000, scaled, 12);
    expect(end.last).toBe(1_000_001);
    // The last row's bottom is the bottom of the viewport at the end.
    expect(end.top(1_000_001) + 26).toBeCloseTo(15_000_000, 3);
    expect(end.top(1_000_001) - end.top(1_000_000)).toBeCloseTo(26, 6);
    // A jump puts the row at the top of the viewport.
    const middle = scrollTopFor(500_000, scaled);
    expect(firstRowAt(middle, scaled)).toBeCloseTo(500_000, 6);
    expect(visibleRows(middle, scaled, 0).top(500_000)).toBeCloseTo(middle, 6);
    // Only the rows in view and the overscan are rendered.
    const rows = visibleRows(middle, scaled, 12);
    expect(rows.last - rows.first + 1).toBeLessThan(60);
  });

  it('renders nothing for an empty list', () => {
    const rows = visibleRows(0, { ...exact, total: 0 }, 10);
    expect(rows.last).toBeLessThan(rows.first);
  });
});

describe('event log store', () => {
  beforeEach(() => eventLogStore.setState(initialEventLogState, true));

  it('asks for pages by offset, or after the previous full page when filtered', () => {
    expect(pageRequest(3, {}, false)).toEqual({ offset: 300 });
    expect(pageRequest(3, { 2: page(1_000) }, false)).toEqual({ offset: 300 });
    expect(pageRequest(3, { 2: page(1_000) }, true)).toEqual({ fromPosition: 1_100 });
    expect(pageRequest(3, { 2: page(1_000, 40) }, true)).toEqual({ offset: 300 });
    expect(pageRequest(0, {}, true)).toEqual({ offset: 0 });
  });

  it('keeps the pages nearest to the rows in view', () => {
    const pages = Object.fromEntries(Array.from({ length: eventPagesKept + 10 }, (_, index) => [index, page(index * eventPageSize + 1)]));
    const kept = Object.keys(prunePages(pages, 0)).map(Number);
    expect(kept).toHaveLength(eventPagesKept);
    expect(Math.max(...kept)).toBe(eventPagesKept - 1);
  });

  it('turns the UI filter into the API filter', () => {
    expect(apiFilter(noFilter)).toBeUndefined();
    expect(apiFilter({ types: ['A'], category: 'order', stream: 'order-1' })).toEqual({ types: ['A'], category: 'order', streams: ['order-1'] });
  });

  it('drops answers for a list that changed meanwhile, and short pages when the log grows', () => {
    eventLogActions.openRun('run-1');
    const { generation } = eventLogStore.getState();
    eventLogActions.pageLoaded(generation, 0, read(page(1), 150), 0);
    eventLogActions.pageLoaded(generation, 1, read(page(101, 50), 150), 0);
    expect(Object.keys(eventLogStore.getState().pages)).toEqual(['0', '1']);
    expect(eventLogStore.getState().total).toBe(150);
    // A live run grew: the short last page is asked for again.
    eventLogActions.totalUpdated(generation, 180, 180);
    expect(Object.keys(eventLogStore.getState().pages)).toEqual(['0']);
    expect(eventLogStore.getState().total).toBe(180);
    // A new filter: a new list; a late answer for the old one is ignored.
    eventLogActions.setFilter({ ...noFilter, types: ['OrderPlaced'] });
    eventLogActions.pageLoaded(generation, 2, read(page(201), 180), 0);
    expect(eventLogStore.getState().pages).toEqual({});
    expect(eventLogStore.getState().total).toBeUndefined();
    expect(eventLogStore.getState().scrollRequest?.index).toBe(0);
  });
});
