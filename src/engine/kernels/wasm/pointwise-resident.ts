import { normRopeFunctions, type NormRopeExports } from "./pointwise-norm-rope.js";
import { moduleWithFunctions } from "./wasm-bytes.js";

// RMSNorm and RoPE in place: when their operands already live in one shared WebAssembly memory (the
// SIMD matmul's, where the model keeps its activations and gradient scratch when they fit), the SIMD
// functions of ./pointwise-norm-rope.ts run on the operands' addresses there instead of on copies.
// These kernels are light on arithmetic, so the copies in and out of a private memory (V8 copies
// shared memory word by word) were most of their time. The frozen norm weight, which lives outside,
// is copied into a small region of the memory first (C floats).

/** What the in-place kernels need of a shared memory's owner (the shape ResidentMemory has in ./attention-resident.ts). */
export interface PointwiseResidentMemory {
  /** A shared WebAssembly memory (it may grow; views of its earlier buffers stay valid). */
  readonly memory: WebAssembly.Memory;
  /** Its maximum size in pages (the module importing it declares the same). */
  readonly maxPages: number;
  /** The byte address of an array that lives in the memory, else -1. */
  addressOf(array: Float32Array): number;
  /** Zeroed floats inside the memory, kept for good, or null when there is no room. */
  allocate(floats: number): Float32Array | null;
}

export class ResidentNormRope {
  private readonly kernels: NormRopeExports;
  /** Where norm weights are copied, allocated on first use; null until then or when there was no room. */
  private weightRegion: Float32Array | null = null;

  constructor(private readonly resident: PointwiseResidentMemory) {
    const module = new WebAssembly.Module(moduleWithFunctions(normRopeFunctions().map((f) => f.definition()), resident.maxPages));
    this.kernels = new WebAssembly.Instance(module, { env: { memory: resident.memory } }).exports as unknown as NormRopeExports;
  }

  /**
   * rmsnormForward of ./pointwise-runner.ts (checked arguments, C a multiple of 4, eps as float32) in
   * place; false (nothing done) when an operand lives outside the memory.
   */
  rmsnormForward(out: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): boolean {
    const at = this.addresses([out, rstd, inp]);
    const weightAt = at ? this.weightAddress(weight, C) : -1;
    if (!at || weightAt < 0) return false;
    this.kernels.rmsnormForward(at[0], at[1], at[2], weightAt, N, C * 4, eps, C);
    return true;
  }

  /** rmsnormBackward without a weight gradient, as rmsnormForward. */
  rmsnormBackward(dinp: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array, rstd: Float32Array, N: number, C: number): boolean {
    const at = this.addresses([dinp, dout, inp, rstd]);
    const weightAt = at ? this.weightAddress(weight, C) : -1;
    if (!at || weightAt < 0) return false;
    this.kernels.rmsnormBackward(at[0], at[1], at[2], weightAt, at[3], N, C * 4, C);
    return true;
  }

  /** ropeForward or ropeBackward (nRot a positive multiple of 4) in place; out may alias inp. */
  rope(backward: boolean, out: Float32Array, inp: Float32Array, cos: Float32Array, sin: Float32Array, B: number, T: number, nHeads: number, headSize: number, nRot: number): boolean {
    const at = this.addresses([out, inp, cos, sin]);
    if (!at) return false;
    const size = B * T * nHeads * headSize;
    if (out !== inp) out.set(inp.subarray(0, size));
    const rope = backward ? this.kernels.ropeBackward : this.kernels.ropeForward;
    // the tables restart at position 0 with every sequence
    for (let b = 0; b < B; b++) rope(at[0] + b * T * nHeads * headSize * 4, at[2], at[3], T, nHeads, headSize * 4, nRot * 4);
    return true;
  }

  private addresses(arrays: Float32Array[]): number[] | null {
    const at = arrays.map((array) => this.resident.addressOf(array));
    return at.every((address) => address >= 0) ? at : null;
  }

  /** The weight's address in the memory: its own, or that of a copy in the weight region (-1: no room). */
  private weightAddress(weight: Float32Array, C: number): number {
    const own = this.resident.addressOf(weight);
    if (own >= 0) return own;
    if (!this.weightRegion || this.weightRegion.length < C) this.weightRegion = this.resident.allocate(Math.max(C, 1024));
    if (!this.weightRegion) return -1;
    this.weightRegion.set(weight.subarray(0, C));
    return this.resident.addressOf(this.weightRegion);
  }
}
