import { InvalidArgumentError } from "../../errors/index.js";
import { BitParallelLcs, popcount32 } from "./lcs.js";
import type { RougePool, SimilarityHit } from "./pool.js";
import { rougeLF1FromLcs } from "./rouge-l.js";

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
 * indexed by its prefix for τ(n); a query probes its prefix for τ(m). Candidates then pass a length
 * bound and PPJoin's positional bound on the overlap, and only survivors get a bit-parallel LCS. The
 * bounds use θ minus a margin far above floating-point error, and the final test is rouge_score's own F1 arithmetic, so nothing
 * that the reference rejects can be missed and nothing extra is rejected.
 *
 * The global order is "rarest token first" (frequencies frozen at the last rebuild; tokens seen since
 * count as frequency 0). Rare elements make short posting lists; the index is rebuilt whenever the
 * pool doubles, so the order tracks the data at amortised O(total tokens · log pool) cost.
 */
const BOUND_MARGIN = 1e-9;
/**
 * Element key = token id × 2^26 + occurrence: exact (no two elements share a key) for fewer than 2^26
 * occurrences of a token in one text and 2^27 distinct tokens, far beyond any instruction.
 */
const OCCURRENCE_SLOTS = 2 ** 26;
const ORDER_FREQUENCY_SCALE = 2 ** 24;

export interface IndexedPoolStatistics {
  queries: number;
  candidates: number;
  lcsComputed: number;
  rebuilds: number;
}

