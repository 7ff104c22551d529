/**
 * Arrival processes: when a workload generator's events happen, in integer microseconds of
 * virtual time. Every profile is exact and deterministic: deterministic profiles place event k
 * at the first microsecond where the expected count (the integral of the rate) reaches k;
 * Poisson draws exponential gaps from the generator's own `arrivals` stream.
 *
 * A process starts at an origin (0 at the start of a run; the virtual time of a changed
 * parameter afterwards), so a rate changed mid-run continues from that moment without
 * reshuffling what came before.
 */
import type { Random } from '../kernel/random.ts';
import { detCos, detLog, detSin } from '../kernel/det-math.ts';

export type RateProfile =
  | { readonly profile: 'constant'; readonly perSecond: number }
  | { readonly profile: 'poisson'; readonly perSecond: number }
  | { readonly profile: 'ramp'; readonly from: number; readonly to: number; readonly over: number }
  | { readonly profile: 'spike'; readonly perSecond: number; readonly peak: number; readonly at: number; readonly for: number }
  | { readonly profile: 'diurnal'; readonly perSecond: number; readonly amplitude: number; readonly period?: number };

const microsPerSecond = 1_000_000;
/** The diurnal profile's default period. */
export const dayUs = 86_400 * microsPerSecond;
/** Upper bound for the search: a day of virtual time past the origin, the longest run allowed. */
const searchSpanUs = 86_400 * microsPerSecond;

/** Expected events from time 0 to `timeUs` (the integral of the rate), for deterministic profiles. */
export function expectedCount(rate: RateProfile, timeUs: number): number {
  const t = timeUs / microsPerSecond;
  switch (rate.profile) {
    case 'constant':
    case 'poisson':
      return rate.perSecond * t;
    case 'ramp': {
      const over = rate.over / microsPerSecond;
      if (over === 0 || t >= over) return (over * (rate.from + rate.to)) / 2 + rate.to * (t - over);
      return rate.from * t + ((rate.to - rate.from) * t * t) / (2 * over);
    }
    case 'spike': {
      const start = rate.at / microsPerSecond;
      const length = rate.for / microsPerSecond;
      return rate.perSecond * t + (rate.peak - rate.perSecond) * Math.min(Math.max(t - start, 0), length);
    }
    case 'diurnal': {
      const period = (rate.period ?? dayUs) / microsPerSecond;
      return rate.perSecond * t + ((rate.perSecond * rate.amplitude * period) / (2 * Math.PI)) * (1 - detCos((2 * Math.PI * t) / period));
    }
  }
}

/** The rate at a moment, in events per virtual second (for charts and checks). */
export function rateAt(rate: RateProfile, timeUs: number): number {
  const t = timeUs / microsPerSecond;
  switch (rate.profile) {
    case 'constant':
    case 'poisson':
      return rate.perSecond;
    case 'ramp':
      return rate.over === 0 || timeUs >= rate.over ? rate.to : rate.from + ((rate.to - rate.from) * timeUs) / rate.over;
    case 'spike':
      return timeUs >= rate.at && timeUs < rate.at + rate.for ? rate.peak : rate.perSecond;
    case 'diurnal':
      return rate.perSecond * (1 + rate.amplitude * detSin((2 * Math.PI * t) / ((rate.period ?? dayUs) / microsPerSecond)));
  }
}

export class ArrivalProcess {
  /** Events of this process so far (since its origin). */
  private count = 0;
  private readonly baseCount: number;
  private nextUs: number;

  /**
   * @param originUs where the process starts; at 0 the first event is at 0, otherwise strictly after.
   */
  constructor(
    readonly rate: RateProfile,
    private readonly random: Random,
    readonly originUs: number,
  ) {
    this.baseCount = rate.profile === 'poisson' || rate.profile === 'constant' ? 0 : expectedCount(rate, originUs);
    this.nextUs = this.compute();
  }

  /** Virtual time of the next event, or +Infinity when the rate never reaches another event. */
  peek(): number {
    return this.nextUs;
  }

  /** Consumes the next event's time and computes the one after. */
  advance(): number {
    const time = this.nextUs;
    this.count += 1;
    this.nextUs = this.compute();
    return time;
  }

  /** The process's state, for state hashes at checkpoints. */
  fingerprint(): string {
    return `${this.rate.profile}:${this.originUs}:${this.count}:${this.nextUs}`;
  }

  private compute(): number {
    const first = this.originUs === 0 ? 0 : 1;
    const k = this.count + first;
    const rate = this.rate;
    if (rate.profile === 'constant') return this.originUs + Math.floor((k * microsPerSecond) / rate.perSecond);
    if (rate.profile === 'poisson') {
      if (this.count === 0 && this.originUs === 0) return 0;
      const previous = this.count === 0 ? this.originUs : this.nextUs;
      // Inverse transform of an exponential gap; 1 - u is in (0, 1], so the log is finite.
      const gapUs = Math.max(1, Math.round((-detLog(1 - this.random.nextFloat()) * microsPerSecond) / rate.perSecond));
      return previous + gapUs;
    }
    // The first microsecond t >= origin with expectedCount(t) - expectedCount(origin) >= k.
    const target = this.baseCount + k;
    let low = this.count === 0 ? this.originUs : this.nextUs;
    if (expectedCount(rate, low) >= target) return low;
    let high = low + 1;
    const limit = this.originUs + searchSpanUs;
    while (expectedCount(rate, high) < target) {
      if (high >= limit) return Number.POSITIVE_INFINITY;
      const step = high - low;
      low = high;
      high = Math.min(limit, high + step * 2);
    }
    while (high - low > 1) {
      const middle = low + Math.floor((high - low) / 2);
      if (expectedCount(rate, middle) >= target) high = middle;
      else low = middle;
    }
    return high;
  }
}
