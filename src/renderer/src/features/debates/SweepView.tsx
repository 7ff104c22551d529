/**
 * The sweep results view: a sweep (sweeps.list, sweeps.results), one metric against one grid
 * parameter with one line per value of another and 95% CI error bars, the other parameters
 * fixed; the chart exported as SVG (the svg element serialized), PNG (the SVG drawn on a
 * canvas) or CSV.
 */
import { axisBottom, axisLeft, line, scaleLinear, scalePoint, select } from 'd3';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DebatesCommands } from '../../engine/debates-bridge.ts';
import { useDebates } from '../../state/use-debates.ts';
import {
  chartDomain,
  chartSeries,
  defaultAxes,
  defaultFixed,
  exportFileName,
  metricLabels,
  pathLabel,
  seriesCsv,
  standaloneSvg,
  svgDataUrl,
  sweepMetrics,
  valueKey,
  valueLabel,
  type SweepMetric,
  type SweepResults,
} from './sweep-math.ts';

export function SweepView({ commands }: { commands: DebatesCommands }) {
  const sweeps = useDebates((state) => state.sweeps);
  const sweep = useDebates((state) => state.sweep);
  const results = useDebates((state) => state.results);
  return (
    <section className="panel sweeps" data-testid="sweep-view" data-sweep={sweep ?? ''} data-state={results.state}>
      <header className="view-header">
        <h2>Sweep results</h2>
        <select value={sweep ?? ''} onChange={(event) => void commands.openSweep(event.target.value)} data-testid="sweep-picker" aria-label="Sweep">
          <option value="" disabled>
            {sweeps.state === 'loaded' && sweeps.data.length === 0 ? 'no sweeps yet' : 'choose a sweep…'}
          </option>
          {sweeps.state === 'loaded'
            ? sweeps.data.map((entry) => (
                <option key={entry.name} value={entry.name} disabled={!entry.complete}>
                  {entry.name} · {entry.cells} cells × {entry.replicates} replicates{entry.complete ? '' : ' · incomplete'}
                </option>
              ))
            : null}
        </select>
        <button type="button" onClick={() => void commands.refreshSweeps()} data-testid="sweep-refresh" title="List the sweeps again">
          Refresh
        </button>
      </header>
      {sweeps.state === 'error' ? <p className="error small">{sweeps.message}</p> : null}
      {sweeps.state === 'loaded' && sweeps.data.length === 0 ? <p className="muted small">No sweep under the data directory: run one with npx aura-lab sweep scenarios/experiments/persuasion.yaml.</p> : null}
      {results.state === 'loading' ? <p className="muted small">Asking the engine…</p> : null}
      {results.state === 'error' ? (
        <p className="error small" data-testid="sweep-error">
          {results.message}
        </p>
      ) : null}
      {results.state === 'loaded' ? <SweepChartPanel key={results.data.name} results={results.data} /> : null}
    </section>
  );
}

function SweepChartPanel({ results }: { results: SweepResults }) {
  const axes = useMemo(() => defaultAxes(results.grid), [results]);
  const [metric, setMetric] = useState<SweepMetric>('accuracy');
  const [x, setX] = useState<string | undefined>(axes.x);
  const [series, setSeries] = useState<string | undefined>(axes.series);
  const [fixed, setFixed] = useState<Record<string, string>>(() => defaultFixed(results.grid, axes.x, axes.series));
  const chooseAxes = (nextX: string | undefined, nextSeries: string | undefined): void => {
    const seriesValue = nextSeries === nextX ? undefined : nextSeries;
    setX(nextX);
    setSeries(seriesValue);
    setFixed((held) => ({ ...defaultFixed(results.grid, nextX, seriesValue), ...Object.fromEntries(Object.entries(held).filter(([path]) => path !== nextX && path !== seriesValue)) }));
  };
  const lines = useMemo(() => (x === undefined ? [] : chartSeries(results, { metric, x, series, fixed })), [results, metric, x, series, fixed]);
  return (
    <>
      <p className="muted small">
        {results.description} · {results.cells.length} cells × {results.replicates} replicates · 95% confidence intervals
      </p>
      <div className="filter-bar sweep-controls">
        <label className="filter-field">
          metric
          <select value={metric} onChange={(event) => setMetric(event.target.value as SweepMetric)} data-testid="sweep-metric">
            {sweepMetrics.map((key) => (
              <option key={key} value={key}>
                {metricLabels[key]}
              </option>
            ))}
          </select>
        </label>
        <label className="filter-field">
          x axis
          <select value={x ?? ''} onChange={(event) => chooseAxes(event.target.value, series)} data-testid="sweep-x">
            {results.grid.map((axis) => (
              <option key={axis.path} value={axis.path}>
                {axis.path}
              </option>
            ))}
          </select>
        </label>
        <label className="filter-field">
          one line per
          <select value={series ?? ''} onChange={(event) => chooseAxes(x, event.target.value === '' ? undefined : event.target.value)} data-testid="sweep-series">
            <option value="">(one line)</option>
            {results.grid
              .filter((axis) => axis.path !== x)
              .map((axis) => (
                <option key={axis.path} value={axis.path}>
                  {axis.path}
                </option>
              ))}
          </select>
        </label>
        {results.grid
          .filter((axis) => axis.path !== x && axis.path !== series)
          .map((axis) => (
            <label key={axis.path} className="filter-field">
              {axis.path}
              <select value={fixed[axis.path] ?? ''} onChange={(event) => setFixed((held) => ({ ...held, [axis.path]: event.target.value }))} data-testid="sweep-fixed" data-path={axis.path}>
                {axis.values.map((value) => (
                  <option key={valueKey(value)} value={valueKey(value)}>
                    {valueLabel(value)}
                  </option>
                ))}
              </select>
            </label>
          ))}
      </div>
      {x === undefined ? <p className="muted small">This sweep has no grid.</p> : <SweepChart name={results.name} metric={metric} xPath={x} seriesPath={series} lines={lines} />}
    </>
  );
}

