import type { AttentionShape } from "../reference/attention.js";
import { relaxedSimdAvailable } from "./relaxed-simd.js";
import { FunctionBuilder, i32Params, moduleWithFunctions, op, type FunctionDefinition } from "./wasm-emitter.js";

// Causal GQA attention for one batch element (all its heads) as WebAssembly SIMD, generated for one
// (HS, T, NH, NKV) so every row stride and region offset is a constant in the code. The driver in
// ./attention-units.ts copies the batch element's q/k/v (dout, att, dq/dk/dv) blocks into the module's
// own memory with one memcpy each (the JS arrays are contiguous per batch element; element-wise copies
// of strided head rows cost more than the arithmetic at these sizes) and copies the results back the
// same way; where the operands already live in a shared memory (./attention-resident.ts) the same
// functions run on their addresses there, compiled against residentLayout (private regions only, no
// padding rows). Every product is one of three register-blocked shapes, 4 rows x 8 columns (two f32x4):
//   scores:          D[t, t2]  = X[t, :] . Y[t2, :]   for t2 up to t's block (Y as 8-row panels: constant offsets)
//   rowsTimes:       D[t, :]  (+)= sum_{t2 <= t} A[t, t2] Y[t2, :]        (A lower triangular)
//   transposedTimes: D[t2, :] += sum_{t >= t2} A[t, t2] Y[t, :]          (A^T, for dk and dv)
// Forward, per head: S = q k^T, P = softmax(S * scale) row by row (vector exp), out = P v.
// Backward, per head: dP = dout v^T, dS = P (dP - rowsum(P dP)) scale, dq += dS k, dv += P^T dout, dk += dS^T q.
// Rows are padded to Tp (a multiple of 8) with zeros; the softmax passes write exact zeros above the
// diagonal inside the blocks the products read, so the triangular products may run over whole 4-row
// blocks. Accumulation is float32 in lanes (as BLAS does): results differ from the JS kernels by rounding.

export interface AttentionLayout {
  HS: number;
  T: number;
  NH: number;
  NKV: number;
  /** T rounded up to a multiple of 8: the row count of every region and the row stride of T x T matrices. */
  Tp: number;
  // float offsets of the regions: [Tp, NH * HS] for q, dout, out; [Tp, NKV * HS] for k, v, dk, dv (each
  // exchanged region may be used from its offset or one float further: the functions take its address)
  q: number;
  dout: number;
  /** out in forward, dq in backward. */
  out: number;
  k: number;
  v: number;
  dk: number;
  dv: number;
  /** [NH, Tp, Tp] probabilities (the att block of the batch element). */
  att: number;
  /** [Tp, Tp] dP, then dS in place. */
  scores: number;
  /** One key/value head's k (forward) or v (backward) as panels of 8 rows, transposed: [Tp / 8][HS][8]. */
  panel: number;
  /** Backward: one query head's dout and q rows gathered contiguous, [Tp, HS] each. */
  doutRows: number;
  qRows: number;
  pages: number;
  /**
   * The forward stores zeros in att past each row's last 4-float block up to the row end. The copying
   * kernels do (their att block goes out whole: no stale scores there); the in-place ones need not (the
   * contract defines only t2 <= t, and the products never read past that block): they spare the
   * memory traffic of the upper triangle, half the att writes.
   */
  zeroRowEnds: boolean;
}

/** 2 GiB: byte addresses stay positive i32s. Larger working sets stay on the JS kernels. */
const MAX_PAGES = 32768;

export function attentionLayout(shape: Omit<AttentionShape, "B">): AttentionLayout | null {
  const { HS, T, NH, NKV } = shape;
  const Tp = Math.ceil(T / 8) * 8;
  let used = 0;
  const take = (floats: number) => {
    const at = used;
    used += floats;
    return at;
  };
  const C = NH * HS, KVC = NKV * HS;
  // the regions exchanged with JS arrays have 4 floats to spare, so a block can start 4 bytes in and
  // sit at its source's address modulo 8 (V8 copies shared memory word by word only then)
  const regions = {
    q: take(Tp * C + 4), dout: take(Tp * C + 4), out: take(Tp * C + 4),
    k: take(Tp * KVC + 4), v: take(Tp * KVC + 4), dk: take(Tp * KVC + 4), dv: take(Tp * KVC + 4),
    att: take(NH * Tp * Tp + 4), scores: take(Tp * Tp), panel: take(Tp * HS),
    doutRows: take(Tp * HS), qRows: take(Tp * HS),
  };
  const pages = Math.ceil((used * 4) / 65536);
  return pages > MAX_PAGES ? null : { HS, T, NH, NKV, Tp, ...regions, pages, zeroRowEnds: true };
}

