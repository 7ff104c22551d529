/**
 * A run's telemetry (telemetry.get): events per virtual second and append-to-projected latency
 * p95 / p99 per virtual second as d3 charts over the run's fault windows (bands), the SLOs with
 * their status, and the alerts. Says
 * "no telemetry yet" when the engine has none for the run.
 */
import { axisBottom, axisLeft, line, select } from 'd3';
import { useEffect, useMemo, useRef } from 'react';
import type { FaultWindow } from '../../../../shared/api.ts';
import { FaultBands, useRunFaults } from '../charts/FaultBands.tsx';
import { mergeFaultWindows } from '../charts/fault-bands.ts';
import type { TelemetryView } from '../../state/time-travel-store.ts';
import { useTimeTravel } from '../../state/use-time-travel.ts';
import { formatCount, formatMs } from '../projections/projection-format.ts';
import { formatVirtualTime, seriesScales, type Box, type Telemetry } from './time-travel-math.ts';

const box: Box = { width: 720, height: 140, margin: { top: 18, right: 16, bottom: 22, left: 48 } };

export function MetricsDashboard() {
  const telemetry: TelemetryView = useTimeTravel((state) => state.telemetry);
  return (
    <section className="panel metrics-dashboard" data-testid="metrics-dashboard" data-state={telemetry.state}>
      <h2>Metrics</h2>
      {telemetry.state === 'idle' || telemetry.state === 'loading' ? <p className="muted small">Asking the engine for telemetry…</p> : null}
      {telemetry.state === 'unavailable' ? (
        <div data-testid="metrics-none">
          <p className="muted">No telemetry yet for this run.</p>
          <p className="muted small">{telemetry.message}</p>
        </div>
      ) : null}
      {telemetry.state === 'error' ? (
        <p className="error small" data-testid="metrics-error">
          {telemetry.message}
        </p>
      ) : null}
      {telemetry.state === 'loaded' ? <TelemetryPanels data={telemetry.data} /> : null}
    </section>
  );
}

