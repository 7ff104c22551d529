import { describe, expect, it } from 'vitest';
import type { ChaosFault, DrillTimelineEntry } from '../../src/shared/api.ts';
import { drillRunbookActions } from '../../src/shared/api.ts';
import { runbookActions } from '../../src/core/chaos/drill.ts';
import { faultCatalogue } from '../../src/core/chaos/catalogue.ts';
import {
  dataUrl,
  debriefFileName,
  faultBands,
  formatElapsed,
  formatFigure,
  formatMeasurements,
  faultLayerOrder,
  formatTarget,
  groupByLayer,
  hintsOf,
  laneOf,
  parseSeed,
  targetMark,
  timelineLanes,
  timelineMarks,
} from '../../src/renderer/src/features/drills/drill-format.ts';

const timeline: DrillTimelineEntry[] = [
  { atMs: 0, kind: 'note', text: 'start' },
  { atMs: 900, kind: 'fault', text: 'kill -9', hidden: true },
  { atMs: 950, kind: 'symptom', text: 'engine restarting' },
  { atMs: 1_500, kind: 'action', text: 'trainee: restart-engine' },
  { atMs: 2_100, kind: 'recovered', text: 'engine back' },
  { atMs: 2_400, kind: 'fault', text: 'a second fault' },
  { atMs: 3_000, kind: 'hint', text: 'restart it' },
  { atMs: 3_200, kind: 'check', text: 'checkers: no anomaly' },
];

describe('drill console formatting', () => {
  it('formats the clock, figures and targets', () => {
    expect(formatElapsed(0)).toBe('0:00.0');
    expect(formatElapsed(7_249)).toBe('0:07.2');
    expect(formatElapsed(62_500)).toBe('1:02.5');
    expect(formatElapsed(Number.NaN)).toBe('0:00.0');
    expect(formatFigure('ms', 412.4)).toBe('412 ms');
    expect(formatFigure('ms', 12_500)).toBe('12.5 s');
    expect(formatFigure('ratio', 0.9984)).toBe('99.8%');
    expect(formatFigure('events', 0)).toBe('0 events');
    expect(formatFigure('events/s', 12_345.6)).toBe('12,346 events/s');
    expect(formatFigure('ms', null)).toBe('-');
    expect(formatFigure('ms', Number.POSITIVE_INFINITY)).toBe('never');
    expect(formatTarget('<=', 'ms', 2_000)).toBe('<= 2000 ms');
    expect(formatTarget('<=', 'ms', 900_000)).toBe('<= 900.0 s');
    expect(formatTarget('>=', 'ratio', null)).toBe('-');
    expect(formatMeasurements({ timeToDetectMs: 3_774, recoveryMs: null, availability: 1, custom: 3 })).toEqual(['time to detect 3774 ms', 'recovery time -', 'availability 100.0%', 'custom 3']);
    expect(targetMark({ metLab: true, metSeed: true })).toBe('met');
    expect(targetMark({ metLab: false, metSeed: true })).toBe('seed only');
    expect(targetMark({ metLab: false, metSeed: false })).toBe('missed');
  });

  it('draws faults as bands up to the next recovery, everything else as marks in lanes', () => {
    expect(faultBands(timeline)).toEqual([
      { startMs: 900, endMs: 2_100, text: 'kill -9', hidden: true },
      { startMs: 2_400, endMs: null, text: 'a second fault', hidden: false },
    ]);
    expect(timelineMarks(timeline).map((entry) => entry.kind)).toEqual(['symptom', 'action', 'recovered', 'hint', 'check']);
    expect(hintsOf(timeline).map((entry) => entry.text)).toEqual(['restart it']);
    expect(laneOf('fault')).toBe(0);
    expect(laneOf('alert')).toBe(laneOf('symptom'));
    expect(laneOf('note')).toBe(-1);
    // Every kind but notes has a lane.
    const kinds = timelineLanes.flatMap((lane) => lane.kinds);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds).toHaveLength(8);
  });

  it('groups the catalogue by layer in the layers’ order', () => {
    const faults: ChaosFault[] = faultCatalogue.map((fault) => ({ ...fault }));
    const groups = groupByLayer(faults);
    expect(groups.map((group) => group.layer)).toEqual(faultLayerOrder.filter((layer) => faults.some((fault) => fault.layer === layer)));
    expect(groupByLayer([{ kind: 'b', layer: 'new', title: '', mechanism: '', recovery: '' }, { kind: 'a', layer: 'load', title: '', mechanism: '', recovery: '' }]).map((group) => group.layer)).toEqual(['load', 'new']);
    expect(groups.reduce((sum, group) => sum + group.faults.length, 0)).toBe(faults.length);
    expect(groups[0]?.faults[0]?.kind).toBe('engine-kill');
    expect(groupByLayer([])).toEqual([]);
  });

  it('parses seeds, names downloads and keeps the contract’s runbook equal to the model’s', () => {
    expect(parseSeed('')).toEqual({ ok: true, seed: undefined });
    expect(parseSeed(' 42 ')).toEqual({ ok: true, seed: 42 });
    expect(parseSeed('-1').ok).toBe(false);
    expect(parseSeed('1.5').ok).toBe(false);
    expect(parseSeed('4294967296').ok).toBe(false);
    expect(debriefFileName('complete-failure-s7-1', 'markdown')).toBe('debrief-complete-failure-s7-1.md');
    expect(debriefFileName('complete-failure-s7-1', 'html')).toBe('debrief-complete-failure-s7-1.html');
    const url = dataUrl('# Debrief: x & y', 'text/markdown');
    expect(url.startsWith('data:text/markdown;charset=utf-8,')).toBe(true);
    expect(decodeURIComponent(url.slice(url.indexOf(',') + 1))).toBe('# Debrief: x & y');
    expect([...drillRunbookActions]).toEqual([...runbookActions]);
  });
});
