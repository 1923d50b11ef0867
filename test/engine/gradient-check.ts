// Finite-difference helpers for the gradient tests. Kernels are run on Float64Array storage (cast to
// the Float32Array parameter type: the kernels only index and do arithmetic), so the central
// difference is accurate to ~1e-9 and a wrong derivative cannot hide in float32 noise.
import { SeededRandom } from "../../src/random/seeded-random.js";

export const f64 = (values: Float64Array) => values as unknown as Float32Array;

export function randomArray(size: number, random: SeededRandom, scale = 1): Float64Array {
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = random.uniform(-scale, scale);
  return out;
}

/**
 * Numerical gradient of loss() with respect to every entry of x (mutated and restored).
 * Central differences with step h.
 */
export function numericGradient(x: Float64Array | Float32Array, loss: () => number, h = 1e-6): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const plus = loss();
    x[i] = saved - h;
    const minus = loss();
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** Largest |a - b| relative to the largest |b| (so tiny entries do not dominate). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < b.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Index of the first element where a and b differ (Object.is: NaN equals NaN, -0 differs from 0), or -1; vitest's toEqual is slow on big arrays. */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
