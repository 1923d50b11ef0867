/**
 * Longest common subsequence length of two token sequences.
 *
 * `lcsLengthTable` is rouge_score's `_lcs_table` dynamic programme (O(m·n) cells), kept as the
 * reference. `BitParallelLcs` is the Allison–Dix / Hyyrö bit-vector algorithm: one pass over the other
 * sequence with word-sized additions, O(n·⌈m/32⌉) — same result, far fewer operations.
 */
export function lcsLengthTable<T>(a: readonly T[], b: readonly T[]): number {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return 0;
  let previous = new Uint32Array(n + 1);
  let current = new Uint32Array(n + 1);
  for (let i = 1; i <= m; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= n; j++) {
      current[j] = ai === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[n];
}

/**
 * Precomputes match masks for one sequence `a` (token ids) so that its LCS with many sequences `b`
 * costs one bit-vector pass each.
 */
export class BitParallelLcs {
  private readonly words: number;
  private readonly masks = new Map<number, Uint32Array>();
  private readonly state: Uint32Array;
  private readonly topMask: number;

  constructor(readonly a: ArrayLike<number>) {
    this.words = Math.max(1, Math.ceil(a.length / 32));
    this.state = new Uint32Array(this.words);
    for (let i = 0; i < a.length; i++) {
      let mask = this.masks.get(a[i]);
      if (!mask) {
        mask = new Uint32Array(this.words);
        this.masks.set(a[i], mask);
      }
      mask[i >>> 5] |= 1 << (i & 31);
    }
    const rest = a.length & 31;
    this.topMask = rest === 0 ? 0xffffffff : ((1 << rest) >>> 0) - 1;
  }

  lengthWith(b: ArrayLike<number>): number {
    const m = this.a.length;
    if (m === 0 || b.length === 0) return 0;
    const v = this.state;
    v.fill(0xffffffff);
    const words = this.words;
    for (let j = 0; j < b.length; j++) {
      const mask = this.masks.get(b[j]);
      if (!mask) continue; // no match: V' = (V + 0) | V = V
      let carry = 0;
      for (let w = 0; w < words; w++) {
        const vw = v[w];
        const u = vw & mask[w];
        const sum = vw + (u >>> 0) + carry; // < 2^33, exact in a double
        carry = sum > 0xffffffff ? 1 : 0;
        v[w] = ((sum >>> 0) | (vw & ~mask[w])) >>> 0;
      }
    }
    // LCS = number of zero bits among the first m positions.
    let zeros = 0;
    for (let w = 0; w < words; w++) {
      const valid = w === words - 1 ? this.topMask : 0xffffffff;
      zeros += popcount32(~v[w] & valid);
    }
    return zeros;
  }
}

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
