import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/kernel/canonical.ts';

describe('canonical JSON', () => {
  it('encodes equal values identically whatever the key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
      }),
    );
  });

  it('round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue({ noUnicodeString: false }), (value) => {
        const encoded = canonicalJson(value);
        expect(canonicalJson(JSON.parse(encoded))).toBe(encoded);
      }),
    );
  });

  it('sorts keys, drops undefined fields and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 0, y: -1.5 } })).toBe('{"a":[true,null,"x"],"b":1,"d":{"y":-1.5,"z":0}}');
  });

  it('refuses values JSON cannot represent, naming where they are', () => {
    expect(() => canonicalJson({ a: { b: Number.NaN } })).toThrow(/non-finite number at a\.b/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/cannot encode function at f/);
  });
});
