import { relaxedSimdAvailable } from "./relaxed-simd.js";
import { FunctionWriter, moduleWithFunctions, wasm, type WasmFunction } from "./attention-wasm-ops.js";

// Causal attention for one query head as WebAssembly SIMD, generated for one head size HS (a multiple
// of 4) and one sequence length T, so every row stride and region offset is a constant in the code.
// The per-head matrices live in the module's own memory (the driver in ./attention-units.ts copies a
// unit's q/k/v rows in: O(T*HS) against O(T^2*HS) of arithmetic), and every product is one of three
// register-blocked shapes, 4 rows x 8 columns (two f32x4) of accumulators:
//   scores:          D[t, t2]  = X[t, :] . Y[t2, :]   for t2 <= t (Y as 8-column panels, all offsets constant)
//   rowsTimes:       D[t, :]   = sum_{t2 <= t} A[t, t2] Y[t2, :]          (A lower triangular)
//   transposedTimes: D[t2, :] += sum_{t >= t2} A[t, t2] Y[t, :]           (A^T, for dK and dV)
// Forward:  S = (q*scale) k^T, P = softmax(S) row by row (vector exp), out = P v.
// Backward: dP = dout v^T, dS = P (dP - rowsum(P dP)) scale, dq = dS k, dv += P^T dout, dk += dS^T q.
// Rows are padded to Tp (a multiple of 8) with zeros; the softmax passes write exact zeros above the
// diagonal, so the triangular products may run over whole 4-row blocks. Accumulation is float32 in
// lanes (as BLAS does), so results differ from the JS kernels by rounding only.

export interface AttentionLayout {
  HS: number;
  T: number;
  /** T rounded up to a multiple of 8: the row stride of the T x T matrices. */
  Tp: number;
  // float offsets of the regions ([Tp, HS] rows unless noted)
  q: number;
  dout: number;
  /** out in forward, dq in backward. */
  out: number;
  kNatural: number;
  /** k as panels of 8 rows, transposed: [Tp / 8][HS][8]. */
  kPanel: number;
  vNatural: number;
  vPanel: number;
  dk: number;
  dv: number;
  /** [Tp, Tp] probabilities (scores during the forward pass). */
  probs: number;
  /** [Tp, Tp] dP, then dS in place. */
  scores: number;
  pages: number;
}

/** Sequences longer than this stay on the JS kernels (two T x T matrices per thread would pass 1 GiB). */
export const MAX_SIMD_ATTENTION_T = 8192;

export function attentionLayout(HS: number, T: number): AttentionLayout {
  const Tp = Math.ceil(T / 8) * 8;
  let used = 0;
  const take = (floats: number) => {
    const at = used;
    used += floats;
    return at;
  };
  const rows = Tp * HS, square = Tp * Tp;
  const layout = {
    HS, T, Tp,
    q: take(rows), dout: take(rows), out: take(rows),
    kNatural: take(rows), kPanel: take(rows), vNatural: take(rows), vPanel: take(rows),
    dk: take(rows), dv: take(rows),
    probs: take(square), scores: take(square),
  };
  return { ...layout, pages: Math.ceil((used * 4) / 65536) };
}

const ROWS = 4; // rows per register block
const VECTORS = 2; // f32x4 per register block row: 8 accumulators, leaving registers for the loads

/** The [offset, vectors] groups of the head dimension, VECTORS f32x4 at a time. */
function dimensionGroups(HS: number): [first: number, vectors: number][] {
  const groups: [number, number][] = [];
  for (let first = 0; first < HS; first += 4 * VECTORS) groups.push([first, Math.min(VECTORS, (HS - first) / 4)]);
  return groups;
}

class KernelWriter extends FunctionWriter {
  constructor(private readonly layout: AttentionLayout, private readonly fused: boolean) {
    super(40, 48);
  }

  /** acc = a * b + acc. */
  madd(a: number, b: number, acc: number): void {
    const get = wasm.localGet;
    if (this.fused) this.set(acc, get(a), get(b), get(acc), wasm.f32x4RelaxedMadd);
    else this.set(acc, get(acc), get(a), get(b), wasm.f32x4Mul, wasm.f32x4Add);
  }

  /** The block's accumulators, allocated once per product and zeroed for each dimension group. */
  private accumulators(): (count: number) => number[] {
    const all = Array.from({ length: ROWS * VECTORS }, () => this.v128());
    return (count) => {
      const acc = all.slice(0, count);
      for (const a of acc) this.set(a, wasm.f32x4Const(0));
      return acc;
    };
  }

