/**
 * Pure helpers of the Drills tab: figures and clocks for people, the debrief timeline's lanes
 * and fault bands, the chaos catalogue grouped by layer, and download links.
 */
import type { ChaosFault, DrillState, DrillTargetResult, DrillTimelineEntry } from '../../../../shared/api.ts';

export type TimelineKind = DrillTimelineEntry['kind'];

/** A drill clock: 0:07.2, 1:02.5. */
export function formatElapsed(ms: number): string {
  const safe = Number.isFinite(ms) && ms > 0 ? ms : 0;
  const tenths = Math.floor(safe / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths % 600) / 10;
  return `${minutes}:${seconds < 10 ? '0' : ''}${seconds.toFixed(1)}`;
}

/** Seconds on the timeline: 0.00 s. */
export function formatAt(ms: number): string {
  return `${(ms / 1_000).toFixed(2)} s`;
}

/** A figure in its unit, as the debrief writes it: 412 ms, 12.5 s, 99.8%, 1,200. */
export function formatFigure(unit: string, value: number | null): string {
  if (value === null) return '-';
  if (!Number.isFinite(value)) return 'never';
  if (unit === 'ms') return value >= 10_000 ? `${(value / 1_000).toFixed(1)} s` : `${Math.round(value)} ms`;
  if (unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  const rounded = Math.round(value).toLocaleString('en-US');
  return unit === 'events' || unit === 'anomalies' || unit === 'events/s' ? `${rounded} ${unit}` : rounded;
}

const measurementInfo: Record<string, { label: string; unit: string }> = {
  recoveryMs: { label: 'recovery time', unit: 'ms' },
  timeToDetectMs: { label: 'time to detect', unit: 'ms' },
  timeToRecoverMs: { label: 'time to recover', unit: 'ms' },
  convergeMs: { label: 'converged after heal', unit: 'ms' },
  p95Ms: { label: 'p95 latency', unit: 'ms' },
  lostAcknowledged: { label: 'acknowledged events lost', unit: 'events' },
  unnamedLoss: { label: 'losses nobody named', unit: 'events' },
  anomalies: { label: 'checker anomalies', unit: 'anomalies' },
  availability: { label: 'availability', unit: 'ratio' },
  throughputPerSecond: { label: 'throughput', unit: 'events/s' },
};

/** Every figure a drill measured, labelled, in the order measured (`time to detect 412 ms`). */
export function formatMeasurements(measurements: Readonly<Record<string, number | null>>): string[] {
  return Object.entries(measurements).map(([name, value]) => {
    const info = measurementInfo[name];
    return info === undefined ? `${name} ${value ?? '-'}` : `${info.label} ${formatFigure(info.unit, value)}`;
  });
}

/** A target as `<= 2.0 s`. */
export function formatTarget(comparison: string, unit: string, value: number | null): string {
  return value === null ? '-' : `${comparison} ${formatFigure(unit, value)}`;
}

export type TargetMark = 'met' | 'seed only' | 'missed';

export function targetMark(target: Pick<DrillTargetResult, 'metLab' | 'metSeed'>): TargetMark {
  return target.metLab ? 'met' : target.metSeed ? 'seed only' : 'missed';
}

export function modeLabel(mode: DrillState['mode']): string {
  return mode === 'trainer' ? 'game day' : 'automatic';
}

export function statusLabel(status: DrillState['status']): string {
  return status === 'passed' ? 'PASSED' : status === 'failed' ? 'FAILED' : status === 'error' ? 'ERROR' : 'RUNNING';
}

/** The hints released so far, oldest first. */
export function hintsOf(timeline: readonly DrillTimelineEntry[]): DrillTimelineEntry[] {
  return timeline.filter((entry) => entry.kind === 'hint');
}

/** The debrief timeline's lanes, top to bottom, and which kinds each shows. */
export const timelineLanes: readonly { readonly lane: string; readonly kinds: readonly TimelineKind[] }[] = [
  { lane: 'faults', kinds: ['fault'] },
  { lane: 'symptoms & alerts', kinds: ['symptom', 'alert'] },
  { lane: 'actions', kinds: ['action'] },
  { lane: 'detection & recovery', kinds: ['detected', 'recovered'] },
  { lane: 'checks & hints', kinds: ['check', 'hint'] },
];

export function laneOf(kind: TimelineKind): number {
  return timelineLanes.findIndex((lane) => lane.kinds.includes(kind));
}

export const kindColours: Record<TimelineKind, string> = {
  fault: '#f85149',
  symptom: '#d29922',
  alert: '#f0883e',
  action: '#39c5cf',
  detected: '#4fa3ff',
  recovered: '#3fb950',
  check: '#8b949e',
  hint: '#d2a8ff',
  note: '#6e7681',
};

export interface FaultBand {
  readonly startMs: number;
  /** When the system had recovered from it (the next recovery after it); null if it never did. */
  readonly endMs: number | null;
  readonly text: string;
  readonly hidden: boolean;
}

/** Each fault, from when it struck to the first recovery after it. */
export function faultBands(timeline: readonly DrillTimelineEntry[]): FaultBand[] {
  return timeline
    .filter((entry) => entry.kind === 'fault')
    .map((fault) => {
      const recovered = timeline.find((entry) => entry.kind === 'recovered' && entry.atMs >= fault.atMs);
      return { startMs: fault.atMs, endMs: recovered?.atMs ?? null, text: fault.text, hidden: fault.hidden === true };
    });
}

/** The entries drawn as marks (faults are bands; notes are left to the table). */
export function timelineMarks(timeline: readonly DrillTimelineEntry[]): DrillTimelineEntry[] {
  return timeline.filter((entry) => entry.kind !== 'fault' && entry.kind !== 'note');
}

export const faultLayerOrder = ['engine', 'storage', 'network', 'agents', 'time', 'load'] as const;

/** The catalogue by layer, in the layers' order, each layer's faults in catalogue order. */
export function groupByLayer(faults: readonly ChaosFault[]): { layer: string; faults: ChaosFault[] }[] {
  const layers: string[] = [...faultLayerOrder];
  for (const fault of faults) if (!layers.includes(fault.layer)) layers.push(fault.layer);
  return layers.map((layer) => ({ layer, faults: faults.filter((fault) => fault.layer === layer) })).filter((group) => group.faults.length > 0);
}

/** A text as a data URL (for download links). */
export function dataUrl(text: string, mime: string): string {
  return `data:${mime};charset=utf-8,${encodeURIComponent(text)}`;
}

export function debriefFileName(drillId: string, format: 'markdown' | 'html'): string {
  return `debrief-${drillId}.${format === 'markdown' ? 'md' : 'html'}`;
}

/** The seed field: empty (the drill's own seed) or a 32-bit non-negative integer. */
export function parseSeed(text: string): { ok: true; seed: number | undefined } | { ok: false; message: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, seed: undefined };
  const value = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(value) || value > 4_294_967_295) return { ok: false, message: `seed must be an integer from 0 to 4294967295, got ${JSON.stringify(text)}` };
  return { ok: true, seed: value };
}