export class IndexedRougePool implements RougePool {
  private readonly ids = new Map<string, number>();
  private entries: Int32Array[] = [];
  /** All entries' token ids back to back (offsets[i]..offsets[i+1]): one linear scan for scoreAll. */
  private flatTokens = new Int32Array(4096);
  private flatOffsets: number[] = [0];
  /** Element key → flat (entry index, position of the element in that entry's ordered elements) pairs. */
  private postings = new Map<number, number[]>();
  /**
   * Global order key per token id: document frequency at the last rebuild × 2^24 + id (ids seen since
   * then count as frequency 0), so sorting by it puts the rarest tokens first, ties by id.
   */
  private orderKey = new Float64Array(1024);
  private sizeAtRebuild = 0;
  /** Per-token match masks of the current query (zeroed after each query). */
  private singleMasks = new Int32Array(1024);
  /** Per-entry "already a candidate" stamps, reset by bumping the epoch instead of clearing. */
  private seenEpoch = new Int32Array(1024);
  /** Matches counted so far per candidate entry in the current probe; −1 once the positional filter drops it. */
  private partialOverlap = new Int32Array(1024);
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
    const end = this.flatOffsets[this.flatOffsets.length - 1];
    if (end + ids.length > this.flatTokens.length) {
      const grown = new Int32Array(Math.max(end + ids.length, this.flatTokens.length * 2));
      grown.set(this.flatTokens.subarray(0, end));
      this.flatTokens = grown;
    }
    this.flatTokens.set(ids, end);
    this.flatOffsets.push(end + ids.length);
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
    const lcs = m <= 32 ? this.singleWordLcs(queryIds) : this.multiWordLcs(queryIds);
    let best: SimilarityHit | undefined;
    try {
      for (const index of candidates) {
        const other = this.entries[index];
        const n = other.length;
        if ((2 * Math.min(m, n)) / (m + n) <= bound) continue;
        this.statistics.lcsComputed++;
        const score = rougeLF1FromLcs(lcs.lengthWith(other), m, n);
        if (score > threshold && (!best || score > best.score)) best = { index, score };
      }
    } finally {
      lcs.release();
    }
    return best;
  }

  scoreAll(tokens: readonly string[]): Float64Array {
    const scores = new Float64Array(this.entries.length);
    const m = tokens.length;
    if (m === 0) return scores;
    const queryIds = tokens.map((token) => this.ids.get(token) ?? -1);
    if (m > 32) {
      const lcs = new BitParallelLcs(queryIds);
      for (let i = 0; i < this.entries.length; i++) scores[i] = rougeLF1FromLcs(lcs.lengthWith(this.entries[i]), m, this.entries[i].length);
      return scores;
    }
    // The one-word bit-parallel LCS written out over the flat token array: this loop runs for every
    // kept row against the whole pool (Alpaca's similarity details), so it is kept call-free.
    const lcs = this.singleWordLcs(queryIds);
    const masks = this.singleMasks;
    const flat = this.flatTokens;
    const offsets = this.flatOffsets;
    const valid = m === 32 ? 0xffffffff : ((1 << m) >>> 0) - 1;
    try {
      for (let i = 0; i < scores.length; i++) {
        const start = offsets[i];
        const end = offsets[i + 1];
        let v = 0xffffffff;
        for (let j = start; j < end; j++) {
          const mask = masks[flat[j]];
          if (mask === 0) continue;
          v = (((v + ((v & mask) >>> 0)) >>> 0) | (v & ~mask)) >>> 0;
        }
        scores[i] = rougeLF1FromLcs(popcount32(~v & valid), m, end - start);
      }
    } finally {
      lcs.release();
    }
    return scores;
  }


  /**
   * Probes the query's prefix. Postings hold (entry, position) pairs so PPJoin's positional filter
   * applies: elements are visited in the global order in both sequences, so after a match at query
   * position i and entry position j the overlap can grow by at most min(m−i−1, n−j−1) more; an entry
   * whose best possible overlap falls below the pair's required overlap is dropped for this query.
   */
  private candidatesFor(queryIds: number[], threshold: number): number[] {
    const elements = this.orderedElements(queryIds);
    const m = elements.length;
    const prefix = prefixLength(m, threshold);
    const bound = threshold - BOUND_MARGIN;
    this.ensureEntryScratch();
    const epoch = ++this.epoch;
    const seen = this.seenEpoch;
    const overlap = this.partialOverlap;
    const candidates: number[] = [];
    for (let i = 0; i < prefix; i++) {
      const posting = this.postings.get(elements[i]);
      if (!posting) continue;
      for (let p = 0; p < posting.length; p += 2) {
        const index = posting[p];
        const n = this.entries[index].length;
        const required = this.requiredOverlapBySum(m + n, bound);
        if (required > (m < n ? m : n)) continue; // length filter: even full overlap is not enough
        if (seen[index] !== epoch) {
          seen[index] = epoch;
          overlap[index] = 0;
          candidates.push(index);
        } else if (overlap[index] < 0) continue;
        const reachable = overlap[index] + 1 + Math.min(m - i - 1, n - posting[p + 1] - 1);
        overlap[index] = reachable >= required ? overlap[index] + 1 : -1;
      }
    }
    let kept = 0;
    for (const index of candidates) if (overlap[index] > 0) candidates[kept++] = index;
    candidates.length = kept;
    this.statistics.candidates += candidates.length;
    return candidates;
  }

  /**
   * Queries of at most 32 tokens (nearly every instruction) run the bit-parallel LCS in one machine
   * word with match masks in a dense array indexed by token id: a candidate then costs one array read,
   * two additions and a few bit operations per token — cheaper than even counting its token overlap,
   * so no separate overlap bound is computed.
   */
  private singleWordLcs(queryIds: number[]): { lengthWith(other: Int32Array): number; release(): void } {
    if (this.singleMasks.length < this.ids.size) this.singleMasks = new Int32Array(Math.max(this.ids.size, this.singleMasks.length * 2));
    const masks = this.singleMasks;
    queryIds.forEach((id, position) => {
      if (id >= 0) masks[id] |= 1 << position;
    });
    const m = queryIds.length;
    const valid = m === 32 ? 0xffffffff : ((1 << m) >>> 0) - 1;
    return {
      lengthWith(other: Int32Array): number {
        let v = 0xffffffff;
        for (let j = 0; j < other.length; j++) {
          const mask = masks[other[j]];
          if (mask === 0) continue;
          v = (((v + ((v & mask) >>> 0)) >>> 0) | (v & ~mask)) >>> 0;
        }
        return popcount32(~v & valid);
      },
      release(): void {
        for (const id of queryIds) if (id >= 0) masks[id] = 0;
      },
    };
  }

  private multiWordLcs(queryIds: number[]): { lengthWith(other: Int32Array): number; release(): void } {
    const lcs = new BitParallelLcs(queryIds);
    return { lengthWith: (other) => lcs.lengthWith(other), release: () => {} };
  }

  private requiredBySum: number[] = [];
  private requiredBound = Number.NaN;

  /** requiredOverlap depends only on m + n: memoised per sum for the probe's inner loop. */
  private requiredOverlapBySum(sum: number, bound: number): number {
    if (bound !== this.requiredBound) {
      this.requiredBySum = [];
      this.requiredBound = bound;
    }
    let required = this.requiredBySum[sum];
    if (required === undefined) {
      required = requiredOverlap(sum, bound);
      this.requiredBySum[sum] = required;
    }
    return required;
  }

  private ensureEntryScratch(): void {
    if (this.seenEpoch.length < this.entries.length) {
      const grown = new Int32Array(Math.max(this.entries.length, this.seenEpoch.length * 2));
      grown.set(this.seenEpoch);
      this.seenEpoch = grown;
      this.partialOverlap = new Int32Array(grown.length);
    }
  }

  /** Element keys (token, occurrence) sorted by the frozen global order: rarest token first. */
  private orderedElements(tokenIds: ArrayLike<number>): number[] {
    const orderKey = this.orderKey;
    const keys: number[] = [];
    // Unknown query tokens (id −1) match no entry; they rank first and still count towards the prefix length.
    let known = 0;
    for (let i = 0; i < tokenIds.length; i++) if (tokenIds[i] < 0) keys.push(-1);
    else known++;
    const sorted = new Int32Array(known);
    for (let i = 0, k = 0; i < tokenIds.length; i++) if (tokenIds[i] >= 0) sorted[k++] = tokenIds[i];
    sorted.sort((a, b) => orderKey[a] - orderKey[b] || a - b);
    let occurrence = 0;
    for (let i = 0; i < sorted.length; i++) {
      occurrence = i > 0 && sorted[i] === sorted[i - 1] ? occurrence + 1 : 0;
      keys.push(sorted[i] * OCCURRENCE_SLOTS + occurrence);
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
      posting.push(index, i);
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
    for (let id = 0; id < frequency.length; id++) this.orderKey[id] = frequency[id] * ORDER_FREQUENCY_SCALE + id;
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
      if (id >= this.orderKey.length) {
        const grown = new Float64Array(this.orderKey.length * 2);
        grown.set(this.orderKey);
        this.orderKey = grown;
      }
      this.orderKey[id] = id;
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

/** The least overlap o with 2o/sum > bound (sum = m + n): below it, even a perfect LCS cannot exceed the threshold. */
function requiredOverlap(sum: number, bound: number): number {
  let overlap = Math.floor((bound * sum) / 2);
  while (overlap > 0 && (2 * (overlap - 1)) / sum > bound) overlap--;
  while (!((2 * overlap) / sum > bound)) overlap++;
  return overlap;
}
