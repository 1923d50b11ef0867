/** A growing pool of instructions that new ones are compared against with ROUGE-L F1. */
export interface SimilarityHit {
  /** Position in the pool (insertion order). */
  index: number;
  score: number;
}

export interface RougePool {
  readonly size: number;
  /** Adds tokenized text to the pool; returns its index. */
  add(tokens: readonly string[]): number;
  /**
   * The best-scoring pool entry whose ROUGE-L F1 against `tokens` is strictly above the threshold,
   * or undefined when none is (Alpaca's `max(rouge_scores) > 0.7`).
   */
  findAbove(tokens: readonly string[], threshold: number): SimilarityHit | undefined;
  /** ROUGE-L F1 of `tokens` (as target) against every pool entry, in pool order. */
  scoreAll(tokens: readonly string[]): Float64Array;
}