function TelemetryPanels({ data }: { data: Telemetry }) {
  // The engine's list, and faults injected from this page that an engine killed since no longer knows.
  const runId = useTimeTravel((state) => state.runId);
  const injected = useRunFaults(runId);
  const faults = useMemo(() => mergeFaultWindows(data.faults, injected), [data.faults, injected]);
  const { seconds, events, latency } = useMemo(() => {
    const percentile = (row: Telemetry['seconds'][number], key: 'p95Ms' | 'p99Ms'): number => (row.latency.count === 0 ? Number.NaN : row.latency[key]);
    return {
      seconds: data.seconds.map((row) => row.second),
      events: [{ name: 'events', className: 'series-events', values: data.seconds.map((row) => row.events) }],
      latency: [
        { name: 'p95', className: 'series-p95', values: data.seconds.map((row) => percentile(row, 'p95Ms')) },
        { name: 'p99', className: 'series-p99', values: data.seconds.map((row) => percentile(row, 'p99Ms')) },
      ],
    };
  }, [data]);
  return (
    <>
      <p className="muted small">
        {formatCount(data.seconds.length)} virtual seconds · append-to-projected latency over the run: p50 {formatMs(data.latency.p50Ms)}, p95 {formatMs(data.latency.p95Ms)}, p99 {formatMs(data.latency.p99Ms)}, max {formatMs(data.latency.maxMs)}
      </p>
      <div className="metrics-charts">
        <SeriesChart label="events / virtual second" testId="metrics-events-chart" seconds={seconds} series={events} faults={faults} bars />
        <SeriesChart label="latency per virtual second (ms)" testId="metrics-latency-chart" seconds={seconds} series={latency} faults={faults} />
      </div>
      <div className="metrics-lists">
        <div>
          <h3>SLOs</h3>
          {data.slos.length === 0 ? <p className="muted small">No SLOs for this run.</p> : null}
          <ul className="slo-list">
            {data.slos.map((slo) => (
              <li key={slo.name} className={slo.met === null ? 'slo slo-unknown' : slo.met ? 'slo slo-met' : 'slo slo-missed'} data-testid={`slo-${slo.name}`} data-met={slo.met === null ? '' : String(slo.met)}>
                <span className="slo-status">{slo.met === null ? 'no data' : slo.met ? 'met' : 'missed'}</span>
                <strong>{slo.name}</strong>
                <span className="muted">{slo.objective}</span>
                <span className="numeric">{slo.value === null ? '–' : slo.kind === 'availability' ? `${slo.value.toFixed(3)}%` : formatMs(slo.value)}</span>
                {slo.budgetLeft === null ? null : <span className="numeric muted">budget left {(slo.budgetLeft * 100).toFixed(1)}%</span>}
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h3>Alerts</h3>
          {data.alerts.length === 0 ? <p className="muted small">No alert has fired.</p> : null}
          <ul className="alert-list">
            {data.alerts.map((alert) => (
              <li key={`${alert.rule}-${alert.firedAtUs}`} className={alert.resolvedAtUs === null ? 'alert alert-firing' : 'alert alert-resolved'} data-testid={`alert-${alert.rule}`} data-firing={alert.resolvedAtUs === null}>
                <strong>{alert.rule}</strong>
                <span className="muted">{alert.kind === 'burn_rate' ? 'burn rate' : 'threshold'}</span>
                <span>
                  fired at {formatVirtualTime(alert.firedAtUs)}
                  {alert.resolvedAtUs === null ? ', firing' : `, resolved at ${formatVirtualTime(alert.resolvedAtUs)}`}
                </span>
                <span className="muted small">{alert.detail}</span>
              </li>
            ))}
          </ul>
        </div>
      </div>
    </>
  );
}

interface Series {
  readonly name: string;
  readonly className: string;
  /** One value per second; NaN where there is none. */
  readonly values: readonly number[];
}

function SeriesChart({ label, testId, seconds, series, faults, bars = false }: { label: string; testId: string; seconds: readonly number[]; series: readonly Series[]; faults: readonly FaultWindow[]; bars?: boolean }) {
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const scales = useMemo(() => seriesScales(seconds, series.flatMap((item) => item.values), box), [seconds, series]);
  const [baseline] = scales.y.range() as [number, number];
  useEffect(() => {
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(scales.x).ticks(8).tickFormat((value) => `${String(value)}s`));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(scales.y).ticks(4));
  }, [scales]);
  const slot = Math.max(1, scales.x(1) - scales.x(0));
  return (
    <figure className="chart metrics-chart" data-testid={testId} data-points={seconds.length}>
      <svg viewBox={`0 0 ${box.width} ${box.height}`} role="img" aria-label={label} data-fault-bands={faults.length}>
        <FaultBands faults={faults} x={scales.x} top={box.margin.top} bottom={baseline} openEndSeconds={scales.x.domain()[1] ?? 0} />
        {series.map((item) =>
          bars ? (
            <g key={item.name} className={item.className}>
              {item.values.map((value, index) =>
                Number.isFinite(value) ? <rect key={seconds[index]} x={scales.x(seconds[index]!)} width={Math.max(0.5, slot - (slot > 3 ? 1 : 0))} y={scales.y(value)} height={Math.max(0, baseline - scales.y(value))} /> : null,
              )}
            </g>
          ) : (
            <path
              key={item.name}
              className={`series-line ${item.className}`}
              d={
                line<number>()
                  .defined((value) => Number.isFinite(value))
                  .x((_, index) => scales.x(seconds[index]! + 0.5))
                  .y((value) => scales.y(value))([...item.values]) ?? ''
              }
            />
          ),
        )}
        <g ref={xAxisRef} className="axis" transform={`translate(0,${baseline})`} />
        <g ref={yAxisRef} className="axis" transform={`translate(${box.margin.left},0)`} />
        <text x={box.margin.left} y={10} className="axis-label">
          {label}
        </text>
      </svg>
      {series.length > 1 ? (
        <figcaption className="legend">
          {series.map((item) => (
            <span key={item.name} className="legend-item">
              <span className={`swatch ${item.className}`} />
              {item.name}
            </span>
          ))}
        </figcaption>
      ) : null}
    </figure>
  );
}
