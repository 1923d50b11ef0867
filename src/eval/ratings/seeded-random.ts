import { seededRandom } from "../../random/seeded-random.js";

/**
 * The bootstrap's generator, reproducible from `--seed`: the same seed and battles give the same
 * intervals on every machine. The seed is mixed with 0x9e3779b9 here (as it always was) so that
 * published intervals for a given `--seed` stay exactly what they were.
 */
export function createSeededRandom(seed: number): () => number {
  return seededRandom((Math.trunc(seed) ^ 0x9e3779b9) >>> 0);
}
