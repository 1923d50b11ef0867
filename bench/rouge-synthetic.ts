import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { seededRandom } from "../src/random/seeded-random.js";

export function sharedAlpacaFile(name: string): string {
  const path = resolve(import.meta.dirname, "../../shared/data/alpaca", name);
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new Error(`missing ${path}: the benchmark reads Alpaca data from ../shared (see the shared README)`);
  }
}

/**
 * Realistic machine-generated instructions by recombination of real Alpaca ones: the opening of one
 * instruction joined to the rest of another (so verbs, objects and lengths look like a teacher's), and a
 * share of light paraphrases of earlier outputs (word dropped, swapped or inserted) — the near-duplicates
 * a teacher really produces and the filter must catch.
 */
export function synthesizeInstructions(count: number, seed = 1): string[] {
  const records = [
    ...(JSON.parse(sharedAlpacaFile("alpaca_data_first1727.json")) as { instruction: string }[]),
    ...(JSON.parse(sharedAlpacaFile("alpaca_data_cleaned_1000.json")) as { instruction: string }[]),
  ];
  const sentences = records.map((r) => r.instruction.split(/\s+/).filter(Boolean)).filter((w) => w.length >= 4);
  const fillers = ["quickly", "briefly", "carefully", "simple", "detailed", "new", "short", "good", "two", "three"];
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const out: string[] = [];
  while (out.length < count) {
    const roll = random();
    if (roll < 0.25 && out.length > 0) {
      const words = [...pick(out).split(" ")];
      const position = Math.floor(random() * words.length);
      const edit = random();
      if (edit < 0.33 && words.length > 4) words.splice(position, 1);
      else if (edit < 0.66) words.splice(position, 0, pick(fillers));
      else if (position + 1 < words.length) [words[position], words[position + 1]] = [words[position + 1], words[position]];
      out.push(words.join(" "));
    } else {
      const head = pick(sentences);
      const tail = pick(sentences);
      const cut = 1 + Math.floor(random() * Math.min(head.length - 1, 5));
      const tailStart = Math.floor(random() * Math.max(1, tail.length - 2));
      out.push([...head.slice(0, cut), ...tail.slice(tailStart)].join(" "));
    }
  }
  return out;
}
