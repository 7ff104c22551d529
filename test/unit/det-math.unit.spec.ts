import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detCos, detLog, detSin } from '../../src/core/kernel/det-math.ts';

describe('deterministic math', () => {
  it('logarithm agrees with Math.log to 1e-14 relative over the doubles that Poisson gaps use', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), (x) => {
        const expected = Math.log(x);
        expect(Math.abs(detLog(x) - expected)).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(expected)));
      }),
      { numRuns: 2_000 },
    );
    expect(detLog(1)).toBe(0);
    expect(detLog(2)).toBe(0.6931471805599453);
    expect(detLog(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(detLog(-1)).toBeNaN();
  });

  it('cosine and sine agree with Math to 1e-12 over the phases diurnal profiles use', () => {
    fc.assert(
      fc.property(fc.double({ min: -1_000, max: 1_000, noNaN: true }), (x) => {
        expect(Math.abs(detCos(x) - Math.cos(x))).toBeLessThan(1e-12);
        expect(Math.abs(detSin(x) - Math.sin(x))).toBeLessThan(1e-12);
      }),
      { numRuns: 2_000 },
    );
    expect(detCos(0)).toBe(1);
  });

  it('pins exact bits, so a change of algorithm (which would move events in virtual time) cannot pass unnoticed', () => {
    expect([detLog(0.5), detLog(1e-9), detLog(123456.789), detCos(1), detCos(100), detSin(0.25)]).toEqual([
      -0.6931471805599453, -20.72326583694641, 11.723646487185881, 0.5403023058681397, 0.862318872287686, 0.247403959254523,
    ]);
  });
});
