/**
 * A token bucket: `ratePerSecond` tokens a second, holding at most `capacity`. Each message takes
 * one; none left means over the limit. Unlike a count per fixed second, a peer that keeps to the
 * rate is never refused for a burst (messages held up by a busy event loop arrive together),
 * while one that floods is refused once its burst room is spent. Time comes in as an argument.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0) || !(capacity >= 1)) throw new RangeError(`a token bucket needs a rate > 0 and a capacity >= 1 (got ${ratePerSecond}, ${capacity})`);
    this.tokens = capacity;
    this.lastMs = nowMs;
  }

  /** Takes a token if there is one; false when over the limit. */
  take(nowMs: number): boolean {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.lastMs) * this.ratePerSecond) / 1000);
      this.lastMs = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