  /** D[t, t2] = X[t, :] . Y[t2, :] for column blocks of 8 up to the diagonal block (Y given as panels). */
  scores(dst: number, x: number, panel: number): void {
    const { HS, Tp } = this.layout;
    const get = wasm.localGet, c32 = wasm.i32Const;
    const t0 = this.i32(), c = this.i32(), xRow = this.i32(), dRow = this.i32(), pPtr = this.i32(), dPtr = this.i32();
    const k = [this.v128(), this.v128()], s = this.v128();
    const acc = Array.from({ length: ROWS * 2 }, () => this.v128());
    this.forRange(t0, c32(0), c32(Tp), ROWS, () => {
      this.set(xRow, get(t0), c32(HS * 4), wasm.i32Mul, c32(x * 4), wasm.i32Add);
      this.set(dRow, get(t0), c32(Tp * 4), wasm.i32Mul, c32(dst * 4), wasm.i32Add);
      this.forRange(c, c32(0), [...get(t0), ...c32(ROWS), ...wasm.i32Add], 8, () => {
        this.set(pPtr, get(c), c32(HS * 4), wasm.i32Mul, c32(panel * 4), wasm.i32Add);
        this.set(dPtr, get(c), c32(4), wasm.i32Mul, get(dRow), wasm.i32Add);
        for (const a of acc) this.set(a, wasm.f32x4Const(0));
        for (let i = 0; i < HS; i++) {
          this.set(k[0], get(pPtr), wasm.v128Load(i * 32));
          this.set(k[1], get(pPtr), wasm.v128Load(i * 32 + 16));
          for (let r = 0; r < ROWS; r++) {
            this.set(s, get(xRow), wasm.v128Load32Splat((r * HS + i) * 4));
            this.madd(s, k[0], acc[r * 2]);
            this.madd(s, k[1], acc[r * 2 + 1]);
          }
        }
        for (let r = 0; r < ROWS; r++) for (let j = 0; j < 2; j++) this.emit(get(dPtr), get(acc[r * 2 + j]), wasm.v128Store(r * Tp * 4 + j * 16));
      });
    });
  }

  /** D[t, :] = sum over t2 < (t's block end) of A[t, t2] Y[t2, :]; A must be zero above the diagonal. */
  rowsTimes(dst: number, a: number, y: number): void {
    const { HS, Tp } = this.layout;
    const get = wasm.localGet, c32 = wasm.i32Const;
    const t0 = this.i32(), aRow = this.i32(), aEnd = this.i32(), aPtr = this.i32(), yPtr = this.i32(), dBase = this.i32();
    const s = this.v128(), yv = [this.v128(), this.v128()], zeroed = this.accumulators();
    this.forRange(t0, c32(0), c32(Tp), ROWS, () => {
      this.set(aRow, get(t0), c32(Tp * 4), wasm.i32Mul, c32(a * 4), wasm.i32Add);
      this.set(aEnd, get(t0), c32(ROWS), wasm.i32Add, c32(4), wasm.i32Mul, get(aRow), wasm.i32Add);
      this.set(dBase, get(t0), c32(HS * 4), wasm.i32Mul, c32(dst * 4), wasm.i32Add);
      for (const [first, vectors] of dimensionGroups(HS)) {
        const acc = zeroed(ROWS * vectors);
        this.set(yPtr, c32((y + first) * 4));
        this.forRange(aPtr, get(aRow), get(aEnd), 16, () => {
          for (let u = 0; u < 4; u++) {
            for (let j = 0; j < vectors; j++) this.set(yv[j], get(yPtr), wasm.v128Load((u * HS + j * 4) * 4));
            for (let r = 0; r < ROWS; r++) {
              this.set(s, get(aPtr), wasm.v128Load32Splat(r * Tp * 4 + u * 4));
              for (let j = 0; j < vectors; j++) this.madd(s, yv[j], acc[r * vectors + j]);
            }
          }
          this.set(yPtr, get(yPtr), c32(4 * HS * 4), wasm.i32Add);
        });
        for (let r = 0; r < ROWS; r++) {
          for (let j = 0; j < vectors; j++) this.emit(get(dBase), get(acc[r * vectors + j]), wasm.v128Store((r * HS + first + j * 4) * 4));
        }
      }
    });
  }

