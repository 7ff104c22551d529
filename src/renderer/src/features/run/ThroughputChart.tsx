/**
 * Events per virtual second by type, stacked, drawn with d3 from the
 * events-per-second-by-type projection as it is pushed, over the run's fault windows (bands).
 */
import { type SeriesPoint, axisBottom, axisLeft, area, max, scaleLinear, scaleOrdinal, select, stack, schemeTableau10, curveStepAfter } from 'd3';
import { useEffect, useMemo, useRef } from 'react';
import { useLab } from '../../state/use-lab.ts';
import { FaultBands, useRunFaults } from '../charts/FaultBands.tsx';

export interface EventsPerSecondState {
  total: number;
  types: string[];
  seconds: Record<string, Record<string, number>>;
}

export function isEventsPerSecondState(value: unknown): value is EventsPerSecondState {
  return typeof value === 'object' && value !== null && 'seconds' in value && 'types' in value && Array.isArray((value as EventsPerSecondState).types);
}

const width = 720;
const height = 280;
const margin = { top: 12, right: 16, bottom: 32, left: 48 };

/** `runId`: whose fault windows to draw (the run panel's current run when absent). */
export function ThroughputChart({ state, durationSeconds, runId }: { state: EventsPerSecondState; durationSeconds: number; runId?: string }) {
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const currentRunId = useLab((lab) => lab.currentRunId);
  const faults = useRunFaults(runId ?? currentRunId);

  const { layers, x, y, color, drawnSeconds } = useMemo(() => {
    const seconds = Math.max(1, Math.ceil(durationSeconds));
    const rows = Array.from({ length: seconds }, (_, second) => {
      const bucket = state.seconds[String(second)] ?? {};
      const row: Record<string, number> = { second };
      for (const type of state.types) row[type] = bucket[type] ?? 0;
      return row;
    });
    // Only seconds that have been projected are drawn, so the chart grows as the run goes.
    const projected = Object.keys(state.seconds).map(Number);
    const lastSecond = projected.length > 0 ? Math.max(...projected) : -1;
    // Each count covers [s, s + 1): a step chart, with the last step closed by a repeated point.
    const visible = rows.slice(0, lastSecond + 1);
    const last = visible.at(-1);
    if (last !== undefined) visible.push({ ...last, second: (last.second ?? 0) + 1 });
    const stacked = stack<Record<string, number>>().keys(state.types)(visible);
    const xScale = scaleLinear()
      .domain([0, seconds])
      .range([margin.left, width - margin.right]);
    const top = max(stacked.at(-1) ?? [], (point) => point[1]) ?? 0;
    const yScale = scaleLinear()
      .domain([0, Math.max(1, top * 1.1)])
      .nice()
      .range([height - margin.bottom, margin.top]);
    const colorScale = scaleOrdinal<string, string>().domain(state.types).range(schemeTableau10);
    return { layers: stacked, x: xScale, y: yScale, color: colorScale, drawnSeconds: Math.max(0, lastSecond + 1) };
  }, [state, durationSeconds]);

  useEffect(() => {
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(x).ticks(8).tickFormat((value) => `${String(value)}s`));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(y).ticks(5));
  }, [x, y]);

  const shape = area<SeriesPoint<Record<string, number>>>()
    .x((point) => x(point.data.second ?? 0))
    .y0((point) => y(point[0]))
    .y1((point) => y(point[1]))
    .curve(curveStepAfter);

  return (
    <figure className="chart" data-testid="throughput-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Events per virtual second by type" data-fault-bands={faults.length}>
        <FaultBands faults={faults} x={x} top={margin.top} bottom={height - margin.bottom} openEndSeconds={drawnSeconds} />
        {layers.map((layer) => (
          <path key={layer.key} d={shape(layer) ?? ''} fill={color(layer.key)} fillOpacity={0.85} data-testid="chart-series" data-type={layer.key} />
        ))}
        <g ref={xAxisRef} className="axis" transform={`translate(0,${height - margin.bottom})`} />
        <g ref={yAxisRef} className="axis" transform={`translate(${margin.left},0)`} />
        <text x={margin.left} y={margin.top} className="axis-label" dy="-2">
          events / virtual second
        </text>
      </svg>
      <figcaption className="legend">
        {state.types.map((type) => (
          <span key={type} className="legend-item">
            <span className="swatch" style={{ background: color(type) }} />
            {type}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