/** Floats of one thread's private regions (scores, panel, doutRows, qRows) for the in-place kernels. */
export function residentScratchFloats(shape: Omit<AttentionShape, "B">): number {
  return shape.T * shape.T + 3 * shape.T * shape.HS;
}

/**
 * The layout of kernels that work in place on operands living in a shared memory (./attention-resident.ts):
 * the exchanged regions are wherever the operands are (the functions take their addresses), so only
 * the private regions have offsets, from scratchAt (a float index of residentScratchFloats floats).
 * T must be a multiple of 8: the operands have no padding rows.
 */
export function residentLayout(shape: Omit<AttentionShape, "B">, scratchAt: number): AttentionLayout | null {
  const { HS, T, NH, NKV } = shape;
  if (T % 8 !== 0 || T < 8) return null;
  const scores = scratchAt, panel = scores + T * T, doutRows = panel + T * HS, qRows = doutRows + T * HS;
  const end = qRows + T * HS;
  if (end * 4 > 2 ** 31) return null;
  const unused = -1;
  return { HS, T, NH, NKV, Tp: T, q: unused, dout: unused, out: unused, k: unused, v: unused, dk: unused, dv: unused, att: unused, scores, panel, doutRows, qRows, pages: Math.ceil((end * 4) / 65536), zeroRowEnds: false };
}

const ROWS = 4; // rows per register block
const VECTORS = 2; // f32x4 per register block row: 8 accumulators, leaving registers for the loads

/** The [offset, vectors] groups of the head dimension, VECTORS f32x4 at a time. */
function dimensionGroups(HS: number): [first: number, vectors: number][] {
  const groups: [number, number][] = [];
  for (let first = 0; first < HS; first += 4 * VECTORS) groups.push([first, Math.min(VECTORS, (HS - first) / 4)]);
  return groups;
}

const get = op.localGet, c32 = op.i32Const;

/** Emitters for the pieces; pointer arguments are i32 locals holding byte addresses. */
class KernelWriter extends FunctionBuilder {
  constructor(name: string, private readonly layout: AttentionLayout, private readonly fused: boolean, params = 0) {
    super(name, i32Params(params), [], { i32: 64, v128: 64 });
  }

  /** acc = a * b + acc. */
  madd(a: number, b: number, acc: number): void {
    if (this.fused) this.assign(acc, get(a), get(b), get(acc), op.f32x4RelaxedMadd);
    else this.assign(acc, get(acc), get(a), get(b), op.f32x4Mul, op.f32x4Add);
  }

  /** A local holding a constant byte address. */
  address(floatOffset: number): number {
    const local = this.i32();
    this.assign(local, c32(floatOffset * 4));
    return local;
  }

  /** local = base + index * stride (bytes). */
  offsetBy(local: number, base: number, index: number, strideBytes: number): void {
    this.assign(local, get(index), c32(strideBytes), op.i32Mul, get(base), op.i32Add);
  }

  /** The block's accumulators, allocated once per product and zeroed for each dimension group. */
  private accumulators(): (count: number) => number[] {
    const all = Array.from({ length: ROWS * VECTORS }, () => this.v128());
    return (count) => {
      const acc = all.slice(0, count);
      for (const a of acc) this.assign(a, op.f32x4Const(0));
      return acc;
    };
  }

