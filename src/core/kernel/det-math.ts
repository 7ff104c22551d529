/**
 * Deterministic transcendental functions: only + - * / and comparisons, which IEEE 754 fixes
 * exactly, so the same input gives the same bits on every JavaScript engine and version
 * (Math.log and Math.cos are implementation-defined). Used wherever a result reaches the log:
 * Poisson gaps and diurnal rates place events in virtual time.
 */
const LN2 = 0.6931471805599453;
const TWO_PI = 6.283185307179586;

/** Natural logarithm of x > 0, to about 1e-15 relative. */
export function detLog(x: number): number {
  if (!(x > 0)) return x === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  // x = m * 2^e with m in [1, 2): multiplying and dividing by 2 is exact.
  let m = x;
  let e = 0;
  while (m >= 2) {
    m /= 2;
    e += 1;
  }
  while (m < 1) {
    m *= 2;
    e -= 1;
  }
  // ln(m) = 2 atanh(z), z = (m - 1) / (m + 1) in [0, 1/3): the series converges fast.
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  let term = z;
  let sum = 0;
  for (let k = 1; k < 60; k += 2) {
    const next = sum + term / k;
    if (next === sum) break;
    sum = next;
    term *= z2;
  }
  return 2 * sum + e * LN2;
}

/** Cosine, to about 1e-15 absolute for |x| up to a few thousand radians. */
export function detCos(x: number): number {
  if (!Number.isFinite(x)) return Number.NaN;
  // Reduce to [-pi, pi].
  let r = x - Math.round(x / TWO_PI) * TWO_PI;
  if (r > Math.PI) r -= TWO_PI;
  if (r < -Math.PI) r += TWO_PI;
  const r2 = r * r;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 40; k++) {
    term *= -r2 / ((2 * k - 1) * (2 * k));
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return sum;
}

/** Sine, as a shifted cosine. */
export function detSin(x: number): number {
  return detCos(x - Math.PI / 2);
}
