import { setFlagsFromString } from "node:v8";
import { i32Params, moduleWithFunctions, op, valueType } from "./wasm-emitter.js";

// Relaxed SIMD (f32x4.relaxed_madd: one fused multiply-add where the CPU has FMA) is standard
// WebAssembly and on by default from V8 11.4 (Node 22); Node 20's V8 11.3 has it behind
// --experimental-wasm-relaxed-simd. We turn that flag on once, before compiling any kernel, and then
// check that a module using the instruction validates and computes a*b+c; if anything fails the
// kernels keep plain mul + add. CAMELID_ENGINE_FMA=0 keeps them on mul + add too.

let available: boolean | undefined;

export function relaxedSimdAvailable(): boolean {
  if (available === undefined) available = process.env.CAMELID_ENGINE_FMA !== "0" && probe();
  return available;
}

function probe(): boolean {
  // memory[48..64) = memory[0..16) * memory[16..32) + memory[32..48)
  const code = [
    ...op.i32Const(48),
    ...op.i32Const(0), ...op.v128Load(0), ...op.i32Const(16), ...op.v128Load(0), ...op.i32Const(32), ...op.v128Load(0),
    ...op.f32x4RelaxedMadd, ...op.v128Store(0),
  ];
  const bytes = moduleWithFunctions([{ name: "madd", params: i32Params(1), results: [], locals: [[1, valueType.i32]], code }]);
  try {
    if (!WebAssembly.validate(bytes)) setFlagsFromString("--experimental-wasm-relaxed-simd");
    if (!WebAssembly.validate(bytes)) return false;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const heap = new Float32Array(memory.buffer);
    heap.set([1, 2, 3, 4, 10, 10, 10, 10, 0.5, 0.5, 0.5, 0.5]);
    (instance.exports.madd as (unused: number) => void)(0);
    return heap[12] === 10.5 && heap[13] === 20.5 && heap[14] === 30.5 && heap[15] === 40.5;
  } catch {
    return false;
  }
}
