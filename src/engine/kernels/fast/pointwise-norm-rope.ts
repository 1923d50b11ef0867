import { FunctionBuilder, op, valueType } from "./wasm-emitter.js";

// RMSNorm and RoPE in WebAssembly SIMD, four floats a lane group, on operands already copied into the
// thread's memory (./pointwise-blocks.ts copies a block of rows in and the results out):
//   rmsnormForward(out, rstd, inp, weight, rows, rowBytes, eps, columns): per row, rstd = 1 / sqrt(
//     sum(x^2) / columns + eps) (the sum of squares in float32 lanes, folded and finished in f64) and
//     out = x * rstd * weight.
//   rmsnormBackward(dinp, dout, inp, weight, rstd, rows, rowBytes, columns): per row, with g = w * dy,
//     dinp += s * g - s^3 * x * sum(g * x) / columns (no weight gradient: frozen norms).
//   ropeForward / ropeBackward(x, cos, sin, positions, heads, headBytes, rotBytes): in place, per
//     position, per head, the adjacent pairs (x[2i], x[2i+1]) of the first rotBytes rotate by +angle
//     (forward) or -angle (backward); the tables advance by rotBytes / 2 per position.
// Row lengths (rowBytes, rotBytes) must be positive multiples of 16, counts positive: every loop runs
// at least once. Addresses need only be multiples of 4.

const i32 = valueType.i32, v128 = valueType.v128, f64 = valueType.f64;

/** [a, b, c, d] -> [b, a, d, c]: each pair's partner. */
const swapPairs = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
/** [a, b, ...] -> [a, a, b, b]: one table entry per pair, for both its floats. */
const duplicateLow = [0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7];
const lowToHigh = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];

/** Leaves the f64 sum of the four lanes of `vector` on the stack. */
function emitLaneSum(f: FunctionBuilder, vector: number): void {
  f.emit(f.get(vector), op.f64x2PromoteLowF32x4, f.get(vector), f.get(vector), op.i8x16Shuffle(lowToHigh), op.f64x2PromoteLowF32x4, op.f64x2Add);
  f.emit(op.localTee(vector), op.f64x2ExtractLane(0), f.get(vector), op.f64x2ExtractLane(1), op.f64Add);
}

function buildRmsnormForward(): FunctionBuilder {
  const f = new FunctionBuilder("rmsnormForward", [i32, i32, i32, i32, i32, i32, f64, f64]);
  const OUT = 0, RSTD = 1, INP = 2, WEIGHT = 3, ROWS = 4, ROW_BYTES = 5, EPS = 6, COLUMNS = 7;
  const offset = f.local(i32), sum = f.local(v128), x = f.local(v128), scale = f.local(v128);
  f.emit(op.loop);
  // sum of squares
  f.emit(op.v128Const(new Array<number>(16).fill(0)), f.set(sum), op.i32Const(0), f.set(offset));
  f.emit(op.loop);
  f.emit(f.get(INP), f.get(offset), op.i32Add, op.v128Load(0), op.localTee(x), f.get(x), op.f32x4Mul, f.get(sum), op.f32x4Add, f.set(sum));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(ROW_BYTES), op.i32LtU, op.brIf(0), op.end);
  // rstd = 1 / sqrt(sum / columns + eps), kept as float32
  f.emit(f.get(RSTD), op.f64Const(1));
  emitLaneSum(f, sum);
  f.emit(f.get(COLUMNS), op.f64Div, f.get(EPS), op.f64Add, op.f64Sqrt, op.f64Div, op.f32DemoteF64, op.f32Store(0));
  f.emit(f.get(RSTD), op.f32Load(0), op.f32x4Splat, f.set(scale));
  // out = x * rstd * weight
  f.emit(op.i32Const(0), f.set(offset), op.loop);
  f.emit(f.get(OUT), f.get(offset), op.i32Add);
  f.emit(f.get(INP), f.get(offset), op.i32Add, op.v128Load(0), f.get(scale), op.f32x4Mul, f.get(WEIGHT), f.get(offset), op.i32Add, op.v128Load(0), op.f32x4Mul, op.v128Store(0));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(ROW_BYTES), op.i32LtU, op.brIf(0), op.end);
  // next row
  f.emit(f.get(INP), f.get(ROW_BYTES), op.i32Add, f.set(INP), f.get(OUT), f.get(ROW_BYTES), op.i32Add, f.set(OUT));
  f.emit(f.get(RSTD), op.i32Const(4), op.i32Add, f.set(RSTD));
  f.emit(f.get(ROWS), op.i32Const(1), op.i32Sub, op.localTee(ROWS), op.brIf(0), op.end);
  return f;
}

