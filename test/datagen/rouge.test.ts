import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BitParallelLcs, lcsLengthTable } from "../../src/datagen/rouge/lcs.js";
import { rougeL, rougeLF1FromLcs, rougeLFromLcs } from "../../src/datagen/rouge/rouge-l.js";
import { rougeTokenize } from "../../src/datagen/rouge/tokenize.js";
import { ExhaustiveRougePool } from "../../src/datagen/rouge/exhaustive-pool.js";
import { IndexedRougePool, prefixLength } from "../../src/datagen/rouge/indexed-pool.js";
import { sharedPath } from "../support/shared-data.js";

/** Deterministic PRNG so failures reproduce. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exhaustive LCS by recursion over all alignments (exponential: only for tiny inputs) — an independent check of the DP. */
function lcsByRecursion(a: number[], b: number[], i = 0, j = 0, memo = new Map<string, number>()): number {
  if (i === a.length || j === b.length) return 0;
  const key = `${i},${j}`;
  const cached = memo.get(key);
  if (cached !== undefined) return cached;
  const value = a[i] === b[j] ? 1 + lcsByRecursion(a, b, i + 1, j + 1, memo) : Math.max(lcsByRecursion(a, b, i + 1, j, memo), lcsByRecursion(a, b, i, j + 1, memo));
  memo.set(key, value);
  return value;
}

describe("rouge_score default tokenizer", () => {
  it("lowercases, turns non-alphanumerics into separators and drops non-ASCII letters", () => {
    expect(rougeTokenize("Testing, one-two!")).toEqual(["testing", "one", "two"]);
    expect(rougeTokenize("  Don't   stop\tbelieving\n")).toEqual(["don", "t", "stop", "believing"]);
    expect(rougeTokenize("Café au lait 3.14")).toEqual(["caf", "au", "lait", "3", "14"]);
    expect(rougeTokenize("日本語 only")).toEqual(["only"]);
    expect(rougeTokenize("\u212Aelvin")).toEqual(["kelvin"]); // KELVIN SIGN lowercases to ASCII k, as in Python
    expect(rougeTokenize("")).toEqual([]);
  });
});

describe("ROUGE-L F1", () => {
  it("matches hand-computed values", () => {
    // LCS("the cat sat on the mat", "the cat on the mat") = 5; P = 5/5, R = 5/6, F = 10/11.
    const score = rougeL("the cat sat on the mat", "the cat on the mat");
    expect(score.precision).toBe(1);
    expect(score.recall).toBeCloseTo(5 / 6, 15);
    expect(score.fmeasure).toBeCloseTo(10 / 11, 15);
    // rouge_score's own unit test: target "testing one two", prediction "testing" → P 1, R 1/3, F 0.5.
    expect(rougeL("testing one two", "testing")).toEqual({ precision: 1, recall: 1 / 3, fmeasure: 0.5 });
    // Order matters for LCS: "a b c d" vs "d c b a" share only one in-order token: F = 2·(1/4)(1/4)/(1/2) = 0.25.
    expect(rougeL("a b c d", "d c b a").fmeasure).toBe(0.25);
    // Repeated tokens: LCS("a a b", "a b a") = 2 → F = 2/3.
    expect(rougeL("a a b", "a b a").fmeasure).toBeCloseTo(2 / 3, 15);
    expect(rougeL("", "anything").fmeasure).toBe(0);
    expect(rougeL("no overlap here", "totally different words").fmeasure).toBe(0);
    expect(rougeL("Identical text!", "identical TEXT").fmeasure).toBe(1);
  });

  it("uses rouge_score's float arithmetic: 2PR/(P+R), not 2L/(m+n)", () => {
    const direct = rougeLFromLcs(7, 11, 13).fmeasure;
    for (const [l, m, n] of [[7, 11, 13], [0, 3, 4], [5, 5, 5], [3, 0, 2], [9, 17, 12]]) expect(rougeLF1FromLcs(l, m, n)).toBe(rougeLFromLcs(l, m, n).fmeasure);
    const p = 7 / 13;
    const r = 7 / 11;
    expect(direct).toBe((2 * p * r) / (p + r));
  });

  it("table DP and bit-parallel LCS agree with an exhaustive recursion on random sequences, including > 32 tokens", () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 400; trial++) {
      const alphabet = 1 + Math.floor(random() * 6);
      const a = Array.from({ length: Math.floor(random() * (trial < 300 ? 12 : 80)) }, () => Math.floor(random() * alphabet));
      const b = Array.from({ length: Math.floor(random() * (trial < 300 ? 12 : 80)) }, () => Math.floor(random() * alphabet));
      const expected = lcsByRecursion(a, b);
      expect(lcsLengthTable(a, b)).toBe(expected);
      expect(new BitParallelLcs(a).lengthWith(b)).toBe(expected);
    }
  });

  it("prefix length matches the bound: F1 > 0.7 needs overlap ≥ τ with 2τ/(m+τ) > 0.7", () => {
    expect(prefixLength(0, 0.7)).toBe(0);
    expect(prefixLength(1, 0.7)).toBe(1); // τ = 1
    expect(prefixLength(10, 0.7)).toBe(10 - 6 + 1); // 2·6/16 = 0.75 > 0.7, 2·5/15 = 0.667
    // 2·7/20 = 0.7 exactly: the bound keeps boundary cases (a margin below θ), so τ = 7, conservatively.
    expect(prefixLength(13, 0.7)).toBe(13 - 7 + 1);
  });
});