  /** The panel region = rows [0, Tp) of src (stride srcStride bytes, HS floats each) as [Tp / 8][HS][8]. */
  panelize(src: number, srcStride: number): void {
    const { HS, Tp, panel } = this.layout;
    const t = this.i32(), row = this.i32(), dst = this.i32();
    this.forRange(t, c32(0), c32(Tp), 1, () => {
      this.offsetBy(row, src, t, srcStride);
      // dst = panel + ((t >> 3) * HS * 8 + (t & 7)) * 4
      this.assign(dst, get(t), c32(3), op.i32ShrU, c32(HS * 32), op.i32Mul, get(t), c32(7), op.i32And, c32(4), op.i32Mul, op.i32Add, c32(panel * 4), op.i32Add);
      for (let i = 0; i < HS; i++) this.emit(get(dst), get(row), op.f32Load(i * 4), op.f32Store(i * 32));
    });
  }

  /** dst (contiguous [Tp, HS], a constant float offset) = rows [0, Tp) of src (stride srcStride bytes). */
  gather(dst: number, src: number, srcStride: number): void {
    const { HS, Tp } = this.layout;
    const t = this.i32(), row = this.i32(), to = this.i32();
    this.forRange(t, c32(0), c32(Tp), 1, () => {
      this.offsetBy(row, src, t, srcStride);
      this.assign(to, get(t), c32(HS * 4), op.i32Mul, c32(dst * 4), op.i32Add);
      for (let i = 0; i < HS; i += 4) this.emit(get(to), get(row), op.v128Load(i * 4), op.v128Store(i * 4));
    });
  }

  /** D[t, t2] = X[t, :] . panel row t2, for column blocks of 8 up to t's 4-row block (D has row stride Tp). */
  scores(dst: number, x: number, xStride: number): void {
    const { HS, Tp, panel } = this.layout;
    const t0 = this.i32(), c = this.i32(), xRow = this.i32(), dRow = this.i32(), pPtr = this.i32(), dPtr = this.i32(), xPtr = this.i32(), i0 = this.i32();
    const k = [this.v128(), this.v128()], s = this.v128(), xRows = [this.v128(), this.v128(), this.v128(), this.v128()];
    const chunk = HS % 8 === 0 ? 8 : 4;
    const acc = Array.from({ length: ROWS * 2 }, () => this.v128());
    this.forRange(t0, c32(0), c32(Tp), ROWS, () => {
      this.offsetBy(xRow, x, t0, xStride);
      this.offsetBy(dRow, dst, t0, Tp * 4);
      this.forRange(c, c32(0), [...get(t0), ...c32(ROWS), ...op.i32Add], 8, () => {
        this.assign(pPtr, get(c), c32(HS * 4), op.i32Mul, c32(panel * 4), op.i32Add);
        this.assign(dPtr, get(c), c32(4), op.i32Mul, get(dRow), op.i32Add);
        for (const a of acc) this.assign(a, op.f32x4Const(0));
        // a loop over the head dimension, chunk at a time: V8 compiles a fully unrolled 48-wide body
        // about 2.5x slower (it schedules the loads far ahead and spills); a single chunk (HS = 8) goes
        // without the loop (7-17% faster at the 260K shape)
        this.assign(xPtr, get(xRow));
        const overHeadDimension = (body: () => void) => (HS === chunk ? body() : this.forRange(i0, c32(0), c32(HS), chunk, body));
        overHeadDimension(() => {
          for (let i = 0; i < chunk; i++) {
            // four X values of each row in one load, then broadcast lane by lane (see rowsTimes)
            if (i % 4 === 0) for (let r = 0; r < ROWS; r++) this.assign(xRows[r], get(xPtr), op.v128Load(r * xStride + i * 4));
            this.assign(k[0], get(pPtr), op.v128Load(i * 32));
            this.assign(k[1], get(pPtr), op.v128Load(i * 32 + 16));
            for (let r = 0; r < ROWS; r++) {
              this.assign(s, get(xRows[r]), get(xRows[r]), op.f32x4BroadcastLane(i % 4));
              this.madd(s, k[0], acc[r * 2]);
              this.madd(s, k[1], acc[r * 2 + 1]);
            }
          }
          this.assign(pPtr, get(pPtr), c32(chunk * 32), op.i32Add);
          this.assign(xPtr, get(xPtr), c32(chunk * 4), op.i32Add);
        });
        for (let r = 0; r < ROWS; r++) for (let j = 0; j < 2; j++) this.emit(get(dPtr), get(acc[r * 2 + j]), op.v128Store(r * Tp * 4 + j * 16));
      });
    });
  }

