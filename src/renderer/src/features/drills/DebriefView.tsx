/**
 * A finished drill's debrief: its timeline drawn with d3 on one time axis (faults as bands from
 * when they struck to the recovery, the faults hidden from a game-day trainee revealed and
 * marked; symptoms, alerts, actions, detection, recovery, checks and hints as marks in their
 * lanes), and the debrief to download as Markdown and as a standalone HTML page.
 */
import { axisBottom, scaleLinear, select } from 'd3';
import { useEffect, useMemo, useRef } from 'react';
import type { DrillState } from '../../../../shared/api.ts';
import type { DrillDebriefs } from '../../state/drills-store.ts';
import { dataUrl, debriefFileName, faultBands, formatAt, kindColours, laneOf, timelineLanes, timelineMarks } from './drill-format.ts';

const box = { width: 760, laneHeight: 30, top: 10, bottom: 28, left: 150, right: 16 };

export function DebriefTimeline({ drill }: { drill: DrillState }) {
  const axisRef = useRef<SVGGElement>(null);
  const height = box.top + timelineLanes.length * box.laneHeight + box.bottom;
  const bands = useMemo(() => faultBands(drill.timeline), [drill.timeline]);
  const marks = useMemo(() => timelineMarks(drill.timeline), [drill.timeline]);
  const endMs = Math.max(1, drill.elapsedMs, ...drill.timeline.map((entry) => entry.atMs));
  const x = useMemo(() => scaleLinear().domain([0, endMs]).range([box.left, box.width - box.right]), [endMs]);
  const laneY = (lane: number): number => box.top + lane * box.laneHeight;
  useEffect(() => {
    if (axisRef.current === null) return;
    select(axisRef.current).call(
      axisBottom(x)
        .ticks(8)
        .tickFormat((value) => `${(Number(value) / 1_000).toFixed(Number(value) % 1_000 === 0 ? 0 : 1)} s`),
    );
  }, [x]);
  return (
    <figure className="chart drill-debrief-timeline" data-testid="debrief-timeline" data-bands={bands.length} data-marks={marks.length}>
      <svg viewBox={`0 0 ${box.width} ${height}`} role="img" aria-label="drill timeline">
        {timelineLanes.map((lane, index) => (
          <g key={lane.lane} className="debrief-lane">
            <rect x={box.left} y={laneY(index) + 2} width={box.width - box.left - box.right} height={box.laneHeight - 4} className="debrief-lane-bg" />
            <text x={box.left - 8} y={laneY(index) + box.laneHeight / 2} dy="0.35em" textAnchor="end" className="axis-label">
              {lane.lane}
            </text>
          </g>
        ))}
        {bands.map((band, index) => {
          const x0 = x(band.startMs);
          const x1 = band.endMs === null ? x(endMs) : x(band.endMs);
          return (
            <g key={`band-${index}`} data-testid="debrief-fault" data-hidden={String(band.hidden)} data-start-ms={band.startMs} data-end-ms={band.endMs ?? ''}>
              <rect
                x={x0}
                y={laneY(0) + 5}
                width={Math.max(3, x1 - x0)}
                height={box.laneHeight - 10}
                fill={kindColours.fault}
                fillOpacity={band.endMs === null ? 0.25 : 0.45}
                stroke={kindColours.fault}
                strokeDasharray={band.hidden ? '4 3' : undefined}
              >
                <title>{`${formatAt(band.startMs)}–${band.endMs === null ? 'never recovered' : formatAt(band.endMs)} fault${band.hidden ? ' (hidden from the trainee)' : ''}: ${band.text}`}</title>
              </rect>
            </g>
          );
        })}
        {marks.map((entry, index) => {
          const lane = laneOf(entry.kind);
          if (lane < 0) return null;
          const cx = x(entry.atMs);
          const cy = laneY(lane) + box.laneHeight / 2;
          return (
            <g key={`mark-${index}`} data-testid="debrief-mark" data-kind={entry.kind} data-at-ms={entry.atMs}>
              <line x1={cx} x2={cx} y1={laneY(lane) + 4} y2={laneY(lane) + box.laneHeight - 4} stroke={kindColours[entry.kind]} strokeWidth={2} />
              <circle cx={cx} cy={cy} r={4} fill={kindColours[entry.kind]}>
                <title>{`${formatAt(entry.atMs)} ${entry.kind}: ${entry.text}`}</title>
              </circle>
            </g>
          );
        })}
        <g ref={axisRef} className="axis" transform={`translate(0,${box.top + timelineLanes.length * box.laneHeight})`} />
      </svg>
      <figcaption className="legend">
        {(['fault', 'symptom', 'alert', 'action', 'detected', 'recovered', 'check', 'hint'] as const).map((kind) => (
          <span key={kind} className="legend-item">
            <span className="swatch" style={{ background: kindColours[kind] }} />
            {kind}
          </span>
        ))}
        <span className="legend-item muted">dashed: a fault hidden from the trainee until now</span>
      </figcaption>
    </figure>
  );
}

function DownloadLink({ drillId, format, loadable }: { drillId: string; format: 'markdown' | 'html'; loadable: DrillDebriefs['markdown'] | undefined }) {
  const label = format === 'markdown' ? 'Markdown' : 'HTML';
  if (loadable?.state === 'error') {
    return (
      <span className="error small" data-testid={`debrief-error-${format}`}>
        {label}: {loadable.message}
      </span>
    );
  }
  if (loadable?.state !== 'loaded') {
    return (
      <button type="button" disabled data-testid={`debrief-download-${format}`} data-state="loading">
        {label}…
      </button>
    );
  }
  return (
    <a
      className="button-link"
      href={dataUrl(loadable.data, format === 'markdown' ? 'text/markdown' : 'text/html')}
      download={debriefFileName(drillId, format)}
      aria-label={`Download the debrief as ${label}`}
      data-testid={`debrief-download-${format}`}
      data-state="ready"
    >
      Download {label}
    </a>
  );
}

export function DebriefView({ drill, debriefs }: { drill: DrillState; debriefs: DrillDebriefs | undefined }) {
  return (
    <section className="panel drill-debrief" aria-label="debrief" data-testid="drill-debrief" data-drill-id={drill.drillId}>
      <header className="view-header">
        <h2>Debrief</h2>
        <span className="muted small">
          {drill.title}, seed {drill.seed}
        </span>
        <span className="sweep-exports">
          <DownloadLink drillId={drill.drillId} format="markdown" loadable={debriefs?.markdown} />
          <DownloadLink drillId={drill.drillId} format="html" loadable={debriefs?.html} />
        </span>
      </header>
      <DebriefTimeline drill={drill} />
    </section>
  );
}
