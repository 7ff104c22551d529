/**
 * The sweep results view's pure arithmetic: grid values as stable keys and readable labels,
 * the chart's series (one metric against one grid parameter, one line per value of another,
 * the rest fixed), CSV-safe labels and the chart as a standalone SVG document.
 */
import type { ResultOf } from '../../../../shared/api.ts';

export type SweepResults = ResultOf<'sweeps.results'>;
export type SweepCell = SweepResults['cells'][number];
export type SweepEntry = ResultOf<'sweeps.list'>['sweeps'][number];

export const sweepMetrics = ['accuracy', 'consensusRate', 'rounds', 'messages'] as const;
export type SweepMetric = (typeof sweepMetrics)[number];
export const metricLabels: Record<SweepMetric, string> = { accuracy: 'accuracy', consensusRate: 'consensus rate', rounds: 'rounds', messages: 'messages' };

/** A JSON value as text with object keys sorted: equal values, equal keys. */
export function valueKey(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
  if (Array.isArray(value)) return `[${value.map(valueKey).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${valueKey(item)}`).join(',')}}`;
}

/** A grid value for people: numbers and strings as they are, a variant as "path=value, …". */
export function valueLabel(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return value.map(valueLabel).join(' / ');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${key}=${valueLabel(item)}`)
      .join(', ');
  }
  return String(value);
}

/** The short name of a grid path: its last segment ("agents[*].params.persuasionBias" -> "persuasionBias"). */
export function pathLabel(path: string): string {
  const parts = path.split('.').filter((part) => part !== '');
  return parts.at(-1) ?? path;
}

/**
 * A label as one CSV field: quoted when it holds a comma, a quote or a line break (quotes
 * doubled), and prefixed with ' when it starts like a spreadsheet formula (= + - @ tab CR).
 */
export function csvSafeLabel(label: string): string {
  const guarded = /^[=+\-@\t\r]/.test(label) && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(label) ? `'${label}` : label;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

/** The default axes: x is the last grid parameter whose values are all numbers (else the last); the lines vary by the first other one. */
export function defaultAxes(grid: SweepResults['grid']): { x: string | undefined; series: string | undefined } {
  const numeric = grid.filter((axis) => axis.values.length > 0 && axis.values.every((value) => typeof value === 'number'));
  const x = (numeric.at(-1) ?? grid.at(-1))?.path;
  const series = grid.find((axis) => axis.path !== x)?.path;
  return { x, series };
}

export interface ChartChoice {
  readonly metric: SweepMetric;
  readonly x: string;
  /** The parameter with one line per value; undefined: a single line. */
  readonly series: string | undefined;
  /** For every other grid parameter: the key (valueKey) of its fixed value. */
  readonly fixed: Readonly<Record<string, string>>;
}

/** The fixed values by default: each other parameter's first value. */
export function defaultFixed(grid: SweepResults['grid'], x: string | undefined, series: string | undefined): Record<string, string> {
  const fixed: Record<string, string> = {};
  for (const axis of grid) if (axis.path !== x && axis.path !== series && axis.values.length > 0) fixed[axis.path] = valueKey(axis.values[0]);
  return fixed;
}

export interface ChartPoint {
  readonly xKey: string;
  readonly xLabel: string;
  /** The x value when every x value of the grid is a number (a linear axis), else undefined. */
  readonly xValue: number | undefined;
  /** Index of the x value in the grid (a point axis). */
  readonly xIndex: number;
  readonly n: number;
  readonly mean: number;
  readonly ciLow: number | null;
  readonly ciHigh: number | null;
}

export interface ChartSeries {
  readonly key: string;
  readonly label: string;
  readonly points: readonly ChartPoint[];
}

/**
 * One line per value of `series` (in grid order), each with one point per value of `x` (in grid
 * order) from the cell whose other parameters equal the fixed values. Cells without a mean are
 * left out; lines without a point too.
 */
export function chartSeries(results: SweepResults, choice: ChartChoice): ChartSeries[] {
  const xAxis = results.grid.find((axis) => axis.path === choice.x);
  if (xAxis === undefined) return [];
  const seriesAxis = choice.series === undefined ? undefined : results.grid.find((axis) => axis.path === choice.series);
  const numericX = xAxis.values.every((value) => typeof value === 'number');
  const matchesFixed = (cell: SweepCell): boolean =>
    results.grid.every((axis) => axis.path === choice.x || axis.path === seriesAxis?.path || choice.fixed[axis.path] === undefined || valueKey(cell.parameters[axis.path]) === choice.fixed[axis.path]);
  const lines: { key: string; label: string }[] = seriesAxis === undefined ? [{ key: 'all', label: choice.metric }] : seriesAxis.values.map((value) => ({ key: valueKey(value), label: valueLabel(value) }));
  const out: ChartSeries[] = [];
  for (const line of lines) {
    const points: ChartPoint[] = [];
    xAxis.values.forEach((xValue, xIndex) => {
      const xKey = valueKey(xValue);
      const cell = results.cells.find((candidate) => valueKey(candidate.parameters[xAxis.path]) === xKey && (seriesAxis === undefined || valueKey(candidate.parameters[seriesAxis.path]) === line.key) && matchesFixed(candidate));
      const summary = cell?.[choice.metric];
      if (summary === undefined || summary.mean === null) return;
      points.push({ xKey, xLabel: valueLabel(xValue), xValue: numericX ? (xValue as number) : undefined, xIndex, n: summary.n, mean: summary.mean, ciLow: summary.ciLow, ciHigh: summary.ciHigh });
    });
    if (points.length > 0) out.push({ ...line, points });
  }
  return out;
}

/** The y domain: every mean and CI end, with 0 included for rates; [0, 1] when there is nothing. */
export function chartDomain(series: readonly ChartSeries[], metric: SweepMetric): [number, number] {
  const values = series.flatMap((line) => line.points.flatMap((point) => [point.mean, point.ciLow, point.ciHigh])).filter((value): value is number => value !== null && Number.isFinite(value));
  if (values.length === 0) return [0, 1];
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (metric === 'accuracy' || metric === 'consensusRate') {
    low = Math.min(0, low);
    high = Math.max(1, high);
  }
  if (low === high) {
    low -= 1;
    high += 1;
  }
  return [low, high];
}

/** The chart's data as CSV: series, x, n, mean, ciLow, ciHigh (labels made CSV-safe). */
export function seriesCsv(series: readonly ChartSeries[], seriesName: string, xName: string): string {
  const rows = [[seriesName, xName, 'n', 'mean', 'ciLow', 'ciHigh'].map(csvSafeLabel).join(',')];
  for (const line of series) for (const point of line.points) rows.push([csvSafeLabel(line.label), csvSafeLabel(point.xLabel), String(point.n), String(point.mean), String(point.ciLow ?? ''), String(point.ciHigh ?? '')].join(','));
  return `${rows.join('\n')}\n`;
}

/** Serialized SVG as a standalone document: the SVG namespace and an XML declaration. */
export function standaloneSvg(serialized: string): string {
  const withNamespace = /^<svg[^>]*\sxmlns=/.test(serialized) ? serialized : serialized.replace(/^<svg/, '<svg xmlns="http://www.w3.org/2000/svg"');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${withNamespace}`;
}

export function svgDataUrl(svgText: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`;
}

/** A file name from a sweep name and a metric: only [a-z0-9-]. */
export function exportFileName(sweep: string, metric: string, extension: string): string {
  const safe = `${sweep}-${metric}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${safe === '' ? 'sweep' : safe}.${extension}`;
}