  /** D[t, :] (+)= sum over t2 < (t's block end) of A[t, t2] Y[t2, :]; A (row stride Tp) must be zero above the diagonal. */
  rowsTimes(dst: number, dstStride: number, a: number, y: number, yStride: number, accumulate: boolean): void {
    const { HS, Tp } = this.layout;
    const t0 = this.i32(), aRow = this.i32(), aEnd = this.i32(), aPtr = this.i32(), yPtr = this.i32(), dBase = this.i32();
    const s = this.v128(), yv = [this.v128(), this.v128()], zeroed = this.accumulators(), aRows = [this.v128(), this.v128(), this.v128(), this.v128()];
    this.forRange(t0, c32(0), c32(Tp), ROWS, () => {
      this.offsetBy(aRow, a, t0, Tp * 4);
      this.assign(aEnd, get(t0), c32(ROWS), op.i32Add, c32(4), op.i32Mul, get(aRow), op.i32Add);
      this.offsetBy(dBase, dst, t0, dstStride);
      for (const [first, vectors] of dimensionGroups(HS)) {
        const acc = zeroed(ROWS * vectors);
        this.assign(yPtr, get(y), c32(first * 4), op.i32Add);
        this.forRange(aPtr, get(aRow), get(aEnd), 16, () => {
          // A[t0 + r, t2 .. t2 + 3] in one load per row, broadcast lane by lane: 4 loads + 16 shuffles
          // instead of 16 splat loads, which left the load ports the bottleneck (A/B: 1.02-1.12x)
          for (let r = 0; r < ROWS; r++) this.assign(aRows[r], get(aPtr), op.v128Load(r * Tp * 4));
          for (let u = 0; u < 4; u++) {
            for (let j = 0; j < vectors; j++) this.assign(yv[j], get(yPtr), op.v128Load(u * yStride + j * 16));
            for (let r = 0; r < ROWS; r++) {
              this.assign(s, get(aRows[r]), get(aRows[r]), op.f32x4BroadcastLane(u));
              for (let j = 0; j < vectors; j++) this.madd(s, yv[j], acc[r * vectors + j]);
            }
          }
          this.assign(yPtr, get(yPtr), c32(4 * yStride), op.i32Add);
        });
        for (let r = 0; r < ROWS; r++) {
          for (let j = 0; j < vectors; j++) {
            const offset = r * dstStride + (first + j * 4) * 4;
            if (accumulate) this.emit(get(dBase), get(dBase), op.v128Load(offset), get(acc[r * vectors + j]), op.f32x4Add, op.v128Store(offset));
            else this.emit(get(dBase), get(acc[r * vectors + j]), op.v128Store(offset));
          }
        }
      }
    });
  }

  /** D[t2, :] += sum over t >= (t2's block start) of A[t, t2] Y[t, :]; A (row stride Tp) must be zero above the diagonal and in padding rows. */
  transposedTimes(dst: number, dstStride: number, a: number, y: number, yStride: number): void {
    const { HS, Tp } = this.layout;
    const s0 = this.i32(), aPtr = this.i32(), aEnd = this.i32(), yPtr = this.i32(), dBase = this.i32();
    const s = this.v128(), yv = [this.v128(), this.v128()], zeroed = this.accumulators(), aRow = this.v128();
    this.forRange(s0, c32(0), c32(Tp), ROWS, () => {
      // a starts at A[s0, s0] and walks down the column block to row Tp - 1
      this.assign(aEnd, get(s0), c32(4), op.i32Mul, get(a), op.i32Add, c32(Tp * Tp * 4), op.i32Add);
      this.offsetBy(dBase, dst, s0, dstStride);
      for (const [first, vectors] of dimensionGroups(HS)) {
        const acc = zeroed(ROWS * vectors);
        this.assign(yPtr, get(s0), c32(yStride), op.i32Mul, get(y), op.i32Add, c32(first * 4), op.i32Add);
        this.forRange(aPtr, [...get(s0), ...c32((Tp + 1) * 4), ...op.i32Mul, ...get(a), ...op.i32Add], get(aEnd), 4 * Tp * 4, () => {
          for (let u = 0; u < 4; u++) {
            for (let j = 0; j < vectors; j++) this.assign(yv[j], get(yPtr), op.v128Load(u * yStride + j * 16));
            // A[t + u, s0 .. s0 + 3] in one load, broadcast lane by lane (A/B: 1.10-1.17x)
            this.assign(aRow, get(aPtr), op.v128Load(u * Tp * 4));
            for (let r = 0; r < ROWS; r++) {
              this.assign(s, get(aRow), get(aRow), op.f32x4BroadcastLane(r));
              for (let j = 0; j < vectors; j++) this.madd(s, yv[j], acc[r * vectors + j]);
            }
          }
          this.assign(yPtr, get(yPtr), c32(4 * yStride), op.i32Add);
        });
        for (let r = 0; r < ROWS; r++) {
          for (let j = 0; j < vectors; j++) {
            const offset = r * dstStride + (first + j * 4) * 4;
            this.emit(get(dBase), get(dBase), op.v128Load(offset), get(acc[r * vectors + j]), op.f32x4Add, op.v128Store(offset));
          }
        }
      }
    });
  }

