import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRandom, hashString32 } from '../../src/core/kernel/random.ts';

const take = (seed: number, count: number): number[] => {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => random.nextUint32());
};

describe('seeded PRNG', () => {
  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        expect(take(a, 16)).toEqual(take(a, 16));
        if (a !== b) expect(take(a, 16)).not.toEqual(take(b, 16));
      }),
    );
  });

  it('splits without consuming the parent stream, and split streams are independent of order', () => {
    const plain = createRandom(42);
    const withSplits = createRandom(42);
    const first = withSplits.split('agents');
    const second = withSplits.split('faults');
    expect(Array.from({ length: 8 }, () => withSplits.nextUint32())).toEqual(Array.from({ length: 8 }, () => plain.nextUint32()));
    // The same label gives the same stream whenever it is split off.
    const later = createRandom(42);
    later.nextUint32();
    expect(later.split('agents').nextUint32()).toBe(createRandom(42).split('agents').nextUint32());
    expect(first.nextUint32()).not.toBe(second.nextUint32());
  });

  it('keeps int() within bounds, inclusive, and reaches both ends', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 20 }), (seed, min, span) => {
        const random = createRandom(seed);
        const seen = new Set<number>();
        for (let index = 0; index < 400; index++) {
          const value = random.int(min, min + span);
          expect(value).toBeGreaterThanOrEqual(min);
          expect(value).toBeLessThanOrEqual(min + span);
          seen.add(value);
        }
        expect(seen.has(min) && seen.has(min + span)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('produces floats in [0, 1) with a mean near one half', () => {
    const random = createRandom(3);
    let sum = 0;
    for (let index = 0; index < 20_000; index++) {
      const value = random.nextFloat();
      expect(value >= 0 && value < 1).toBe(true);
      sum += value;
    }
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01);
  });

  it('rejects bad seeds and bad ranges with a clear error', () => {
    expect(() => createRandom(-1)).toThrow(/non-negative safe integer/);
    expect(() => createRandom(1.5)).toThrow(/non-negative safe integer/);
    expect(() => createRandom(1).int(5, 4)).toThrow(/bad range/);
  });

  it('formats 128-bit ids as 32 hex digits, all distinct over many draws', () => {
    const random = createRandom(9);
    const ids = new Set(Array.from({ length: 10_000 }, () => random.hex128()));
    expect(ids.size).toBe(10_000);
    for (const id of [...ids].slice(0, 10)) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('hashes strings stably (FNV-1a reference values)', () => {
    // Published FNV-1a 32-bit test vectors: these pin the function replays depend on.
    expect(hashString32('')).toBe(0x811c9dc5);
    expect(hashString32('a')).toBe(0xe40c292c);
    expect(hashString32('foobar')).toBe(0xbf9cf968);
  });
});
