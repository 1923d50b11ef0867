import type { SeededRandom } from "../../random/seeded-random.js";

/** keep[i] = 1 with probability 1 - p. Drawn from the model's seeded generator so runs reproduce. */
export function sampleDropoutMask(keep: Uint8Array, size: number, p: number, random: SeededRandom): void {
  for (let i = 0; i < size; i++) keep[i] = random.next() >= p ? 1 : 0;
}

/** out = inp * keep / (1 - p) (inverted dropout: the expectation is unchanged). */
export function dropoutForward(out: Float32Array, inp: Float32Array, keep: Uint8Array, size: number, p: number): void {
  const scale = 1 / (1 - p);
  for (let i = 0; i < size; i++) out[i] = keep[i] ? inp[i] * scale : 0;
}

/** dinp += dout * keep / (1 - p). */
export function dropoutBackward(dinp: Float32Array, dout: Float32Array, keep: Uint8Array, size: number, p: number): void {
  const scale = 1 / (1 - p);
  for (let i = 0; i < size; i++) if (keep[i]) dinp[i] += dout[i] * scale;
}
