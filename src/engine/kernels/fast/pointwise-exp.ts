import { op, valueType, type FunctionBuilder } from "./wasm-emitter.js";

// e^x on four float32 lanes, emitted inline into a kernel:
//   k = round(x * log2(e)), r = x - k * ln2 (ln2 in two parts, so r is exact to float32),
//   e^r by a degree-5 polynomial on |r| <= ln2/2 (fitted for relative error; 1.8e-7 in float32 Horner),
//   e^x = e^r * 2^k with 2^k made by shifting k + 127 into the exponent bits.
// The rounding uses a shifter: after t = x * log2(e) + (1.5 * 2^23 + 127), t minus the shifter is k and
// the low bits of t are k + 127 as an integer, so t << 23 is 2^k's bit pattern with no conversion.
// x is first clamped to [LOWEST, HIGHEST]; at x <= -87.68 (k = -127) the exponent field is 0 and the
// result is exactly 0, as the reference's exp gives 0 below -88 (so softmax padding of -Infinity adds 0).
// pmin/pmax keep a NaN argument and NaN * 2^k is NaN, so a diverged value still surfaces as NaN.
// Twelve instructions a vector with fused multiply-adds.

/** The argument is clamped to at least this: e^x is 0 from -87.68 down. */
export const EXP_LOWEST = -88;
/** ... and at most this (e^88 = 1.65e38 < the largest float; SwiGLU's sigmoid only needs it finite). */
export const EXP_HIGHEST = 88;

const LOG2E = 1.4426950408889634;
const SHIFTER = 12582912 + 127; // 1.5 * 2^23 plus the exponent bias
const LN2_HIGH = 0.693359375; // 9 significant bits: k * LN2_HIGH is exact for |k| < 2^15
const LN2_LOW = -2.12194440e-4;
/** e^r ~ sum c_i r^i for |r| <= ln2/2, highest degree first (relative-error fit, see above). */
const POLYNOMIAL = [0.008289458230137825, 0.041902557015419006, 0.16667675971984863, 0.49999114871025085, 0.9999997019767761, 1];

/** The v128 constants an exp needs, held in locals set once at the top of the function. */
export interface ExpConstants {
  lowest: number;
  highest: number;
  log2e: number;
  shifter: number;
  ln2High: number;
  ln2Low: number;
  polynomial: number[];
  one: number;
  /** Scratch v128 locals of one exp. */
  t: number;
  k: number;
  r: number;
  p: number;
}

/** Declares the constants (emitting their initialisation at the current point: the function's start). */
export function declareExpConstants(f: FunctionBuilder): ExpConstants {
  const constant = (bytes: number[]) => {
    const local = f.local(valueType.v128);
    f.emit(bytes, f.set(local));
    return local;
  };
  return {
    lowest: constant(op.f32x4Const(EXP_LOWEST)),
    highest: constant(op.f32x4Const(EXP_HIGHEST)),
    log2e: constant(op.f32x4Const(LOG2E)),
    shifter: constant(op.f32x4Const(SHIFTER)),
    ln2High: constant(op.f32x4Const(LN2_HIGH)),
    ln2Low: constant(op.f32x4Const(LN2_LOW)),
    polynomial: POLYNOMIAL.map((c) => constant(op.f32x4Const(c))),
    one: constant(op.f32x4Const(1)),
    t: f.local(valueType.v128),
    k: f.local(valueType.v128),
    r: f.local(valueType.v128),
    p: f.local(valueType.v128),
  };
}

/** a * b + c on the stack: one fused instruction with relaxed SIMD, else mul + add. */
export function multiplyAdd(fused: boolean, a: number[], b: number[], c: number[]): number[] {
  return fused ? [...a, ...b, ...c, ...op.f32x4RelaxedMadd] : [...a, ...b, ...op.f32x4Mul, ...c, ...op.f32x4Add];
}

/** c - a * b on the stack. */
export function negativeMultiplyAdd(fused: boolean, a: number[], b: number[], c: number[]): number[] {
  return fused ? [...a, ...b, ...c, ...op.f32x4RelaxedNmadd] : [...c, ...a, ...b, ...op.f32x4Mul, ...op.f32x4Sub];
}

export interface ExpOptions {
  /** Clamp the argument from above too (softmax arguments are <= 0 already). */
  clampHigh: boolean;
  fused: boolean;
}

/** Emits code that leaves e^(local x) on the stack. */
export function emitExp(f: FunctionBuilder, c: ExpConstants, x: number, options: ExpOptions): void {
  const get = (i: number) => f.get(i), set = (i: number) => f.set(i);
  const fused = options.fused;
  // r holds the clamped argument until the reduction overwrites it
  f.emit(get(x), get(c.lowest), op.f32x4Pmax);
  if (options.clampHigh) f.emit(get(c.highest), op.f32x4Pmin);
  f.emit(set(c.r));
  f.emit(multiplyAdd(fused, get(c.r), get(c.log2e), get(c.shifter)), set(c.t));
  f.emit(get(c.t), get(c.shifter), op.f32x4Sub, set(c.k));
  f.emit(negativeMultiplyAdd(fused, get(c.k), get(c.ln2High), get(c.r)), set(c.r));
  f.emit(negativeMultiplyAdd(fused, get(c.k), get(c.ln2Low), get(c.r)), set(c.r));
  f.emit(get(c.polynomial[0]), set(c.p));
  for (const coefficient of c.polynomial.slice(1)) f.emit(multiplyAdd(fused, get(c.p), get(c.r), get(coefficient)), set(c.p));
  // 2^k: k + 127 sits in the low bits of t; shifted into the exponent field
  f.emit(get(c.p), get(c.t), op.i32Const(23), op.i32x4Shl, op.f32x4Mul);
}