function buildRmsnormBackward(): FunctionBuilder {
  const f = new FunctionBuilder("rmsnormBackward", [i32, i32, i32, i32, i32, i32, i32, f64]);
  const DINP = 0, DOUT = 1, INP = 2, WEIGHT = 3, RSTD = 4, ROWS = 5, ROW_BYTES = 6, COLUMNS = 7;
  const offset = f.local(i32), dot = f.local(v128), scale = f.local(v128), correction = f.local(v128), s = f.local(f64);
  const at = (base: number) => [...f.get(base), ...f.get(offset), ...op.i32Add];
  f.emit(op.loop);
  // dot = sum(w * dy * x)
  f.emit(op.v128Const(new Array<number>(16).fill(0)), f.set(dot), op.i32Const(0), f.set(offset));
  f.emit(op.loop);
  f.emit(at(WEIGHT), op.v128Load(0), at(DOUT), op.v128Load(0), op.f32x4Mul, at(INP), op.v128Load(0), op.f32x4Mul, f.get(dot), op.f32x4Add, f.set(dot));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(ROW_BYTES), op.i32LtU, op.brIf(0), op.end);
  // correction = s^3 * dot / columns
  f.emit(f.get(RSTD), op.f32Load(0), op.f32x4Splat, f.set(scale));
  f.emit(f.get(RSTD), op.f32Load(0), op.f64PromoteF32, f.set(s));
  f.emit(f.get(s), f.get(s), op.f64Mul, f.get(s), op.f64Mul);
  emitLaneSum(f, dot);
  f.emit(op.f64Mul, f.get(COLUMNS), op.f64Div, op.f32DemoteF64, op.f32x4Splat, f.set(correction));
  // dinp += s * w * dy - correction * x
  f.emit(op.i32Const(0), f.set(offset), op.loop);
  f.emit(at(DINP), at(DINP), op.v128Load(0));
  f.emit(f.get(scale), at(WEIGHT), op.v128Load(0), op.f32x4Mul, at(DOUT), op.v128Load(0), op.f32x4Mul);
  f.emit(f.get(correction), at(INP), op.v128Load(0), op.f32x4Mul, op.f32x4Sub, op.f32x4Add, op.v128Store(0));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(ROW_BYTES), op.i32LtU, op.brIf(0), op.end);
  // next row
  for (const base of [DINP, DOUT, INP]) f.emit(f.get(base), f.get(ROW_BYTES), op.i32Add, f.set(base));
  f.emit(f.get(RSTD), op.i32Const(4), op.i32Add, f.set(RSTD));
  f.emit(f.get(ROWS), op.i32Const(1), op.i32Sub, op.localTee(ROWS), op.brIf(0), op.end);
  return f;
}

/** Forward rotates by +angle: x0' = x0 c - x1 s, x1' = x1 c + x0 s; backward by -angle (the inverse). */
function buildRope(name: string, backward: boolean): FunctionBuilder {
  const f = new FunctionBuilder(name, [i32, i32, i32, i32, i32, i32, i32]);
  const X = 0, COS = 1, SIN = 2, POSITIONS = 3, HEADS = 4, HEAD_BYTES = 5, ROT_BYTES = 6;
  const offset = f.local(i32), table = f.local(i32), head = f.local(i32), x = f.local(v128), pair = f.local(v128), sign = f.local(v128);
  const signs = backward ? [1, -1, 1, -1] : [-1, 1, -1, 1];
  f.emit(op.v128Const(Array.from(new Uint8Array(Float32Array.from(signs).buffer))), f.set(sign));
  const tableVector = (base: number) => [...f.get(base), ...f.get(table), ...op.i32Add, ...op.v128Load64Zero(0), ...op.localTee(pair), ...f.get(pair), ...op.i8x16Shuffle(duplicateLow)];
  f.emit(op.loop); // positions
  f.emit(f.get(HEADS), f.set(head), op.loop); // heads
  f.emit(op.i32Const(0), f.set(offset), op.i32Const(0), f.set(table), op.loop); // two pairs at a time
  f.emit(f.get(X), f.get(offset), op.i32Add);
  f.emit(f.get(X), f.get(offset), op.i32Add, op.v128Load(0), op.localTee(x), tableVector(COS), op.f32x4Mul);
  f.emit(f.get(x), f.get(x), op.i8x16Shuffle(swapPairs), tableVector(SIN), f.get(sign), op.f32x4Mul, op.f32x4Mul, op.f32x4Add, op.v128Store(0));
  f.emit(f.get(table), op.i32Const(8), op.i32Add, f.set(table));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(ROT_BYTES), op.i32LtU, op.brIf(0), op.end);
  f.emit(f.get(X), f.get(HEAD_BYTES), op.i32Add, f.set(X));
  f.emit(f.get(head), op.i32Const(1), op.i32Sub, op.localTee(head), op.brIf(0), op.end);
  // the tables advance by one position: rotBytes / 2, where the pair loop left `table`
  f.emit(f.get(COS), f.get(table), op.i32Add, f.set(COS), f.get(SIN), f.get(table), op.i32Add, f.set(SIN));
  f.emit(f.get(POSITIONS), op.i32Const(1), op.i32Sub, op.localTee(POSITIONS), op.brIf(0), op.end);
  return f;
}

/** The RMSNorm and RoPE functions, for the pointwise module (./pointwise-simd.ts). */
export function normRopeFunctions(): FunctionBuilder[] {
  return [buildRmsnormForward(), buildRmsnormBackward(), buildRope("ropeForward", false), buildRope("ropeBackward", true)];
}

export interface NormRopeExports {
  rmsnormForward(out: number, rstd: number, inp: number, weight: number, rows: number, rowBytes: number, eps: number, columns: number): void;
  rmsnormBackward(dinp: number, dout: number, inp: number, weight: number, rstd: number, rows: number, rowBytes: number, columns: number): void;
  ropeForward(x: number, cos: number, sin: number, positions: number, heads: number, headBytes: number, rotBytes: number): void;
  ropeBackward(x: number, cos: number, sin: number, positions: number, heads: number, headBytes: number, rotBytes: number): void;
}
