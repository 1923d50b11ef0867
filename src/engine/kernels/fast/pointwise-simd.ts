import { declareExpConstants, emitExp, multiplyAdd } from "./pointwise-exp.js";
import { normRopeFunctions, type NormRopeExports } from "./pointwise-norm-rope.js";
import { relaxedSimdAvailable } from "./relaxed-simd.js";
import { FunctionBuilder, moduleWithFunctions, op, valueType } from "./wasm-emitter.js";

// The element-wise kernels of the fast set in WebAssembly SIMD, four floats a lane group:
//   softmax(base, bytes, stats, scale): the row at base (bytes a multiple of 64, padded with -Infinity)
//     becomes its softmax times scale in place (scale 1: probabilities; 1/count: the loss gradient but
//     for the target entry); stats = (max, sum of e^(x - max)) as two f64.
//   scale(base, bytes, factor): base[i] *= factor (bytes a multiple of 64).
// Addresses need only be multiples of 4: the JS side places a row at the same address modulo 8 as its
// source, because V8 copies shared memory word by word only when both ends are 8-byte aligned alike
// (byte by byte, five times slower, otherwise).
//   swigluForward(out, gate, up, bytes) / swigluBackward(dgate, dup, dout, gate, up, bytes): the
//     formulas of ../reference/swiglu.ts (bytes a multiple of 16); swigluBackwardOverwrite writes the gradients
//     instead of adding to them.
//   rmsnormForward, rmsnormBackward, ropeForward, ropeBackward: see ./pointwise-norm-rope.ts.
// Every loop runs at least once: bytes must be positive.
// The sum of a softmax row is folded into f64 every 16 floats, so it is as accurate as the JS
// kernel's double sum (a 32000-term float32 sum would lose ~1e-5 relative).

const i32 = valueType.i32, v128 = valueType.v128, f32 = valueType.f32, f64 = valueType.f64;

/** Fused multiply-adds (relaxed SIMD) when this runtime has them. */
const fusedMultiplyAdd = relaxedSimdAvailable();

function buildSoftmax(fused: boolean): FunctionBuilder {
  const f = new FunctionBuilder("softmax", [i32, i32, i32, f64]);
  const BASE = 0, BYTES = 1, STATS = 2, SCALE = 3;
  const get = (i: number) => f.get(i), set = (i: number) => f.set(i);
  const pointer = f.local(i32), end = f.local(i32);
  const rowMax = f.local(f32), sum = f.local(f64);
  const maxima = [0, 1, 2, 3].map(() => f.local(v128));
  const maxSplat = f.local(v128), x = f.local(v128), partial = f.local(v128), sumLow = f.local(v128), sumHigh = f.local(v128);
  const constants = declareExpConstants(f);

  f.emit(get(BASE), set(pointer), get(BASE), get(BYTES), op.i32Add, set(end));

  // pass 1: the row maximum, four independent lane groups so the max latency overlaps
  for (const m of maxima) f.emit(op.f32x4Const(-Infinity), set(m));
  f.emit(op.loop);
  maxima.forEach((m, j) => f.emit(get(m), get(pointer), op.v128Load(16 * j), op.f32x4Pmax, set(m)));
  f.emit(get(pointer), op.i32Const(64), op.i32Add, op.localTee(pointer), get(end), op.i32LtU, op.brIf(0), op.end);
  f.emit(get(maxima[0]), get(maxima[1]), op.f32x4Pmax, get(maxima[2]), op.f32x4Pmax, get(maxima[3]), op.f32x4Pmax, set(x));
  f.emit(get(x), op.f32x4ExtractLane(0), get(x), op.f32x4ExtractLane(1), op.f32Max);
  f.emit(get(x), op.f32x4ExtractLane(2), op.f32Max, get(x), op.f32x4ExtractLane(3), op.f32Max, set(rowMax));
  f.emit(get(rowMax), op.f32x4Splat, set(maxSplat));

  // pass 2: e^(x - max) in place, summed
  f.emit(op.v128Const(new Array<number>(16).fill(0)), op.localTee(sumLow), set(sumHigh));
  f.emit(get(BASE), set(pointer));
  f.emit(op.loop);
  for (let j = 0; j < 4; j++) {
    f.emit(get(pointer), op.v128Load(16 * j), get(maxSplat), op.f32x4Sub, set(x));
    f.emit(get(pointer));
    emitExp(f, constants, x, { clampHigh: false, fused });
    f.emit(op.localTee(x), op.v128Store(16 * j));
    if (j === 0) f.emit(get(x), set(partial));
    else f.emit(get(partial), get(x), op.f32x4Add, set(partial));
  }
  // fold the four-vector partial sum into two f64x2 accumulators
  f.emit(get(sumLow), get(partial), op.f64x2PromoteLowF32x4, op.f64x2Add, set(sumLow));
  const highToLow = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  f.emit(get(sumHigh), get(partial), get(partial), op.i8x16Shuffle(highToLow), op.f64x2PromoteLowF32x4, op.f64x2Add, set(sumHigh));
  f.emit(get(pointer), op.i32Const(64), op.i32Add, op.localTee(pointer), get(end), op.i32LtU, op.brIf(0), op.end);
  f.emit(get(sumLow), get(sumHigh), op.f64x2Add, set(sumLow));
  f.emit(get(sumLow), op.f64x2ExtractLane(0), get(sumLow), op.f64x2ExtractLane(1), op.f64Add, set(sum));

  // stats = (max, sum)
  f.emit(get(STATS), get(rowMax), op.f64PromoteF32, op.f64Store(0));
  f.emit(get(STATS), get(sum), op.f64Store(8));

  // pass 3: multiply by scale / sum
  f.emit(get(SCALE), get(sum), op.f64Div, op.f32DemoteF64, op.f32x4Splat, set(maxSplat));
  f.emit(get(BASE), set(pointer));
  f.emit(op.loop);
  for (let j = 0; j < 4; j++) f.emit(get(pointer), get(pointer), op.v128Load(16 * j), get(maxSplat), op.f32x4Mul, op.v128Store(16 * j));
  f.emit(get(pointer), op.i32Const(64), op.i32Add, op.localTee(pointer), get(end), op.i32LtU, op.brIf(0), op.end);
  return f;
}

