import type { AttentionShape } from "../reference/attention.js";
import { buildAttentionModule, residentLayout, residentScratchFloats, type AttentionLayout } from "./attention-simd-kernel.js";
import { residentUnits, type AttentionUnitKernel } from "./attention-units.js";
import { simdAvailable } from "./matmul-simd.js";
import { addressesIn, type ResidentMemory } from "./resident-memory.js";

// The SIMD attention in place: when every operand already lives in one shared WebAssembly memory (the
// SIMD matmul's, where the model keeps its activations and gradient scratch when they fit), the same
// generated kernels (./attention-simd-kernel.ts) run on the operands' addresses in that memory instead
// of on copies of them. Copying a batch element's blocks in and out of a private memory cost about a
// fifth of the attention time at the stories15M shape (V8 copies shared memory word by word, and the
// att block alone is 1.5 MB per batch element each way). Each thread has scratch regions of its own in
// the memory (scores, panels, gathered rows), so the generated code, whose private offsets are
// constants, is compiled once per thread slot and shape.

export interface ResidentKernels {
  module: WebAssembly.Module;
  layout: AttentionLayout;
}

/** Shapes with scratch of their own, at most (scratch is never given back). */
const MAX_SHAPES = 4;

/** The key of a shape's in-place kernels for one thread slot. */
export const residentKey = (shape: AttentionShape, slot: number) => `${shape.HS}:${shape.T}:${shape.NH}:${shape.NKV}:${slot}`;

/** The in-place attention over one ResidentMemory: compiled kernels per (shape, thread slot), and this thread's instances (slot 0). */
export class ResidentAttention {
  private readonly compiled = new Map<string, ResidentKernels | null>();
  private readonly instances = new Map<string, AttentionUnitKernel>();
  private shapes = new Set<string>();
  /** Scratch regions allocated in the memory, one per shape. */
  private scratch: Float32Array[] = [];
  /** The unit counter when this thread runs alone. */
  private readonly counter = new Int32Array(1);

  /** Calls this process ran in place (on this thread's side), for tests and benchmarks. */
  static callsInPlace = 0;

  constructor(readonly resident: ResidentMemory) {}

  /** True when the in-place kernels can run this shape (T a multiple of 8, head size a multiple of 4, SIMD present). */
  static applies(shape: AttentionShape): boolean {
    const { HS, T, NH, NKV } = shape;
    return HS > 0 && HS % 4 === 0 && T >= 8 && T % 8 === 0 && NKV >= 1 && NH % NKV === 0 && simdAvailable();
  }

  /** The byte addresses of the arrays, or null when any of them lives outside the memory. */
  addresses(arrays: Float32Array[]): number[] | null {
    return addressesIn(this.resident, arrays);
  }

  /** Gives the scratch regions back to the memory (the kernels compiled for them are dropped). */
  dispose(): void {
    for (const region of this.scratch) this.resident.free?.(region);
    this.scratch = [];
    this.compiled.clear();
    this.instances.clear();
    this.shapes.clear();
  }

  /** The kernels of a thread slot (0 this thread, 1 the helper) for the shape, compiled once; null where they cannot be had. */
  kernelsFor(shape: AttentionShape, slot: number): ResidentKernels | null {
    const key = residentKey(shape, slot);
    let kernels = this.compiled.get(key);
    if (kernels === undefined) {
      kernels = ResidentAttention.applies(shape) ? this.compile(shape) : null;
      this.compiled.set(key, kernels);
    }
    return kernels;
  }

  /** Same contract as attentionForward in ../reference/attention.ts on addresses from `addresses`; false (nothing done) when the kernels cannot be had. */
  forward(at: number[], shape: AttentionShape, counter: Int32Array = this.counter, counterAt = 0): boolean {
    const kernel = this.instanceFor(shape);
    if (!kernel) return false;
    if (counter === this.counter) counter[0] = 0;
    ResidentAttention.callsInPlace++;
    residentUnits(kernel.exports, kernel.layout, false, at, shape.B, counter, counterAt);
    return true;
  }

  /** Same contract as attentionBackward in ../reference/attention.ts (no scratch needed) on addresses of dq, dk, dv, dout, q, k, v, att. */
  backward(at: number[], shape: AttentionShape, counter: Int32Array = this.counter, counterAt = 0): boolean {
    const kernel = this.instanceFor(shape);
    if (!kernel) return false;
    if (counter === this.counter) counter[0] = 0;
    ResidentAttention.callsInPlace++;
    residentUnits(kernel.exports, kernel.layout, true, at, shape.B, counter, counterAt);
    return true;
  }

  private compile(shape: AttentionShape): ResidentKernels | null {
    const shapeKey = `${shape.HS}:${shape.T}:${shape.NH}:${shape.NKV}`;
    if (!this.shapes.has(shapeKey) && this.shapes.size >= MAX_SHAPES) return null;
    const scratch = this.resident.allocate(residentScratchFloats(shape));
    if (!scratch) return null;
    this.scratch.push(scratch);
    this.shapes.add(shapeKey);
    const layout = residentLayout(shape, this.resident.addressOf(scratch) / 4);
    if (!layout) return null;
    try {
      return { module: new WebAssembly.Module(buildAttentionModule(layout, undefined, this.resident.maxPages)), layout };
    } catch {
      return null; // a runtime without some SIMD instruction keeps the copying kernels
    }
  }

  private instanceFor(shape: AttentionShape): { exports: AttentionUnitKernel; layout: AttentionLayout } | null {
    const kernels = this.kernelsFor(shape, 0);
    if (!kernels) return null;
    const key = residentKey(shape, 0);
    let exports = this.instances.get(key);
    if (!exports) {
      exports = new WebAssembly.Instance(kernels.module, { env: { memory: this.resident.memory } }).exports as unknown as AttentionUnitKernel;
      this.instances.set(key, exports);
    }
    return { exports, layout: kernels.layout };
  }
}