  /** D[t2, :] += sum over t >= (t2's block start) of A[t, t2] Y[t, :]; A must be zero above the diagonal. */
  transposedTimes(dst: number, a: number, y: number): void {
    const { HS, Tp } = this.layout;
    const get = wasm.localGet, c32 = wasm.i32Const;
    const s0 = this.i32(), aPtr = this.i32(), aEnd = this.i32(), yPtr = this.i32(), dBase = this.i32();
    const s = this.v128(), yv = [this.v128(), this.v128()], zeroed = this.accumulators();
    this.forRange(s0, c32(0), c32(Tp), ROWS, () => {
      // a starts at A[s0, s0] and walks down the column block; it ends past row Tp - 1
      this.set(aEnd, get(s0), c32(4), wasm.i32Mul, c32((a + Tp * Tp) * 4), wasm.i32Add);
      this.set(dBase, get(s0), c32(HS * 4), wasm.i32Mul, c32(dst * 4), wasm.i32Add);
      for (const [first, vectors] of dimensionGroups(HS)) {
        const acc = zeroed(ROWS * vectors);
        this.set(yPtr, get(s0), c32(HS * 4), wasm.i32Mul, c32((y + first) * 4), wasm.i32Add);
        this.forRange(aPtr, [...get(s0), ...c32((Tp + 1) * 4), ...wasm.i32Mul, ...c32(a * 4), ...wasm.i32Add], get(aEnd), 4 * Tp * 4, () => {
          for (let u = 0; u < 4; u++) {
            for (let j = 0; j < vectors; j++) this.set(yv[j], get(yPtr), wasm.v128Load((u * HS + j * 4) * 4));
            for (let r = 0; r < ROWS; r++) {
              this.set(s, get(aPtr), wasm.v128Load32Splat((u * Tp + r) * 4));
              for (let j = 0; j < vectors; j++) this.madd(s, yv[j], acc[r * vectors + j]);
            }
          }
          this.set(yPtr, get(yPtr), c32(4 * HS * 4), wasm.i32Add);
        });
        for (let r = 0; r < ROWS; r++) {
          for (let j = 0; j < vectors; j++) {
            const offset = (r * HS + first + j * 4) * 4;
            this.emit(get(dBase), get(dBase), wasm.v128Load(offset), get(acc[r * vectors + j]), wasm.f32x4Add, wasm.v128Store(offset));
          }
        }
      }
    });
  }

  /** n = t + 1 valid entries in row t (0 for padding rows) and the byte length of the 4-aligned prefix covering them. */
  private validLength(t: number, n: number, n4Bytes: number): void {
    const { T } = this.layout;
    const get = wasm.localGet, c32 = wasm.i32Const;
    this.set(n, get(t), c32(1), wasm.i32Add, c32(0), get(t), c32(T), wasm.i32LtS, wasm.select);
    this.set(n4Bytes, get(n), c32(3), wasm.i32Add, c32(-4), wasm.i32And, c32(4), wasm.i32Mul);
  }

  /** Pushes the four lanes of a vector combined with a scalar op (f32.add, f32.max). */
  private horizontal(vector: number, combine: number[]): void {
    const get = wasm.localGet;
    this.emit(get(vector), wasm.f32x4ExtractLane(0), get(vector), wasm.f32x4ExtractLane(1), combine);
    this.emit(get(vector), wasm.f32x4ExtractLane(2), combine, get(vector), wasm.f32x4ExtractLane(3), combine);
  }

