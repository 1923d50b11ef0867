import { InvalidArgumentError } from "../../errors/index.js";
import { BitParallelLcs } from "./lcs.js";
import type { RougePool, SimilarityHit } from "./pool.js";
import { rougeLFromLcs } from "./rouge-l.js";

/**
 * The fast pool: finds every entry whose ROUGE-L F1 could exceed the threshold without scoring the
 * whole pool, and gives exactly the reference's decisions.
 *
 * Why it is exact. For token sequences of lengths m and n with LCS length L:
 *   F1 = 2L/(m+n)  and  L ≤ o ≤ min(m, n),  o = multiset overlap (tokens in common, with counts).
 * So F1 > θ needs 2o/(m+o) > θ, i.e. o ≥ τ(m) (and likewise o ≥ τ(n)). Treat the k-th occurrence of a
 * token as the element (token, k): multiset overlap becomes set overlap, and the classic prefix-filter
 * lemma applies — order all elements by one fixed global order; if |x ∩ y| ≥ τ then the first
 * |x| − τ + 1 elements of x and the first |y| − τ + 1 elements of y share an element. Each pool entry is
 * indexed by its prefix for τ(n); a query probes its prefix for τ(m). Candidates then pass two cheap
 * bounds (length, overlap) and only survivors get a (bit-parallel) LCS. The bounds use θ minus a margin
 * far above floating-point error, and the final test is rouge_score's own F1 arithmetic, so nothing
 * that the reference rejects can be missed and nothing extra is rejected.
 *
 * The global order is "rarest token first" (frequencies frozen at the last rebuild; tokens seen since
 * count as frequency 0). Rare elements make short posting lists; the index is rebuilt whenever the
 * pool doubles, so the order tracks the data at amortised O(total tokens · log pool) cost.
 */
const BOUND_MARGIN = 1e-9;
/** Occurrence numbers are capped in the key; merging high occurrences only adds candidates, never loses one. */
const OCCURRENCE_SLOTS = 4096;

export interface IndexedPoolStatistics {
  queries: number;
  candidates: number;
  lcsComputed: number;
  rebuilds: number;
}

export class IndexedRougePool implements RougePool {
  private readonly ids = new Map<string, number>();
  private entries: Int32Array[] = [];
  private postings = new Map<number, number[]>();
  /** Document frequency of each token id at the last rebuild (undefined → 0). */
  private frozenFrequency: number[] = [];
  private sizeAtRebuild = 0;
  /** Scratch arrays indexed by token id / entry index, reset by epoch stamps instead of clearing. */
  private queryCount = new Int32Array(1024);
  private usedCount = new Int32Array(1024);
  private usedEpoch = new Int32Array(1024);
  private seenEpoch = new Int32Array(1024);
  private epoch = 0;
  readonly statistics: IndexedPoolStatistics = { queries: 0, candidates: 0, lcsComputed: 0, rebuilds: 0 };

  /** The lowest threshold queries may use: prefixes are sized for it. */
  readonly indexThreshold: number;