const box = { width: 640, height: 300, margin: { top: 24, right: 150, bottom: 40, left: 52 } };
const palette = ['#4fa3ff', '#f0883e', '#3fb950', '#d2a8ff', '#e3b341', '#39c5cf', '#ff7b72', '#a5d6ff', '#f85149', '#8b949e'];
const textColour = '#8a99a8';

function SweepChart({ name, metric, xPath, seriesPath, lines }: { name: string; metric: SweepMetric; xPath: string; seriesPath: string | undefined; lines: ReturnType<typeof chartSeries> }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const [svgText, setSvgText] = useState<string | undefined>(undefined);
  const [png, setPng] = useState<'idle' | 'drawing' | 'done' | 'error'>('idle');
  const scales = useMemo(() => {
    const points = lines.flatMap((item) => item.points);
    const numeric = points.length > 0 && points.every((point) => point.xValue !== undefined);
    const labels = [...new Map(points.map((point) => [point.xIndex, point.xLabel])).entries()].sort(([a], [b]) => a - b).map(([, label]) => label);
    const range: [number, number] = [box.margin.left, box.width - box.margin.right];
    const y = scaleLinear().domain(chartDomain(lines, metric)).nice().range([box.height - box.margin.bottom, box.margin.top]);
    if (numeric) {
      const values = points.map((point) => point.xValue!);
      const low = Math.min(...values);
      const high = Math.max(...values);
      const linear = scaleLinear()
        .domain(low === high ? [low - 1, high + 1] : [low, high])
        .range(range);
      return { xOf: (point: (typeof points)[number]) => linear(point.xValue!), drawX: (g: SVGGElement) => select(g).call(axisBottom(linear).ticks(Math.min(8, new Set(values).size))), y };
    }
    const band = scalePoint<string>().domain(labels).range(range).padding(0.5);
    return { xOf: (point: (typeof points)[number]) => band(point.xLabel) ?? range[0], drawX: (g: SVGGElement) => select(g).call(axisBottom(band)), y };
  }, [lines, metric]);
  useEffect(() => {
    if (xAxisRef.current) scales.drawX(xAxisRef.current);
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(scales.y).ticks(6));
    // The export is the svg element as drawn, axes included.
    if (svgRef.current) setSvgText(standaloneSvg(new XMLSerializer().serializeToString(svgRef.current)));
  }, [scales, lines]);
  const exportPng = (): void => {
    if (svgText === undefined) return;
    setPng('drawing');
    const image = new Image();
    image.onload = () => {
      const scale = 2;
      const canvas = document.createElement('canvas');
      canvas.width = box.width * scale;
      canvas.height = box.height * scale;
      const context = canvas.getContext('2d');
      if (context === null) {
        setPng('error');
        return;
      }
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => {
        if (blob === null) {
          setPng('error');
          return;
        }
        const url = URL.createObjectURL(blob);
        const link = document.createElement('a');
        link.href = url;
        link.download = exportFileName(name, metric, 'png');
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        setPng('done');
      }, 'image/png');
    };
    image.onerror = () => setPng('error');
    image.src = svgDataUrl(svgText);
  };
  const seriesName = seriesPath === undefined ? 'series' : pathLabel(seriesPath);
  return (
    <figure className="chart sweep-chart" data-testid="sweep-chart" data-metric={metric} data-lines={lines.length}>
      <svg ref={svgRef} xmlns="http://www.w3.org/2000/svg" viewBox={`0 0 ${box.width} ${box.height}`} width={box.width} height={box.height} role="img" aria-label={`${metricLabels[metric]} by ${xPath}`} style={{ color: textColour }} fontFamily="system-ui, sans-serif" fontSize={11}>
        <rect x={0} y={0} width={box.width} height={box.height} fill="#171e26" />
        {lines.map((item, index) => {
          const colour = palette[index % palette.length]!;
          const path = line<(typeof item.points)[number]>()
            .x((point) => scales.xOf(point))
            .y((point) => scales.y(point.mean));
          return (
            <g key={item.key} className="sweep-series" data-series={item.label}>
              <path d={path([...item.points]) ?? ''} fill="none" stroke={colour} strokeWidth={2} data-testid="sweep-line" data-series={item.label} data-points={item.points.length} />
              {item.points.map((point) => {
                const cx = scales.xOf(point);
                // Error bars of the lines side by side, a few pixels apart, so that they do not hide each other.
                const bx = cx + (index - (lines.length - 1) / 2) * 5;
                return (
                  <g key={point.xKey}>
                    {point.ciLow === null || point.ciHigh === null ? null : (
                      <g data-testid="sweep-errorbar" data-series={item.label} data-x={point.xLabel} data-low={point.ciLow} data-high={point.ciHigh} stroke={colour} strokeWidth={1.2}>
                        <line x1={bx} x2={bx} y1={scales.y(point.ciLow)} y2={scales.y(point.ciHigh)} />
                        <line x1={bx - 3} x2={bx + 3} y1={scales.y(point.ciLow)} y2={scales.y(point.ciLow)} />
                        <line x1={bx - 3} x2={bx + 3} y1={scales.y(point.ciHigh)} y2={scales.y(point.ciHigh)} />
                      </g>
                    )}
                    <circle cx={cx} cy={scales.y(point.mean)} r={3} fill={colour}>
                      <title>{`${seriesName} ${item.label}, ${pathLabel(xPath)} ${point.xLabel}: ${point.mean.toFixed(3)} (95% CI ${point.ciLow?.toFixed(3) ?? '–'} to ${point.ciHigh?.toFixed(3) ?? '–'}, n = ${point.n})`}</title>
                    </circle>
                  </g>
                );
              })}
              <g transform={`translate(${box.width - box.margin.right + 14},${box.margin.top + 18 + 16 * index})`}>
                <line x1={0} x2={16} y1={0} y2={0} stroke={colour} strokeWidth={2} />
                <text x={22} dy="0.35em" fill={textColour}>
                  {item.label}
                </text>
              </g>
            </g>
          );
        })}
        <text x={box.width - box.margin.right + 14} y={box.margin.top} fill={textColour}>
          {seriesPath === undefined ? '' : seriesName}
        </text>
        <g ref={xAxisRef} className="axis" transform={`translate(0,${box.height - box.margin.bottom})`} />
        <g ref={yAxisRef} className="axis" transform={`translate(${box.margin.left},0)`} />
        <text x={box.margin.left} y={14} fill={textColour}>
          {metricLabels[metric]} (mean, 95% CI)
        </text>
        <text x={(box.margin.left + box.width - box.margin.right) / 2} y={box.height - 6} textAnchor="middle" fill={textColour}>
          {xPath}
        </text>
      </svg>
      {lines.length === 0 ? <p className="muted small">No cell matches these choices.</p> : null}
      <figcaption className="sweep-exports">
        <a className="button-link" href={svgText === undefined ? undefined : svgDataUrl(svgText)} download={exportFileName(name, metric, 'svg')} data-testid="export-svg" aria-disabled={svgText === undefined}>
          Export SVG
        </a>
        <button type="button" onClick={exportPng} disabled={svgText === undefined || png === 'drawing'} data-testid="export-png" data-state={png}>
          Export PNG
        </button>
        <a className="button-link" href={`data:text/csv;charset=utf-8,${encodeURIComponent(seriesCsv(lines, seriesName, pathLabel(xPath)))}`} download={exportFileName(name, metric, 'csv')} data-testid="export-csv">
          Export CSV
        </a>
        {png === 'error' ? <span className="error small">The PNG could not be drawn.</span> : null}
      </figcaption>
    </figure>
  );
}