function buildScale(): FunctionBuilder {
  const f = new FunctionBuilder("scale", [i32, i32, f32]);
  const BASE = 0, BYTES = 1, FACTOR = 2;
  const pointer = f.local(i32), end = f.local(i32), factor = f.local(v128);
  f.emit(f.get(FACTOR), op.f32x4Splat, f.set(factor));
  f.emit(f.get(BASE), f.set(pointer), f.get(BASE), f.get(BYTES), op.i32Add, f.set(end));
  f.emit(op.loop);
  for (let j = 0; j < 4; j++) f.emit(f.get(pointer), f.get(pointer), op.v128Load(16 * j), f.get(factor), op.f32x4Mul, op.v128Store(16 * j));
  f.emit(f.get(pointer), op.i32Const(64), op.i32Add, op.localTee(pointer), f.get(end), op.i32LtU, op.brIf(0), op.end);
  return f;
}

/** Leaves nothing on the stack; sets `sigmoid` to 1 / (1 + e^-gate) for the gate vector in `gate`. */
function emitSigmoid(f: FunctionBuilder, constants: ReturnType<typeof declareExpConstants>, gate: number, minusGate: number, sigmoid: number, fused: boolean): void {
  f.emit(op.v128Const(new Array<number>(16).fill(0)), f.get(gate), op.f32x4Sub, f.set(minusGate));
  f.emit(f.get(constants.one), f.get(constants.one));
  emitExp(f, constants, minusGate, { clampHigh: true, fused });
  f.emit(op.f32x4Add, op.f32x4Div, f.set(sigmoid));
}

function buildSwigluForward(fused: boolean): FunctionBuilder {
  const f = new FunctionBuilder("swigluForward", [i32, i32, i32, i32]);
  const OUT = 0, GATE = 1, UP = 2, BYTES = 3;
  const offset = f.local(i32), gate = f.local(v128), minusGate = f.local(v128), sigmoid = f.local(v128);
  const constants = declareExpConstants(f);
  f.emit(op.i32Const(0), f.set(offset), op.loop);
  f.emit(f.get(GATE), f.get(offset), op.i32Add, op.v128Load(0), f.set(gate));
  emitSigmoid(f, constants, gate, minusGate, sigmoid, fused);
  // out = gate * sigmoid * up
  f.emit(f.get(OUT), f.get(offset), op.i32Add);
  f.emit(f.get(gate), f.get(sigmoid), op.f32x4Mul, f.get(UP), f.get(offset), op.i32Add, op.v128Load(0), op.f32x4Mul, op.v128Store(0));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(BYTES), op.i32LtU, op.brIf(0), op.end);
  return f;
}

