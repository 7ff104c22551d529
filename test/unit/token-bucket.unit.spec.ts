import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/core/kernel/token-bucket.ts';

describe('token bucket (a share peer\'s message rate)', () => {
  it('takes a burst up to its capacity at once, then refuses until tokens come back at the rate', () => {
    const bucket = new TokenBucket(200, 400, 1_000);
    let accepted = 0;
    for (let index = 0; index < 1_000; index++) if (bucket.take(1_000)) accepted += 1;
    expect(accepted).toBe(400);
    expect(bucket.take(1_004)).toBe(false); // 0.8 of a token
    expect(bucket.take(1_005)).toBe(true); // one token after 5 ms at 200/s
    expect(bucket.take(1_005)).toBe(false);
    // After a second, 200 more; never more than the capacity however long the wait.
    let later = 0;
    for (let index = 0; index < 1_000; index++) if (bucket.take(2_005)) later += 1;
    expect(later).toBe(200);
    let afterIdle = 0;
    for (let index = 0; index < 1_000; index++) if (bucket.take(60_000)) afterIdle += 1;
    expect(afterIdle).toBe(400);
  });

  it('never refuses a peer that keeps to the rate, however its messages are held up (up to 0.9 s) and bunched (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 1, maxLength: 2_000 }), (rate, delays) => {
        const bucket = new TokenBucket(rate, 2 * rate, 0);
        let deliveredAt = 0;
        return delays.every((delay, index) => {
          // Sent at the rate, delivered in order after its delay.
          deliveredAt = Math.max(deliveredAt, (index * 1_000) / rate + delay);
          return bucket.take(deliveredAt);
        });
      }),
    );
  });

  it('refuses a peer sending faster than the rate once its burst room is spent (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 2, max: 10 }), (rate, times) => {
        const bucket = new TokenBucket(rate, 2 * rate, 0);
        // `times` the rate for 3 s: at most the burst plus 3 s of the rate get through.
        const total = times * rate * 3;
        let accepted = 0;
        for (let index = 0; index < total; index++) if (bucket.take((index * 1_000) / (times * rate))) accepted += 1;
        return accepted <= 2 * rate + 3 * rate + 1 && accepted < total;
      }),
    );
  });

  it('rejects a rate or capacity that cannot work', () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(/rate > 0/);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(/capacity >= 1/);
  });
});