describe("indexed pool decides exactly as the exhaustive reference", () => {
  function compareDecisions(pool: string[][], queries: string[][], threshold = 0.7) {
    const indexed = new IndexedRougePool({ threshold, minimumRebuildSize: 8 });
    const exhaustive = new ExhaustiveRougePool("table");
    for (const tokens of pool) {
      indexed.add(tokens);
      exhaustive.add(tokens);
    }
    let rejected = 0;
    for (const tokens of queries) {
      const fast = indexed.findAbove(tokens, threshold);
      const reference = exhaustive.findAbove(tokens, threshold);
      expect(fast?.score, tokens.join(" ")).toBe(reference?.score);
      if (reference) rejected++;
      else {
        // Kept queries join the pool, as in Alpaca's loop.
        indexed.add(tokens);
        exhaustive.add(tokens);
      }
    }
    return { rejected, indexed };
  }

  it("on random near-duplicate token sequences over a small vocabulary", () => {
    const random = mulberry32(11);
    const vocabulary = Array.from({ length: 30 }, (_, i) => `w${i}`);
    const sentence = () => Array.from({ length: 1 + Math.floor(random() * 14) }, () => vocabulary[Math.floor(random() * vocabulary.length)]);
    const pool = Array.from({ length: 60 }, sentence);
    const queries: string[][] = [];
    for (let i = 0; i < 600; i++) {
      const base = random() < 0.6 ? [...pool[Math.floor(random() * pool.length)]] : sentence();
      const edits = Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const position = Math.floor(random() * (base.length + 1));
        if (random() < 0.5) base.splice(position, 1);
        else base.splice(position, 0, vocabulary[Math.floor(random() * vocabulary.length)]);
      }
      queries.push(base);
    }
    const { rejected } = compareDecisions(pool, queries);
    expect(rejected).toBeGreaterThan(100); // the test exercises both outcomes
    expect(rejected).toBeLessThan(590);
  });

  it("on real Alpaca instructions and their edited variants, with the index skipping most of the pool", () => {
    const records = JSON.parse(readFileSync(sharedPath("data", "alpaca", "alpaca_data_first1727.json"), "utf8")) as { instruction: string }[];
    const instructions = records.slice(0, 600).map((r) => rougeTokenize(r.instruction));
    const random = mulberry32(3);
    const queries = instructions.slice(300).map((tokens) => {
      const copy = [...tokens];
      if (random() < 0.5 && copy.length > 2) copy.splice(Math.floor(random() * copy.length), 1);
      return copy;
    });
    const withOriginals = [...queries, ...instructions.slice(0, 300)];
    const { rejected, indexed } = compareDecisions(instructions.slice(0, 300), withOriginals);
    expect(rejected).toBeGreaterThanOrEqual(300); // every original is in the pool already
    expect(indexed.statistics.lcsComputed).toBeLessThan(indexed.statistics.queries * 20);
  });

  it("scores the whole pool exactly as the reference (one-word and multi-word queries)", () => {
    const random = mulberry32(21);
    const vocabulary = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const sentence = (max: number) => Array.from({ length: Math.floor(random() * max) }, () => vocabulary[Math.floor(random() * vocabulary.length)]);
    const indexed = new IndexedRougePool({ minimumRebuildSize: 8 });
    const exhaustive = new ExhaustiveRougePool("table");
    for (let i = 0; i < 150; i++) {
      const tokens = sentence(i % 3 === 0 ? 70 : 20);
      indexed.add(tokens);
      exhaustive.add(tokens);
    }
    for (let q = 0; q < 40; q++) {
      const query = sentence(q % 2 === 0 ? 60 : 25);
      expect(Array.from(indexed.scoreAll(query))).toEqual(Array.from(exhaustive.scoreAll(query)));
    }
  });

  it("refuses a query threshold below the one the index was built for", () => {
    const pool = new IndexedRougePool({ threshold: 0.7 });
    expect(() => pool.findAbove(["a"], 0.5)).toThrow(/indexed for ROUGE-L above 0.7/);
  });
});