  constructor(private readonly options: { threshold?: number; minimumRebuildSize?: number } = {}) {
    this.indexThreshold = options.threshold ?? 0.7;
    if (!(this.indexThreshold > 0 && this.indexThreshold <= 1)) {
      throw new InvalidArgumentError("threshold", `ROUGE-L threshold must be in (0, 1], got ${options.threshold}`);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  add(tokens: readonly string[]): number {
    const ids = Int32Array.from(tokens, (token) => this.idOf(token));
    const index = this.entries.length;
    this.entries.push(ids);
    const minimum = this.options.minimumRebuildSize ?? 64;
    if (this.entries.length >= minimum && this.entries.length >= 2 * this.sizeAtRebuild) this.rebuild();
    else this.indexEntry(index, this.indexThreshold);
    return index;
  }

  findAbove(tokens: readonly string[], threshold: number): SimilarityHit | undefined {
    if (!(threshold >= this.indexThreshold)) {
      throw new InvalidArgumentError("threshold", `this pool was indexed for ROUGE-L above ${this.indexThreshold}; it cannot answer for ${threshold}`);
    }
    this.statistics.queries++;
    const m = tokens.length;
    if (m === 0) return undefined;
    const queryIds = tokens.map((token) => this.ids.get(token) ?? -1);
    const candidates = this.candidatesFor(queryIds, threshold);
    if (candidates.length === 0) return undefined;

    const bound = threshold - BOUND_MARGIN;
    this.nextEpoch();
    for (const id of queryIds) if (id >= 0) this.queryCount[id] = 0;
    for (const id of queryIds) if (id >= 0) this.queryCount[id]++;
    let lcs: BitParallelLcs | undefined;
    let best: SimilarityHit | undefined;
    for (const index of candidates) {
      const other = this.entries[index];
      const n = other.length;
      if ((2 * Math.min(m, n)) / (m + n) <= bound) continue;
      const overlap = this.multisetOverlap(other);
      if ((2 * overlap) / (m + n) <= bound) continue;
      lcs ??= new BitParallelLcs(queryIds);
      this.statistics.lcsComputed++;
      const score = rougeLFromLcs(lcs.lengthWith(other), m, n).fmeasure;
      if (score > threshold && (!best || score > best.score)) best = { index, score };
    }
    return best;
  }

  scoreAll(tokens: readonly string[]): Float64Array {
    const scores = new Float64Array(this.entries.length);
    if (tokens.length === 0) return scores;
    const lcs = new BitParallelLcs(tokens.map((token) => this.ids.get(token) ?? -1));
    for (let i = 0; i < this.entries.length; i++) {
      const other = this.entries[i];
      scores[i] = rougeLFromLcs(lcs.lengthWith(other), tokens.length, other.length).fmeasure;
    }
    return scores;
  }

  private candidatesFor(queryIds: number[], threshold: number): number[] {
    const elements = this.orderedElements(queryIds);
    const prefix = prefixLength(elements.length, threshold);
    this.ensureEntryScratch();
    const epoch = ++this.epoch;
    const candidates: number[] = [];
    for (let i = 0; i < prefix; i++) {
      const posting = this.postings.get(elements[i]);
      if (!posting) continue;
      for (const index of posting) {
        if (this.seenEpoch[index] === epoch) continue;
        this.seenEpoch[index] = epoch;
        candidates.push(index);
      }
    }
    this.statistics.candidates += candidates.length;
    return candidates;
  }

  /** Multiset overlap of the current query (in queryCount) with `other`. */
  private multisetOverlap(other: Int32Array): number {
    const epoch = ++this.epoch;
    let overlap = 0;
    for (let i = 0; i < other.length; i++) {
      const id = other[i];
      if (id >= this.queryCount.length) continue;
      if (this.usedEpoch[id] !== epoch) {
        this.usedEpoch[id] = epoch;
        this.usedCount[id] = 0;
      }
      if (this.usedCount[id] < this.queryCount[id]) {
        this.usedCount[id]++;
        overlap++;
      }
    }
    return overlap;
  }

  private nextEpoch(): void {
    const vocabulary = this.ids.size;
    if (this.queryCount.length < vocabulary) {
      const length = Math.max(vocabulary, this.queryCount.length * 2);
      this.queryCount = new Int32Array(length);
      this.usedCount = new Int32Array(length);
      this.usedEpoch = new Int32Array(length);
    }
  }

  private ensureEntryScratch(): void {
    if (this.seenEpoch.length < this.entries.length) {
      const grown = new Int32Array(Math.max(this.entries.length, this.seenEpoch.length * 2));
      grown.set(this.seenEpoch);
      this.seenEpoch = grown;
    }
  }

  /** Element keys (token, occurrence) sorted by the frozen global order: rarest token first. */
  private orderedElements(tokenIds: ArrayLike<number>): number[] {
    const frequency = this.frozenFrequency;
    const sorted = Array.from(tokenIds).sort((a, b) => (frequency[a] ?? 0) - (frequency[b] ?? 0) || a - b);
    const keys: number[] = [];
    let occurrence = 0;
    for (let i = 0; i < sorted.length; i++) {
      occurrence = i > 0 && sorted[i] === sorted[i - 1] ? occurrence + 1 : 0;
      // Unknown query tokens (id −1) match no entry; they still count towards the prefix length.
      keys.push(sorted[i] < 0 ? -1 : sorted[i] * OCCURRENCE_SLOTS + Math.min(occurrence, OCCURRENCE_SLOTS - 1));
    }
    return keys;
  }

  private indexEntry(index: number, threshold: number): void {
    const elements = this.orderedElements(this.entries[index]);
    const prefix = prefixLength(elements.length, threshold);
    for (let i = 0; i < prefix; i++) {
      let posting = this.postings.get(elements[i]);
      if (!posting) {
        posting = [];
        this.postings.set(elements[i], posting);
      }
      posting.push(index);
    }
  }

  private rebuild(): void {
    const frequency: number[] = new Array(this.ids.size).fill(0);
    const seen = new Int32Array(this.ids.size).fill(-1);
    this.entries.forEach((entry, index) => {
      for (const id of entry) {
        if (seen[id] !== index) {
          seen[id] = index;
          frequency[id]++;
        }
      }
    });
    this.frozenFrequency = frequency;
    this.postings = new Map();
    for (let i = 0; i < this.entries.length; i++) this.indexEntry(i, this.indexThreshold);
    this.sizeAtRebuild = this.entries.length;
    this.statistics.rebuilds++;
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

/**
 * How many leading elements must be indexed/probed for a sequence of `length` tokens: length − τ + 1,
 * where τ is the least overlap o with 2o/(length+o) > θ − margin (the most any partner allows).
 */
export function prefixLength(length: number, threshold: number): number {
  if (length === 0) return 0;
  const bound = threshold - BOUND_MARGIN;
  for (let overlap = 1; overlap <= length; overlap++) {
    if ((2 * overlap) / (length + overlap) > bound) return length - overlap + 1;
  }
  return 0; // threshold ≥ 1: nothing can exceed it
}
