import { seededRandom } from "../random/seeded-random.js";

/**
 * A generator for one (seed, index) pair, independent of every other index, so a run's prompts are a
 * function of (seed, request index): a resumed run asks exactly the questions the killed one would have asked next.
 */
export function randomFor(seed: number, ...indices: number[]): () => number {
  let mixed = seed >>> 0;
  for (const index of indices) mixed = Math.imul(mixed ^ (index + 0x9e3779b9), 0x85ebca6b) >>> 0;
  return seededRandom(mixed);
}

/** `count` distinct items chosen uniformly (Python's random.sample semantics), in sampled order. */
export function sampleWithoutReplacement<T>(items: readonly T[], count: number, random: () => number): T[] {
  if (count > items.length) throw new RangeError(`cannot sample ${count} of ${items.length} items`);
  const pool = [...items];
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
    out.push(pool[i]);
  }
  return out;
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
