import { BitParallelLcs, lcsLengthTable } from "./lcs.js";
import type { RougePool, SimilarityHit } from "./pool.js";
import { rougeLFromLcs } from "./rouge-l.js";

/**
 * The reference: every new instruction scored against the whole pool, as Alpaca's
 * generate_instruction.py does. `lcs: "table"` is rouge_score's own O(m·n) programme;
 * "bit-parallel" gives identical scores faster (still all pairs).
 */
export class ExhaustiveRougePool implements RougePool {
  private readonly entries: string[][] = [];
  private readonly ids = new Map<string, number>();
  private readonly idEntries: Int32Array[] = [];

  constructor(private readonly lcs: "table" | "bit-parallel" = "table") {}

  get size(): number {
    return this.entries.length;
  }

  add(tokens: readonly string[]): number {
    this.entries.push([...tokens]);
    this.idEntries.push(Int32Array.from(tokens, (token) => this.idOf(token)));
    return this.entries.length - 1;
  }

  findAbove(tokens: readonly string[], threshold: number): SimilarityHit | undefined {
    const scores = this.scoreAll(tokens);
    let best: SimilarityHit | undefined;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] > threshold && (!best || scores[i] > best.score)) best = { index: i, score: scores[i] };
    }
    return best;
  }

  scoreAll(tokens: readonly string[]): Float64Array {
    const scores = new Float64Array(this.entries.length);
    if (this.lcs === "table") {
      for (let i = 0; i < this.entries.length; i++) {
        const other = this.entries[i];
        scores[i] = rougeLFromLcs(lcsLengthTable(tokens, other), tokens.length, other.length).fmeasure;
      }
      return scores;
    }
    const query = new BitParallelLcs(Int32Array.from(tokens, (token) => this.ids.get(token) ?? -1));
    for (let i = 0; i < this.idEntries.length; i++) {
      const other = this.idEntries[i];
      scores[i] = rougeLFromLcs(query.lengthWith(other), tokens.length, other.length).fmeasure;
    }
    return scores;
  }

  private idOf(token: string): number {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(token, id);
    }
    return id;
  }
}
