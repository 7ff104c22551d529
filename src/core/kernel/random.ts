/**
 * A seeded, splittable PRNG (sfc32 seeded through splitmix32). Integer operations only, so a
 * seed gives the same sequence on every machine and every JavaScript engine.
 *
 * `split(label)` derives an independent stream from this generator's seed and a label, without
 * consuming from this stream: adding a new kind of randomness never shifts the others.
 */
export interface Random {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 32 bits of precision. */
  nextFloat(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** A 128-bit value as 32 lowercase hex digits (used for deterministic event ids). */
  hex128(): string;
  split(label: string): Random;
}

/** 32-bit FNV-1a over UTF-16 code units: a stable string hash for seed derivation. */
export function hashString32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Sfc32 implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly seedWords: readonly [number, number];

  constructor(seedHigh: number, seedLow: number) {
    this.seedWords = [seedHigh >>> 0, seedLow >>> 0];
    const mix = splitmix32(seedHigh ^ Math.imul(seedLow, 0x9e3779b1));
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    for (let index = 0; index < 12; index++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new RangeError(`Random.int: bad range [${min}, ${max}]`);
    }
    const span = max - min + 1;
    if (span > 4294967296) throw new RangeError('Random.int: range wider than 2^32');
    // Rejection sampling keeps the distribution exactly uniform.
    const limit = 4294967296 - (4294967296 % span);
    let value = this.nextUint32();
    while (value >= limit) value = this.nextUint32();
    return min + (value % span);
  }

  hex128(): string {
    let out = '';
    for (let index = 0; index < 4; index++) out += this.nextUint32().toString(16).padStart(8, '0');
    return out;
  }

  split(label: string): Random {
    return new Sfc32(this.seedWords[0] ^ hashString32(label), Math.imul(this.seedWords[1] + 1, 0x2545f491) ^ hashString32(`${label}#`));
  }
}

/** A generator for a seed. Seeds are non-negative safe integers. */
export function createRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  const high = Math.floor(seed / 4294967296);
  const low = seed >>> 0;
  return new Sfc32(high, low);
}
