import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';
import { AuraError } from '../../src/core/kernel/errors.ts';
import { createRandom } from '../../src/core/kernel/random.ts';
import { ArrivalProcess, expectedCount, rateAt, type RateProfile } from '../../src/core/sim/arrivals.ts';
import { RunKernel, type PlannedEvent } from '../../src/core/sim/kernel.ts';
import { applySet, parseSetArgument, type RecordedAction } from '../../src/core/sim/operator.ts';
import { validateScenario } from '../../src/core/sim/scenario.ts';
import { tinyScenarioText } from '../support/fixtures.ts';

const minute = 60_000_000;

function times(rate: RateProfile, untilUs: number, seed = 1): number[] {
  const process = new ArrivalProcess(rate, createRandom(seed), 0);
  const out: number[] = [];
  while (process.peek() < untilUs) out.push(process.advance());
  return out;
}

const deterministic: RateProfile[] = [
  { profile: 'constant', perSecond: 250 },
  { profile: 'ramp', from: 10, to: 1_000, over: 30_000_000 },
  { profile: 'spike', perSecond: 100, peak: 2_000, at: 20_000_000, for: 5_000_000 },
  { profile: 'diurnal', perSecond: 300, amplitude: 0.8, period: 20_000_000 },
];

describe('arrival processes', () => {
  it.each(deterministic)('places the k-th event where the integral of the rate reaches k ($profile)', (rate) => {
    const arrivals = times(rate, minute);
    expect(arrivals.length).toBe(Math.ceil(expectedCount(rate, minute)));
    arrivals.forEach((time, k) => {
      expect(expectedCount(rate, time)).toBeGreaterThanOrEqual(k - 1e-6);
      if (time > 0) expect(expectedCount(rate, time - 1)).toBeLessThan(k + 1e-6);
    });
  });

  it('follows the profile: a spike holds peak / base times more events per second than around it', () => {
    const rate: RateProfile = { profile: 'spike', perSecond: 100, peak: 2_000, at: 20_000_000, for: 5_000_000 };
    const arrivals = times(rate, minute);
    const inSpike = arrivals.filter((time) => time >= 20_000_000 && time < 25_000_000).length / 5;
    const before = arrivals.filter((time) => time < 20_000_000).length / 20;
    expect(inSpike).toBe(2_000);
    expect(before).toBe(100);
    expect(rateAt(rate, 21_000_000)).toBe(2_000);
  });

  it('draws Poisson gaps with the declared mean, the same for the same seed', () => {
    const rate: RateProfile = { profile: 'poisson', perSecond: 500 };
    const arrivals = times(rate, minute, 7);
    expect(times(rate, minute, 7)).toEqual(arrivals);
    expect(times(rate, minute, 8)).not.toEqual(arrivals);
    // 30,000 expected; a Poisson count's standard deviation is about 173.
    expect(Math.abs(arrivals.length - 30_000)).toBeLessThan(1_000);
    const gaps = arrivals.slice(1).map((time, index) => time - (arrivals[index] as number));
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    const variance = gaps.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / gaps.length;
    // Exponential gaps: the standard deviation equals the mean (2,000 us).
    expect(Math.sqrt(variance) / mean).toBeGreaterThan(0.9);
    expect(Math.sqrt(variance) / mean).toBeLessThan(1.1);
  });

  it('never goes back in time, for any profile and parameters', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ profile: fc.constant('ramp' as const), from: fc.integer({ min: 0, max: 2_000 }), to: fc.integer({ min: 1, max: 2_000 }), over: fc.integer({ min: 1, max: 20_000_000 }) }),
          fc.record({ profile: fc.constant('diurnal' as const), perSecond: fc.integer({ min: 1, max: 2_000 }), amplitude: fc.double({ min: 0, max: 1, noNaN: true }), period: fc.integer({ min: 1_000_000, max: 30_000_000 }) }),
          fc.record({ profile: fc.constant('poisson' as const), perSecond: fc.integer({ min: 1, max: 5_000 }) }),
        ),
        fc.nat(),
        (rate, seed) => {
          const arrivals = times(rate, 2_000_000, seed);
          for (let index = 1; index < arrivals.length; index++) expect(arrivals[index]).toBeGreaterThanOrEqual(arrivals[index - 1] as number);
        },
      ),
      { numRuns: 60 },
    );
  });
});

