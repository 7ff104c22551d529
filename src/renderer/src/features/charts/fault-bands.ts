/**
 * Fault windows as translucent bands behind a chart drawn over virtual seconds: one d3 helper for
 * every such chart (the run panel's throughput, the time-travel metrics). A band spans the
 * fault's window; an open window runs to the chart's right edge, and an instant (a kill) is a
 * thin band. Each band carries a title (kind and window) as its tooltip.
 */
import { select } from 'd3';
import type { FaultWindow } from '../../../../shared/api.ts';

export interface FaultBandGeometry {
  /** Virtual seconds to x. */
  readonly x: (seconds: number) => number;
  /** The plot's top and bottom in svg units. */
  readonly top: number;
  readonly bottom: number;
  /** The right edge of what the chart has drawn, in virtual seconds: open windows run to it, later parts are cut. */
  readonly openEndSeconds: number;
}

/** The narrowest band, in svg units (an instant fault stays visible). */
const minBandWidth = 3;

/** Seconds for people: 12 s, 12.5 s. */
function seconds(us: number): string {
  const value = Math.round(us / 100_000) / 10;
  return `${value} s`;
}

/** A fault's window as text: "12 s – 22 s", "12 s – (open)", "at 12 s". */
export function faultWindowText(fault: Pick<FaultWindow, 'startUs' | 'endUs' | 'kind'>): string {
  if (fault.endUs === null) return fault.kind.endsWith('-kill') ? `at ${seconds(fault.startUs)}` : `${seconds(fault.startUs)} – (open)`;
  return `${seconds(fault.startUs)} – ${seconds(fault.endUs)}`;
}

/** The band's tooltip: kind, window and what it did. */
export function faultBandTitle(fault: FaultWindow): string {
  return `${fault.kind} ${faultWindowText(fault)}${fault.detail === '' ? '' : ` · ${fault.detail}`}`;
}

/** Windows from several sources without duplicates (same source and id), by start. */
export function mergeFaultWindows(...lists: readonly (readonly FaultWindow[] | undefined)[]): FaultWindow[] {
  const seen = new Map<string, FaultWindow>();
  for (const list of lists) for (const fault of list ?? []) seen.set(`${fault.source}:${fault.faultId}`, fault);
  return [...seen.values()].sort((a, b) => a.startUs - b.startUs);
}

/** The fault-windows projection's state (FaultInjected / FaultCleared in the log) as windows. */
export function logFaultWindows(state: unknown): FaultWindow[] {
  const windows = typeof state === 'object' && state !== null && Array.isArray((state as { windows?: unknown }).windows) ? (state as { windows: unknown[] }).windows : [];
  return windows.flatMap((item): FaultWindow[] => {
    if (typeof item !== 'object' || item === null) return [];
    const window = item as { faultId?: unknown; kind?: unknown; target?: unknown; startUs?: unknown; endUs?: unknown };
    if (typeof window.faultId !== 'string' || typeof window.kind !== 'string' || typeof window.startUs !== 'number') return [];
    return [{ faultId: window.faultId, kind: window.kind, detail: typeof window.target === 'string' ? `target ${window.target}` : '', startUs: window.startUs, endUs: typeof window.endUs === 'number' ? window.endUs : null, source: 'log' }];
  });
}

/** Draws (joins) the bands into `group`: one rect per fault, with its title. */
export function drawFaultBands(group: SVGGElement, faults: readonly FaultWindow[], geometry: FaultBandGeometry): void {
  const { x, top, bottom, openEndSeconds } = geometry;
  const span = (fault: FaultWindow): { left: number; width: number } => {
    const start = x(Math.min(fault.startUs / 1_000_000, openEndSeconds));
    const instant = fault.endUs === null && fault.kind.endsWith('-kill');
    const end = instant ? start : x(Math.min(fault.endUs === null ? openEndSeconds : fault.endUs / 1_000_000, openEndSeconds));
    const width = Math.max(minBandWidth, end - start);
    return { left: instant ? start - width / 2 : start, width };
  };
  select(group)
    .selectAll<SVGRectElement, FaultWindow>('rect.fault-band')
    .data(faults, (fault) => `${fault.source}:${fault.faultId}`)
    .join('rect')
    .attr('class', (fault) => `fault-band fault-band-${fault.source} fault-kind-${fault.kind.replace(/[^a-z0-9-]/gi, '')}`)
    .attr('data-fault-id', (fault) => fault.faultId)
    .attr('x', (fault) => span(fault).left)
    .attr('width', (fault) => span(fault).width)
    .attr('y', top)
    .attr('height', Math.max(0, bottom - top))
    .each(function (fault) {
      select(this)
        .selectAll<SVGTitleElement, FaultWindow>('title')
        .data([fault])
        .join('title')
        .text(faultBandTitle);
    });
}