  /** Row by row: probs = softmax over t2 <= t of the scores stored there; zeros above the diagonal and in padding rows. */
  softmaxRows(): void {
    const { Tp, probs } = this.layout;
    const get = wasm.localGet, c32 = wasm.i32Const;
    const t = this.i32(), row = this.i32(), n = this.i32(), n4Bytes = this.i32(), j = this.i32(), at = this.i32();
    const max = this.v128(), sum = this.v128(), x = this.v128(), e = this.v128(), inv = this.v128();
    const exp = this.expConstants();
    this.forRange(t, c32(0), c32(Tp), 1, () => {
      this.set(row, get(t), c32(Tp * 4), wasm.i32Mul, c32(probs * 4), wasm.i32Add);
      this.validLength(t, n, n4Bytes);
      // scores past the diagonal inside the last vector must not win the maximum
      this.forRange(j, [...get(n), ...c32(4), ...wasm.i32Mul], get(n4Bytes), 4, () => this.emit(get(row), get(j), wasm.i32Add, wasm.f32Const(-Infinity), wasm.f32Store(0)));
      this.set(max, wasm.f32x4Const(-Infinity));
      this.forRange(j, c32(0), get(n4Bytes), 16, () => this.set(max, get(max), get(row), get(j), wasm.i32Add, wasm.v128Load(0), wasm.f32x4Max));
      this.horizontal(max, wasm.f32Max);
      this.set(max, wasm.f32x4Splat);
      this.set(sum, wasm.f32x4Const(0));
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.set(at, get(row), get(j), wasm.i32Add);
        this.set(x, get(at), wasm.v128Load(0), get(max), wasm.f32x4Sub);
        this.exp(x, e, exp);
        this.emit(get(at), get(e), wasm.v128Store(0));
        this.set(sum, get(sum), get(e), wasm.f32x4Add);
      });
      // the masked lanes came out as ~1e-38 (exp is clamped at -87): below the rounding of sum >= 1, but stored as exact zeros
      this.forRange(j, [...get(n), ...c32(4), ...wasm.i32Mul], get(n4Bytes), 4, () => this.emit(get(row), get(j), wasm.i32Add, wasm.f32Const(0), wasm.f32Store(0)));
      this.emit(wasm.f32Const(1));
      this.horizontal(sum, wasm.f32Add);
      this.set(inv, wasm.f32Div, wasm.f32x4Splat);
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.set(at, get(row), get(j), wasm.i32Add);
        this.emit(get(at), get(at), wasm.v128Load(0), get(inv), wasm.f32x4Mul, wasm.v128Store(0));
      });
      this.forRange(j, get(n4Bytes), c32(Tp * 4), 16, () => this.emit(get(row), get(j), wasm.i32Add, wasm.f32x4Const(0), wasm.v128Store(0)));
    });
  }

  /**
   * Row by row: dS = P (dP - sum_t2 P dP) scale in place of dP. The probabilities came from outside
   * (only t2 <= t is defined there), so the entries past the diagonal inside the last vector are zeroed
   * first; padding rows of both are zeroed whole (the transposed products read them).
   */
  softmaxBackwardRows(scale: number): void {
    const { T, Tp, probs, scores } = this.layout;
    const get = wasm.localGet, c32 = wasm.i32Const;
    const t = this.i32(), pRow = this.i32(), dRow = this.i32(), n = this.i32(), n4Bytes = this.i32(), j = this.i32(), zeroEnd = this.i32();
    const weighted = this.v128(), scaleV = this.v128(), p = this.v128();
    this.set(scaleV, wasm.f32x4Const(scale));
    this.forRange(t, c32(0), c32(Tp), 1, () => {
      this.set(pRow, get(t), c32(Tp * 4), wasm.i32Mul, c32(probs * 4), wasm.i32Add);
      this.set(dRow, get(t), c32(Tp * 4), wasm.i32Mul, c32(scores * 4), wasm.i32Add);
      this.validLength(t, n, n4Bytes);
      this.forRange(j, [...get(n), ...c32(4), ...wasm.i32Mul], get(n4Bytes), 4, () => this.emit(get(pRow), get(j), wasm.i32Add, wasm.f32Const(0), wasm.f32Store(0)));
      this.set(weighted, wasm.f32x4Const(0));
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.set(p, get(pRow), get(j), wasm.i32Add, wasm.v128Load(0));
        this.set(weighted, get(weighted), get(p), get(dRow), get(j), wasm.i32Add, wasm.v128Load(0), wasm.f32x4Mul, wasm.f32x4Add);
      });
      this.horizontal(weighted, wasm.f32Add);
      this.set(weighted, wasm.f32x4Splat);
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.emit(get(dRow), get(j), wasm.i32Add);
        this.emit(get(dRow), get(j), wasm.i32Add, wasm.v128Load(0), get(weighted), wasm.f32x4Sub);
        this.emit(get(pRow), get(j), wasm.i32Add, wasm.v128Load(0), wasm.f32x4Mul, get(scaleV), wasm.f32x4Mul, wasm.v128Store(0));
      });
      this.set(zeroEnd, get(n4Bytes), c32(Tp * 4), get(t), c32(T), wasm.i32LtS, wasm.select);
      this.forRange(j, get(n4Bytes), get(zeroEnd), 16, () => {
        this.emit(get(pRow), get(j), wasm.i32Add, wasm.f32x4Const(0), wasm.v128Store(0));
        this.emit(get(dRow), get(j), wasm.i32Add, wasm.f32x4Const(0), wasm.v128Store(0));
      });
    });
  }

  private expConstants() {
    const constant = (value: number) => {
      const local = this.v128();
      this.set(local, wasm.f32x4Const(value));
      return local;
    };
    const exponentBias = this.v128();
    this.set(exponentBias, wasm.i32x4Const(127));
    return {
      exponentBias,
      low: constant(-87),
      log2e: constant(Math.LOG2E),
      ln2High: constant(0.693359375),
      ln2Low: constant(-2.12194440e-4),
      negLn2High: constant(-0.693359375),
      negLn2Low: constant(2.12194440e-4),
      poly: [1.987569150e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(constant),
      one: constant(1),
      work: [this.v128(), this.v128(), this.v128()],
    };
  }

  /**
   * out = exp(x) for x <= 0, Cephes' expf: x = n ln2 + r (n = round(x log2 e)), a degree-6 polynomial for
   * e^r, times 2^n built in the exponent bits. Inputs below -87 give e^-87 (the smallest normal float);
   * NaN stays NaN.
   */
  private exp(x: number, out: number, k: ReturnType<KernelWriter["expConstants"]>): void {
    const get = wasm.localGet;
    const [n, r, z] = k.work;
    this.set(x, get(x), get(k.low), wasm.f32x4Max);
    this.set(n, get(x), get(k.log2e), wasm.f32x4Mul, wasm.f32x4Nearest);
    if (this.fused) {
      this.set(r, get(n), get(k.negLn2High), get(x), wasm.f32x4RelaxedMadd);
      this.set(r, get(n), get(k.negLn2Low), get(r), wasm.f32x4RelaxedMadd);
    } else {
      this.set(r, get(x), get(n), get(k.ln2High), wasm.f32x4Mul, wasm.f32x4Sub);
      this.set(r, get(r), get(n), get(k.ln2Low), wasm.f32x4Mul, wasm.f32x4Sub);
    }
    this.set(out, get(k.poly[0]));
    for (const c of k.poly.slice(1)) {
      if (this.fused) this.set(out, get(out), get(r), get(c), wasm.f32x4RelaxedMadd);
      else this.set(out, get(out), get(r), wasm.f32x4Mul, get(c), wasm.f32x4Add);
    }
    this.set(z, get(r), get(r), wasm.f32x4Mul);
    this.madd(out, z, r); // out * r^2 + r, into r
    this.set(out, get(r), get(k.one), wasm.f32x4Add);
    // 2^n: (n + 127) << 23 as float bits
    this.set(out, get(out), get(n), wasm.i32x4TruncSatF32x4S, get(k.exponentBias), wasm.i32x4Add, wasm.i32Const(23), wasm.i32x4Shl, wasm.f32x4Mul);
  }
}

