/**
 * A latency histogram with bounded relative error (HDR-style, log-linear buckets): values are
 * microseconds; each power of two is split into 32 linear sub-buckets, so any percentile is
 * within about 3% of the true value. Fixed memory, mergeable, plain JSON when serialised.
 */
const subBuckets = 32;

function bucketOf(valueUs: number): number {
  const value = Math.max(0, Math.floor(valueUs));
  if (value < subBuckets) return value;
  const exponent = 31 - Math.clz32(value); // floor(log2(value)) >= 5
  const shift = exponent - 5;
  return (exponent - 4) * subBuckets + ((value >>> shift) - subBuckets);
}

function lowerBoundOf(bucket: number): number {
  if (bucket < subBuckets) return bucket;
  const exponent = Math.floor(bucket / subBuckets) + 4;
  const offset = bucket % subBuckets;
  return (subBuckets + offset) * 2 ** (exponent - 5);
}

export interface HistogramSummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private maxUs = 0;

  record(valueMs: number, times = 1): void {
    if (!(times > 0) || !Number.isFinite(valueMs)) return;
    const valueUs = Math.max(0, valueMs * 1000);
    const bucket = bucketOf(valueUs);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + times);
    this.total += times;
    if (valueUs > this.maxUs) this.maxUs = valueUs;
  }

  get count(): number {
    return this.total;
  }

  /** The value at a fraction (0..1) of the recorded samples, in milliseconds. */
  percentileMs(fraction: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) as number;
      if (seen >= rank) return Math.min(this.maxUs, lowerBoundOf(bucket + 1)) / 1000;
    }
    return this.maxUs / 1000;
  }

  summary(): HistogramSummary {
    return { count: this.total, p50Ms: this.percentileMs(0.5), p95Ms: this.percentileMs(0.95), p99Ms: this.percentileMs(0.99), maxMs: this.maxUs / 1000 };
  }
}