  /** n = t + 1 valid entries in row t (0 for padding rows) and the byte length of the 4-aligned prefix covering them. */
  private validLength(t: number, n: number, n4Bytes: number): void {
    this.assign(n, get(t), c32(1), op.i32Add, c32(0), get(t), c32(this.layout.T), op.i32LtS, op.select);
    this.assign(n4Bytes, get(n), c32(3), op.i32Add, c32(-4), op.i32And, c32(4), op.i32Mul);
  }

  /** Pushes the four lanes of a vector combined with a scalar op (f32.add, f32.max). */
  private horizontal(vector: number, combine: number[]): void {
    this.emit(get(vector), op.f32x4ExtractLane(0), get(vector), op.f32x4ExtractLane(1), combine);
    this.emit(get(vector), op.f32x4ExtractLane(2), combine, get(vector), op.f32x4ExtractLane(3), combine);
  }

  /** for (j = start; j < end; j += 4) store f32 value at row + j (the up to 3 lanes past the diagonal). */
  private scalarFill(row: number, j: number, start: number[], end: number[], value: number): void {
    this.forRange(j, start, end, 4, () => this.emit(get(row), get(j), op.i32Add, op.f32Const(value), op.f32Store(0)));
  }

  /**
   * Row by row of P (row stride Tp): the scores there become softmax(scores * scale) over t2 <= t; zeros
   * past the diagonal to the end of its 4-float block (to the row end with zeroRowEnds) and in padding rows.
   */
  softmaxRows(p: number, scale: number): void {
    const { Tp } = this.layout;
    const t = this.i32(), row = this.i32(), n = this.i32(), n4Bytes = this.i32(), j = this.i32(), at = this.i32();
    const max = this.v128(), sum = this.v128(), x = this.v128(), e = this.v128(), inv = this.v128(), scaleV = this.v128();
    const exp = this.expConstants();
    this.assign(scaleV, op.f32x4Const(scale));
    const nBytes = [...get(n), ...c32(4), ...op.i32Mul];
    this.forRange(t, c32(0), c32(Tp), 1, () => {
      this.offsetBy(row, p, t, Tp * 4);
      this.validLength(t, n, n4Bytes);
      // scores past the diagonal inside the last vector must not win the maximum
      this.scalarFill(row, j, nBytes, get(n4Bytes), -Infinity);
      this.assign(max, op.f32x4Const(-Infinity));
      this.forRange(j, c32(0), get(n4Bytes), 16, () => this.assign(max, get(max), get(row), get(j), op.i32Add, op.v128Load(0), op.f32x4Pmax));
      this.horizontal(max, op.f32Max);
      this.assign(max, op.f32x4Splat);
      this.assign(sum, op.f32x4Const(0));
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.assign(at, get(row), get(j), op.i32Add);
        this.assign(x, get(at), op.v128Load(0), get(max), op.f32x4Sub, get(scaleV), op.f32x4Mul);
        this.exp(x, e, exp);
        this.emit(get(at), get(e), op.v128Store(0));
        this.assign(sum, get(sum), get(e), op.f32x4Add);
      });
      // the masked lanes came out as ~1e-38 (exp is clamped at -87): below the rounding of sum >= 1, but stored as exact zeros
      this.scalarFill(row, j, nBytes, get(n4Bytes), 0);
      this.emit(op.f32Const(1));
      this.horizontal(sum, op.f32Add);
      this.assign(inv, op.f32Div, op.f32x4Splat);
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.assign(at, get(row), get(j), op.i32Add);
        this.emit(get(at), get(at), op.v128Load(0), get(inv), op.f32x4Mul, op.v128Store(0));
      });
      const rowEnd = this.layout.zeroRowEnds ? c32(Tp * 4) : [...get(t), ...c32(this.layout.T), ...op.i32GeS, ...c32(Tp * 4), ...op.i32Mul];
      this.forRange(j, get(n4Bytes), rowEnd, 16, () => this.emit(get(row), get(j), op.i32Add, op.f32x4Const(0), op.v128Store(0)));
    });
  }

  /**
   * Row by row: dS = P (dP - sum_t2 P dP) scale in place of dP (both row stride Tp). The probabilities
   * came from outside (only t2 <= t is defined there), so the entries past the diagonal inside the last
   * vector are zeroed first; padding rows of both are zeroed whole (the transposed products read them).
   */
  softmaxBackwardRows(p: number, d: number, scale: number): void {
    const { T, Tp } = this.layout;
    const t = this.i32(), pRow = this.i32(), dRow = this.i32(), n = this.i32(), n4Bytes = this.i32(), j = this.i32(), zeroEnd = this.i32();
    const weighted = this.v128(), scaleV = this.v128(), pv = this.v128();
    this.assign(scaleV, op.f32x4Const(scale));
    this.forRange(t, c32(0), c32(Tp), 1, () => {
      this.offsetBy(pRow, p, t, Tp * 4);
      this.offsetBy(dRow, d, t, Tp * 4);
      this.validLength(t, n, n4Bytes);
      this.scalarFill(pRow, j, [...get(n), ...c32(4), ...op.i32Mul], get(n4Bytes), 0);
      this.assign(weighted, op.f32x4Const(0));
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.assign(pv, get(pRow), get(j), op.i32Add, op.v128Load(0));
        this.assign(weighted, get(weighted), get(pv), get(dRow), get(j), op.i32Add, op.v128Load(0), op.f32x4Mul, op.f32x4Add);
      });
      this.horizontal(weighted, op.f32Add);
      this.assign(weighted, op.f32x4Splat);
      this.forRange(j, c32(0), get(n4Bytes), 16, () => {
        this.emit(get(dRow), get(j), op.i32Add);
        this.emit(get(dRow), get(j), op.i32Add, op.v128Load(0), get(weighted), op.f32x4Sub);
        this.emit(get(pRow), get(j), op.i32Add, op.v128Load(0), op.f32x4Mul, get(scaleV), op.f32x4Mul, op.v128Store(0));
      });
      this.assign(zeroEnd, get(n4Bytes), c32(Tp * 4), get(t), c32(T), op.i32LtS, op.select);
      this.forRange(j, get(n4Bytes), get(zeroEnd), 16, () => {
        this.emit(get(pRow), get(j), op.i32Add, op.f32x4Const(0), op.v128Store(0));
        this.emit(get(dRow), get(j), op.i32Add, op.f32x4Const(0), op.v128Store(0));
      });
    });
  }

  private expConstants() {
    const constant = (bytes: number[]) => {
      const local = this.v128();
      this.assign(local, bytes);
      return local;
    };
    const f32 = (value: number) => constant(op.f32x4Const(value));
    return {
      low: f32(-87),
      log2e: f32(Math.LOG2E),
      roundingMagic: f32(12582912), // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
      ln2High: f32(0.693359375),
      ln2Low: f32(-2.12194440e-4),
      negLn2High: f32(-0.693359375),
      negLn2Low: f32(2.12194440e-4),
      poly: [1.987569150e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(f32),
      one: f32(1),
      oneBits: constant(op.i32x4Const(0x3f800000)),
      work: [this.v128(), this.v128(), this.v128(), this.v128()],
    };
  }

  /**
   * out = exp(x) for x <= 0 (Cephes' expf): x = n ln2 + r with n = round(x log2 e) (by the 1.5 * 2^23
   * rounding trick), a degree-6 polynomial for e^r, times 2^n built in the exponent bits
   * ((bits(rounded) << 23) + bits(1.0): the magic's own bits shift out). Inputs below -87 give about
   * e^-87 (the smallest normal float range); NaN stays NaN.
   */
  private exp(x: number, out: number, k: ReturnType<KernelWriter["expConstants"]>): void {
    const [rounded, n, r, z] = k.work;
    this.assign(x, get(x), get(k.low), op.f32x4Pmax);
    if (this.fused) this.assign(rounded, get(x), get(k.log2e), get(k.roundingMagic), op.f32x4RelaxedMadd);
    else this.assign(rounded, get(x), get(k.log2e), op.f32x4Mul, get(k.roundingMagic), op.f32x4Add);
    this.assign(n, get(rounded), get(k.roundingMagic), op.f32x4Sub);
    if (this.fused) {
      this.assign(r, get(n), get(k.negLn2High), get(x), op.f32x4RelaxedMadd);
      this.assign(r, get(n), get(k.negLn2Low), get(r), op.f32x4RelaxedMadd);
    } else {
      this.assign(r, get(x), get(n), get(k.ln2High), op.f32x4Mul, op.f32x4Sub);
      this.assign(r, get(r), get(n), get(k.ln2Low), op.f32x4Mul, op.f32x4Sub);
    }
    this.assign(out, get(k.poly[0]));
    for (const c of k.poly.slice(1)) {
      if (this.fused) this.assign(out, get(out), get(r), get(c), op.f32x4RelaxedMadd);
      else this.assign(out, get(out), get(r), op.f32x4Mul, get(c), op.f32x4Add);
    }
    this.assign(z, get(r), get(r), op.f32x4Mul);
    this.madd(out, z, r); // out * r^2 + r, into r
    this.assign(out, get(r), get(k.one), op.f32x4Add);
    this.assign(out, get(out), get(rounded), c32(23), op.i32x4Shl, get(k.oneBits), op.i32x4Add, op.f32x4Mul);
  }
}

