/** A projection's lag in events over the last minute, drawn with d3 from the health pushes. */
import { line } from 'd3';
import type { LagSample } from '../../state/projections-store.ts';
import { formatCount, sparkline } from './projection-format.ts';

const width = 96;
const height = 20;
/** Room for the stroke at the top and bottom edges. */
const inset = 1.5;

export function LagSparkline({ name, samples }: { name: string; samples: readonly LagSample[] }) {
  const { points, max } = sparkline(samples, width - 2 * inset, height - 2 * inset);
  const path = line()(points) ?? '';
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`lag of ${name} over the last minute`} data-testid={`projection-sparkline-${name}`} data-samples={samples.length} data-max={max}>
      <title>{samples.length === 0 ? 'no lag measured yet' : `lag over the last minute: at most ${formatCount(max)} events`}</title>
      <line className="sparkline-base" x1={0} x2={width} y1={height - inset} y2={height - inset} />
      <g transform={`translate(0,${inset})`}>
        <path className="sparkline-line" d={path} />
        {points.length > 0 ? <circle className="sparkline-dot" cx={points.at(-1)![0]} cy={points.at(-1)![1]} r={1.8} /> : null}
      </g>
    </svg>
  );
}
