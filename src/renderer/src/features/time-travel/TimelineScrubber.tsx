/**
 * The scrubber: event density per slice of virtual time (d3, one bar per bucket of
 * run.timeline), the operator's actions as markers, and a cursor that seeks. Click or drag
 * anywhere on the chart (or use the arrow keys) to move it; a marker seeks to its action.
 */
import { axisBottom, axisLeft, select } from 'd3';
import { useEffect, useMemo, useRef, type KeyboardEvent, type PointerEvent } from 'react';
import type { SeekView } from '../../state/time-travel-store.ts';
import { formatCount } from '../projections/projection-format.ts';
import { barGeometry, bucketOfPosition, clientToViewBox, formatTickTime, formatVirtualTime, positionAtX, timelineScales, xOfPosition, type Box, type Timeline } from './time-travel-math.ts';

const box: Box = { width: 720, height: 160, margin: { top: 28, right: 16, bottom: 24, left: 44 } };

const actionColors: Record<string, string> = { RunPaused: '#d29922', RunResumed: '#3fb950', ParameterChanged: '#f0883e' };

export function TimelineScrubber({ timeline, seek, onSeek }: { timeline: Timeline; seek: SeekView | undefined; onSeek: (position: number) => void }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const dragging = useRef(false);
  const scales = useMemo(() => timelineScales(timeline, box), [timeline]);
  const bars = useMemo(() => barGeometry(timeline.buckets, scales), [timeline, scales]);
  const [baseline] = scales.y.range() as [number, number];

  useEffect(() => {
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(scales.x).ticks(8).tickFormat((value) => formatTickTime(Number(value), scales.x.domain()[1] ?? 0)));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(scales.y).ticks(3));
  }, [scales]);

  const position = seek?.position;
  const cursorX = position === undefined ? undefined : (xOfPosition(timeline, scales.x, position) ?? (seek?.result ? scales.x(seek.result.virtualTimeUs) : undefined));
  const head = timeline.headPosition;

  const seekAt = (clientX: number): void => {
    const svg = svgRef.current;
    if (svg === null || head === 0) return;
    const rect = svg.getBoundingClientRect();
    const next = positionAtX(timeline, scales.x, clientToViewBox(clientX, rect.left, rect.width, box.width));
    if (next !== position) onSeek(next);
  };

  const onPointerDown = (event: PointerEvent<SVGSVGElement>): void => {
    if (event.button !== 0) return;
    const marker = (event.target as Element).closest('[data-action-position]');
    if (marker !== null) {
      onSeek(Number(marker.getAttribute('data-action-position')));
      return;
    }
    dragging.current = true;
    event.currentTarget.setPointerCapture(event.pointerId);
    seekAt(event.clientX);
  };
  const onPointerMove = (event: PointerEvent<SVGSVGElement>): void => {
    if (dragging.current) seekAt(event.clientX);
  };
  const endDrag = (event: PointerEvent<SVGSVGElement>): void => {
    dragging.current = false;
    if (event.currentTarget.hasPointerCapture(event.pointerId)) event.currentTarget.releasePointerCapture(event.pointerId);
  };
  const onKeyDown = (event: KeyboardEvent<SVGSVGElement>): void => {
    if (head === 0) return;
    const current = position ?? 1;
    // Shift moves by a bucket's worth of events.
    const bucket = timeline.buckets[bucketOfPosition(timeline, current)];
    const step = event.shiftKey ? Math.max(1, bucket?.events ?? 1) : 1;
    const next = event.key === 'ArrowLeft' ? current - step : event.key === 'ArrowRight' ? current + step : event.key === 'Home' ? 1 : event.key === 'End' ? head : undefined;
    if (next === undefined) return;
    event.preventDefault();
    onSeek(Math.min(head, Math.max(1, next)));
  };

  return (
    <figure className="chart timeline" data-testid="timeline" data-head={head} data-live={timeline.live} data-buckets={timeline.buckets.length}>
      <svg
        ref={svgRef}
        className="timeline-svg"
        viewBox={`0 0 ${box.width} ${box.height}`}
        role="slider"
        tabIndex={0}
        aria-label="Timeline: events per slice of virtual time; click or drag to seek"
        aria-valuemin={head === 0 ? 0 : 1}
        aria-valuemax={head}
        aria-valuenow={position ?? 0}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={endDrag}
        onPointerCancel={endDrag}
        onKeyDown={onKeyDown}
      >
        {bars.map((bar) => {
          const bucket = timeline.buckets[bar.index]!;
          return (
            <g key={bar.index} className="timeline-bar" data-testid="timeline-bar" data-index={bar.index} data-events={bucket.events} data-first={bucket.firstPosition ?? ''} data-last={bucket.lastPosition ?? ''}>
              <rect className="timeline-bar-hit" x={bar.x} width={bar.width} y={box.margin.top} height={baseline - box.margin.top} />
              <rect className="timeline-bar-fill" x={bar.x} width={bar.width} y={bar.y} height={bar.height} />
              <title>
                {formatVirtualTime(bucket.startUs)} – {formatVirtualTime(bucket.endUs)}: {formatCount(bucket.events)} events
                {bucket.firstPosition === null ? '' : ` (positions ${formatCount(bucket.firstPosition)}–${formatCount(bucket.lastPosition ?? bucket.firstPosition)})`}
              </title>
            </g>
          );
        })}
        <g ref={xAxisRef} className="axis" transform={`translate(0,${baseline})`} />
        <g ref={yAxisRef} className="axis" transform={`translate(${box.margin.left},0)`} />
        {timeline.actions.map((action) => {
          const x = scales.x(action.virtualTimeUs);
          const color = actionColors[action.type] ?? '#8a99a8';
          return (
            <g key={`${action.position}-${action.type}`} className="timeline-action" data-testid="timeline-action" data-type={action.type} data-position={action.position} data-action-position={action.position}>
              <line x1={x} x2={x} y1={box.margin.top - 2} y2={baseline} stroke={color} strokeDasharray="2 2" />
              <path d={`M${x - 5},${box.margin.top - 10} L${x + 5},${box.margin.top - 10} L${x},${box.margin.top - 2} Z`} fill={color} />
              <title>
                {action.type} at position {formatCount(action.position)}, {formatVirtualTime(action.virtualTimeUs)}: {action.detail}
              </title>
            </g>
          );
        })}
        {cursorX === undefined || position === undefined ? null : (
          <g className="timeline-cursor" data-testid="timeline-cursor" data-position={position} transform={`translate(${cursorX},0)`}>
            <line y1={box.margin.top - 4} y2={baseline} />
            <circle cy={baseline} r={4} />
          </g>
        )}
        <text x={box.margin.left} y={10} className="axis-label">
          events per {formatVirtualTime(timeline.buckets[0] ? timeline.buckets[0].endUs - timeline.buckets[0].startUs : 0)} of virtual time · at most {formatCount(scales.max)}
        </text>
      </svg>
    </figure>
  );
}