/** Parameters of both functions: the key/value heads [first, end) to run (with all their query heads), then byte addresses of the exchanged regions. */
const KV_FIRST = 0, KV_END = 1;
const FORWARD_PARAMS = ["q", "k", "v", "out", "att"] as const;
const BACKWARD_PARAMS = ["q", "dout", "dq", "k", "v", "dk", "dv", "att"] as const;
const paramOf = (names: readonly string[], name: string) => 2 + names.indexOf(name);

/** Loops over the key/value heads of the parameters' range and each one's query heads, with the byte offsets of both. */
function forEachHead(w: KernelWriter, layout: AttentionLayout, perKvHead: (kvOffset: number) => void, perHead: (kvOffset: number, headOffset: number, head: number) => void): void {
  const { HS, NH, NKV } = layout;
  const group = NH / NKV;
  const kvh = w.i32(), h = w.i32(), kvOffset = w.i32(), headOffset = w.i32();
  w.forRange(kvh, get(KV_FIRST), get(KV_END), 1, () => {
    w.assign(kvOffset, get(kvh), c32(HS * 4), op.i32Mul);
    perKvHead(kvOffset);
    w.forRange(h, [...get(kvh), ...c32(group), ...op.i32Mul], [...get(kvh), ...c32(group), ...op.i32Mul, ...c32(group), ...op.i32Add], 1, () => {
      w.assign(headOffset, get(h), c32(HS * 4), op.i32Mul);
      perHead(kvOffset, headOffset, h);
    });
  });
}

