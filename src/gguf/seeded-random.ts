// Deterministic pseudo-random numbers for reproducible random-weight models (no Math.random).
import { seededRandom } from "../random/seeded-random.js";

/** 32-bit FNV-1a: turns a tensor name into a stream id so each tensor's weights are independent of write order. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The stream for one tensor, keyed by (name, seed) so it is independent of every other tensor. */
export function tensorRandom(name: string, seed: number): () => number {
  return seededRandom(hashString(name) ^ Math.imul(seed, 0x9e3779b1));
}

/**
 * `count` uniform values in [-amplitude, amplitude] from a stream keyed by (name, seed): a tensor's
 * values do not depend on which other tensors exist or in which order they are made. Golden scripts
 * (scripts/golden/*.py) reimplement exactly this to rebuild the same weights in PyTorch.
 */
export function seededUniformValues(name: string, seed: number, count: number, amplitude: number): Float32Array {
  const values = new Float32Array(count);
  const random = tensorRandom(name, seed);
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * amplitude;
  return values;
}