/** overwrite: writes dgate and dup as if they held zeros (the same sums: 0 + x), never reading them. */
function buildSwigluBackward(fused: boolean, overwrite = false): FunctionBuilder {
  const f = new FunctionBuilder(overwrite ? "swigluBackwardOverwrite" : "swigluBackward", [i32, i32, i32, i32, i32, i32]);
  const DGATE = 0, DUP = 1, DOUT = 2, GATE = 3, UP = 4, BYTES = 5;
  const offset = f.local(i32), gate = f.local(v128), minusGate = f.local(v128), sigmoid = f.local(v128), dout = f.local(v128), address = f.local(i32);
  const constants = declareExpConstants(f);
  const at = (base: number) => [...f.get(base), ...f.get(offset), ...op.i32Add];
  f.emit(op.i32Const(0), f.set(offset), op.loop);
  f.emit(at(GATE), op.v128Load(0), f.set(gate), at(DOUT), op.v128Load(0), f.set(dout));
  emitSigmoid(f, constants, gate, minusGate, sigmoid, fused);
  // dgate += (dout * up) * (sigmoid * (1 + gate * (1 - sigmoid)))
  f.emit(at(DGATE), op.localTee(address));
  const derivative = [
    ...f.get(sigmoid),
    ...multiplyAdd(fused, f.get(gate), [...f.get(constants.one), ...f.get(sigmoid), ...op.f32x4Sub], f.get(constants.one)),
    ...op.f32x4Mul,
  ];
  const previous = () => (overwrite ? op.v128Const(new Array<number>(16).fill(0)) : [...f.get(address), ...op.v128Load(0)]);
  f.emit(multiplyAdd(fused, [...f.get(dout), ...at(UP), ...op.v128Load(0), ...op.f32x4Mul], derivative, previous()), op.v128Store(0));
  // dup += dout * (gate * sigmoid)
  f.emit(at(DUP), op.localTee(address));
  f.emit(multiplyAdd(fused, f.get(dout), [...f.get(gate), ...f.get(sigmoid), ...op.f32x4Mul], previous()), op.v128Store(0));
  f.emit(f.get(offset), op.i32Const(16), op.i32Add, op.localTee(offset), f.get(BYTES), op.i32LtU, op.brIf(0), op.end);
  return f;
}

/**
 * The module's bytes; fused picks relaxed-SIMD fused multiply-adds (tests build both). With
 * sharedMaxPages it imports a shared memory of that maximum (the in-place kernels run on the SIMD
 * matmul's memory): the same functions, so in place and copying agree bit for bit.
 */
export function buildPointwiseModule(fused = fusedMultiplyAdd, sharedMaxPages?: number): Uint8Array<ArrayBuffer> {
  return moduleWithFunctions([buildSoftmax(fused), buildScale(), buildSwigluForward(fused), buildSwigluBackward(fused), buildSwigluBackward(fused, true), ...normRopeFunctions()].map((f) => f.definition()), sharedMaxPages);
}

export interface PointwiseExports extends NormRopeExports {
  softmax(base: number, bytes: number, stats: number, scale: number): void;
  scale(base: number, bytes: number, factor: number): void;
  swigluForward(out: number, gate: number, up: number, bytes: number): void;
  swigluBackward(dgate: number, dup: number, dout: number, gate: number, up: number, bytes: number): void;
  swigluBackwardOverwrite(dgate: number, dup: number, dout: number, gate: number, up: number, bytes: number): void;
}

/** True when this runtime validates the module (WebAssembly SIMD; Node 16.4+). */
export function pointwiseSimdAvailable(): boolean {
  try {
    return WebAssembly.validate(buildPointwiseModule());
  } catch {
    return false;
  }
}