/**
 * forwardUnit(kvFirst, kvEnd, q, k, v, out, att) and backwardUnit(kvFirst, kvEnd, q, dout, dq, k, v,
 * dk, dv, att) for one (HS, T, NH, NKV): the key/value heads [kvFirst, kvEnd) of the batch element in
 * memory and their query heads; the other arguments are the byte addresses of the exchanged regions
 * (attentionLayout's offsets, or one float further), the private ones are constants. With sharedMaxPages
 * the module imports a shared memory of at most that many pages (the in-place kernels, residentLayout).
 */
export function buildAttentionModule(layout: AttentionLayout, fused = relaxedSimdAvailable(), sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  const { HS, NH, NKV, Tp } = layout;
  if (HS % 4 !== 0 || HS <= 0 || NH % NKV !== 0) throw new Error(`SIMD attention needs a head size that is a multiple of 4 and NKV dividing NH, got HS ${HS}, NH ${NH}, NKV ${NKV}`);
  const scale = 1 / Math.sqrt(HS);
  const C4 = NH * HS * 4, KVC4 = NKV * HS * 4;

  const forward = new KernelWriter("forwardUnit", layout, fused, 2 + FORWARD_PARAMS.length);
  {
    const [qBase, kBase, vBase, outBase, attBase] = FORWARD_PARAMS.map((name) => paramOf(FORWARD_PARAMS, name));
    const kSrc = forward.i32(), vSrc = forward.i32(), qHead = forward.i32(), outHead = forward.i32(), p = forward.i32();
    forEachHead(forward, layout, (kvOffset) => {
      forward.assign(kSrc, get(kBase), get(kvOffset), op.i32Add);
      forward.assign(vSrc, get(vBase), get(kvOffset), op.i32Add);
      forward.panelize(kSrc, KVC4);
    }, (_kvOffset, headOffset, head) => {
      forward.assign(qHead, get(qBase), get(headOffset), op.i32Add);
      forward.assign(outHead, get(outBase), get(headOffset), op.i32Add);
      forward.offsetBy(p, attBase, head, Tp * Tp * 4);
      forward.scores(p, qHead, C4);
      forward.softmaxRows(p, scale);
      forward.rowsTimes(outHead, C4, p, vSrc, KVC4, false);
    });
  }

  const backward = new KernelWriter("backwardUnit", layout, fused, 2 + BACKWARD_PARAMS.length);
  {
    const [qBase, doutBase, dqBase, kBase, vBase, dkBase, dvBase, attBase] = BACKWARD_PARAMS.map((name) => paramOf(BACKWARD_PARAMS, name));
    const scores = backward.address(layout.scores), doutRows = backward.address(layout.doutRows), qRows = backward.address(layout.qRows);
    const kSrc = backward.i32(), vSrc = backward.i32(), dk = backward.i32(), dv = backward.i32();
    const qHead = backward.i32(), doutHead = backward.i32(), dqHead = backward.i32(), p = backward.i32();
    forEachHead(backward, layout, (kvOffset) => {
      backward.assign(kSrc, get(kBase), get(kvOffset), op.i32Add);
      backward.assign(vSrc, get(vBase), get(kvOffset), op.i32Add);
      backward.assign(dk, get(dkBase), get(kvOffset), op.i32Add);
      backward.assign(dv, get(dvBase), get(kvOffset), op.i32Add);
      backward.panelize(vSrc, KVC4);
    }, (_kvOffset, headOffset, head) => {
      backward.assign(qHead, get(qBase), get(headOffset), op.i32Add);
      backward.assign(doutHead, get(doutBase), get(headOffset), op.i32Add);
      backward.assign(dqHead, get(dqBase), get(headOffset), op.i32Add);
      backward.offsetBy(p, attBase, head, Tp * Tp * 4);
      backward.scores(scores, doutHead, C4);
      backward.softmaxBackwardRows(p, scores, scale);
      backward.rowsTimes(dqHead, C4, scores, kSrc, KVC4, true);
      // the column walks read their Y rows from contiguous copies (A/B same process: backward 1.04-1.07x)
      backward.gather(layout.doutRows, doutHead, C4);
      backward.gather(layout.qRows, qHead, C4);
      backward.transposedTimes(dv, KVC4, p, doutRows, HS * 4);
      backward.transposedTimes(dk, KVC4, scores, qRows, HS * 4);
    });
  }

  const functions: FunctionDefinition[] = [forward.definition(), backward.definition()];
  return moduleWithFunctions(functions, sharedMaxPages, layout.pages);
}