const tiny = validateScenario(parse(tinyScenarioText({ seconds: 10 })));

function runAll(kernel: RunKernel, chunk = 500): PlannedEvent[] {
  const all: PlannedEvent[] = [];
  while (kernel.status !== 'completed') all.push(...kernel.advance(Number.POSITIVE_INFINITY, chunk));
  return all;
}

describe('operator actions', () => {
  it('changes a rate from the moment of the change on, recorded as an event', () => {
    const generator = tiny.workload[0]!.name;
    const kernel = new RunKernel(tiny, 3);
    const before = kernel.advance(4_000_000, 100_000);
    const [changed] = kernel.act({ kind: 'set', path: `workload.${generator}.rate.perSecond`, value: 500 });
    expect(changed?.event.type).toBe('ParameterChanged');
    expect(changed?.event.metadata.virtualTimeUs).toBe(4_000_000);
    const after = runAll(kernel);
    const rateOf = (events: PlannedEvent[], from: number, to: number) =>
      events.filter((item) => item.event.metadata.virtualTimeUs >= from && item.event.metadata.virtualTimeUs < to && item.stream.startsWith(tiny.workload[0]!.streams.prefix)).length / ((to - from) / 1_000_000);
    expect(rateOf(after, 5_000_000, 9_000_000)).toBe(500);
    expect(rateOf(before, 0, 4_000_000)).toBe(tiny.workload[0]!.rate.profile === 'constant' ? tiny.workload[0]!.rate.perSecond : Number.NaN);
  });

  it('replays recorded actions to the same events, however the replay is chunked', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 9_000_000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 2_000 }), (seed, atUs, perSecond, chunk) => {
        const live = new RunKernel(tiny, seed);
        const events = live.advance(atUs, 1_000_000);
        events.push(...live.act({ kind: 'pause' }));
        events.push(...live.act({ kind: 'set', path: `workload.${tiny.workload[0]!.name}.rate`, value: { profile: 'poisson', perSecond } }));
        events.push(...live.act({ kind: 'resume' }));
        events.push(...runAll(live));
        const replay = new RunKernel(tiny, seed, live.actions as RecordedAction[]);
        expect(canonicalJson(runAll(replay, chunk))).toBe(canonicalJson(events));
        expect(replay.fingerprint()).toBe(live.fingerprint());
      }),
      { numRuns: 30 },
    );
  });

  it('refuses a bad change with the path and changes nothing', () => {
    const kernel = new RunKernel(tiny, 1);
    kernel.advance(1_000_000, 100_000);
    const fingerprint = kernel.fingerprint();
    const name = tiny.workload[0]!.name;
    expect(() => kernel.act({ kind: 'set', path: `workload.${name}.rate.perSecond`, value: -1 })).toThrow(/cannot set workload\..*\.rate\.perSecond: rate\.perSecond: expected a number > 0/);
    expect(() => kernel.act({ kind: 'set', path: 'workload.nope.rate', value: 1 })).toThrow(/no generator named "nope"/);
    expect(() => kernel.act({ kind: 'set', path: 'seed', value: 1 })).toThrow(AuraError);
    expect(() => kernel.act({ kind: 'set', path: `workload.${name}.rate.peak`, value: 1 })).toThrow(/has no field peak/);
    expect(kernel.fingerprint()).toBe(fingerprint);
    expect(kernel.actions).toHaveLength(0);
  });

  it('parses --set arguments as JSON values, else text', () => {
    expect(parseSetArgument('workload.a.rate.perSecond=20')).toEqual({ path: 'workload.a.rate.perSecond', value: 20 });
    expect(parseSetArgument('workload.a.rate.over=30s')).toEqual({ path: 'workload.a.rate.over', value: '30s' });
    expect(parseSetArgument('workload.a.rate={"profile":"constant","perSecond":5}').value).toEqual({ profile: 'constant', perSecond: 5 });
    expect(() => parseSetArgument('nothing')).toThrow(/key=value/);
    expect(applySet(tiny, `workload.${tiny.workload[0]!.name}.rate`, { profile: 'ramp', from: 1, to: 5, over: '2s' }).change.rate).toEqual({ profile: 'ramp', from: 1, to: 5, over: 2_000_000 });
  });
});
