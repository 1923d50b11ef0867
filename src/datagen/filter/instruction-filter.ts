import { InvalidArgumentError } from "../../errors/index.js";
import { ExhaustiveRougePool } from "../rouge/exhaustive-pool.js";
import { IndexedRougePool } from "../rouge/indexed-pool.js";
import type { RougePool } from "../rouge/pool.js";
import { rougeTokenize } from "../rouge/tokenize.js";
import { numpyMean } from "../../text/python-compat.js";
import { alpacaRules, InstructionRuleChecker, type InstructionRules, type Rejection } from "./rules.js";

export interface SimilarityDetails {
  /** The most similar pool instructions, best first (Alpaca keeps 10), instruction → ROUGE-L F1. */
  most_similar_instructions: Record<string, number>;
  /** Mean ROUGE-L F1 against the whole pool (numpy's mean). */
  avg_similarity_score: number;
}

export type FilterDecision =
  | { kept: true; details?: SimilarityDetails }
  | { kept: false; rejection: Rejection };

export interface InstructionFilterOptions {
  rules?: InstructionRules;
  /** Reject when ROUGE-L F1 against any pool instruction is strictly above this. Alpaca: 0.7. */
  similarityThreshold?: number;
  /** "indexed" (default) decides exactly as "exhaustive" (the reference all-pairs scan), much faster. */
  pool?: "indexed" | "exhaustive";
  /**
   * Whether kept rows carry Alpaca's similarity details. They need every kept row scored against the
   * whole pool (all pairs again, bit-parallel), so "none" is the fast path for large filtering runs.
   */
  details?: "full" | "none";
  mostSimilarCount?: number;
}

/**
 * Alpaca's filters in Alpaca's order — length, blacklist, forbidden prefix, punctuation, non-ASCII,
 * then ROUGE-L against seeds and every instruction kept so far. Kept instructions join the pool, so
 * the decision for a row depends on the rows kept before it, exactly as in the reference loop.
 */
export class InstructionFilter {
  private readonly checker: InstructionRuleChecker;
  private readonly pool: RougePool;
  private readonly texts: string[] = [];
  readonly threshold: number;
  readonly details: "full" | "none";
  private readonly mostSimilarCount: number;

  constructor(seedInstructions: readonly string[], options: InstructionFilterOptions = {}) {
    this.threshold = options.similarityThreshold ?? 0.7;
    if (!(this.threshold > 0 && this.threshold <= 1)) {
      throw new InvalidArgumentError("similarityThreshold", `must be in (0, 1], got ${options.similarityThreshold}`);
    }
    this.checker = new InstructionRuleChecker(options.rules ?? alpacaRules);
    this.pool = options.pool === "exhaustive" ? new ExhaustiveRougePool("table") : new IndexedRougePool({ threshold: this.threshold });
    this.details = options.details ?? "full";
    this.mostSimilarCount = options.mostSimilarCount ?? 10;
    for (const instruction of seedInstructions) this.addToPool(instruction);
  }

  get poolSize(): number {
    return this.pool.size;
  }

  /** Adds an instruction to the pool without filtering it (resuming a run re-adds its kept rows). */
  addToPool(instruction: string): void {
    this.pool.add(rougeTokenize(instruction));
    this.texts.push(instruction);
  }

  /** Decides one instruction; a kept one joins the pool. */
  consider(instruction: string): FilterDecision {
    const ruleRejection = this.checker.check(instruction);
    if (ruleRejection) return { kept: false, rejection: ruleRejection };
    const tokens = rougeTokenize(instruction);
    const hit = this.pool.findAbove(tokens, this.threshold);
    if (hit) {
      return {
        kept: false,
        rejection: { reason: "too-similar", detail: `ROUGE-L ${hit.score.toFixed(3)} with "${this.texts[hit.index]}"` },
      };
    }
    const details = this.details === "full" ? this.similarityDetails(tokens) : undefined;
    this.pool.add(tokens);
    this.texts.push(instruction);
    return details ? { kept: true, details } : { kept: true };
  }

  private similarityDetails(tokens: string[]): SimilarityDetails {
    const scores = this.pool.scoreAll(tokens);
    const top = topIndices(scores, this.mostSimilarCount);
    const mostSimilar: Record<string, number> = {};
    for (const index of top) mostSimilar[this.texts[index]] = scores[index];
    return { most_similar_instructions: mostSimilar, avg_similarity_score: scores.length ? numpyMean(scores) : 0 };
  }
}

/**
 * Alpaca's `np.argsort(scores)[-k:][::-1]`: the k highest scores, highest first, and among equal
 * scores the later pool entry first (what reversing a stable ascending sort gives). A bounded
 * insertion in one pass instead of sorting the whole pool for every kept row.
 */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  if (k <= 0) return top;
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index];
    if (top.length === k && score < scores[top[k - 1]]) continue;
    // Scanning in pool order, an equal score belongs above the earlier entries that have it.
    let position = top.length;
    while (position > 0 && score >= scores[top[position - 1]]) position--;
    if (position < k) {
      top.splice(position, 0, index);
      if (top.length > k) top.pop();
    }
  }
  return top;
}
