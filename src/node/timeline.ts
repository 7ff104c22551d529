/**
 * A run's timeline for the scrubber: how many events fall in each of N equal slices of its
 * virtual time. Positions follow virtual time, so each slice boundary is found by binary search
 * on the position (O(N log n) point reads, a few milliseconds at a million events) instead of
 * a scan.
 */
import type Database from 'better-sqlite3';

export interface TimelineBucket {
  readonly startUs: number;
  readonly endUs: number;
  readonly events: number;
  readonly firstPosition: number | null;
  readonly lastPosition: number | null;
}

export function timelineBuckets(db: Database.Database, durationUs: number, buckets: number, head: number): TimelineBucket[] {
  const timeAt = db.prepare<[number], { t: number }>('SELECT virtual_time_us AS t FROM events WHERE position = ?');
  const time = (position: number): number => timeAt.get(position)?.t ?? Number.POSITIVE_INFINITY;
  /** The first position whose virtual time is >= `us` (head + 1 if none). */
  const firstAtOrAfter = (us: number): number => {
    let low = 1;
    let high = head + 1;
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      if (time(middle) >= us) high = middle;
      else low = middle + 1;
    }
    return low;
  };
  const span = Math.max(1, durationUs);
  const out: TimelineBucket[] = [];
  let start = firstAtOrAfter(0);
  for (let index = 0; index < buckets; index++) {
    const startUs = Math.floor((span * index) / buckets);
    const endUs = Math.floor((span * (index + 1)) / buckets);
    // The last slice also holds events at the very end (the run's completion).
    const end = index === buckets - 1 ? head + 1 : firstAtOrAfter(endUs);
    const events = Math.max(0, end - start);
    out.push({ startUs, endUs, events, firstPosition: events > 0 ? start : null, lastPosition: events > 0 ? end - 1 : null });
    start = end;
  }
  return out;
}

/** The run's virtual duration as its first event (RunStarted) declares it; 0 if unknown. */
export function declaredDurationUs(db: Database.Database): number {
  const row = db.prepare<[], { payload: string }>('SELECT payload FROM events WHERE position = 1').get();
  if (row === undefined) return 0;
  try {
    const value = (JSON.parse(row.payload) as { durationUs?: unknown }).durationUs;
    return typeof value === 'number' ? value : 0;
  } catch {
    return 0;
  }
}