/** forwardHead() and backwardHead() for one (HS, T), over the regions of attentionLayout(HS, T). */
export function buildAttentionModule(HS: number, T: number, fused = relaxedSimdAvailable()): Uint8Array<ArrayBuffer> {
  if (HS % 4 !== 0 || HS <= 0) throw new Error(`SIMD attention needs a head size that is a multiple of 4, got ${HS}`);
  const layout = attentionLayout(HS, T);
  const scale = 1 / Math.sqrt(HS);

  const forward = new KernelWriter(layout, fused);
  forward.scores(layout.probs, layout.q, layout.kPanel);
  forward.softmaxRows();
  forward.rowsTimes(layout.out, layout.probs, layout.vNatural);

  const backward = new KernelWriter(layout, fused);
  backward.scores(layout.scores, layout.dout, layout.vPanel);
  backward.softmaxBackwardRows(scale);
  backward.rowsTimes(layout.out, layout.scores, layout.kNatural);
  backward.transposedTimes(layout.dv, layout.probs, layout.dout);
  backward.transposedTimes(layout.dk, layout.scores, layout.q);

  const functions: WasmFunction[] = [
    { name: "forwardHead", locals: forward.locals(), code: forward.code },
    { name: "backwardHead", locals: backward.locals(), code: backward.code },
  ];
  return moduleWithFunctions(functions, layout.pages);
}
