import type { AttentionShape } from "../reference/attention.js";
import { attentionLayout, buildAttentionModule, type AttentionLayout } from "./attention-simd-kernel.js";
import { simdBackwardUnits, simdForwardUnits, type AttentionUnitKernel } from "./attention-units.js";
import { simdAvailable } from "./matmul-simd.js";

// The SIMD attention on one thread: compiled modules per shape (HS, T, NH, NKV), shared by the process
// (a WebAssembly.Module can be posted to the helper thread), and this thread's instances, each with its
// own private memory holding one batch element's working set.

export interface CompiledAttention {
  module: WebAssembly.Module;
  layout: AttentionLayout;
}

const modules = new Map<string, CompiledAttention | null>();
let simd: boolean | undefined;

/** The key of a shape's module (B is not part of it: a unit is one batch element or a head range of one). */
export const attentionModuleKey = (shape: AttentionShape) => `${shape.HS}:${shape.T}:${shape.NH}:${shape.NKV}`;

/** The compiled kernels for the shape, or null where the SIMD path does not apply (the caller uses the JS kernels). */
export function compiledAttention(shape: AttentionShape): CompiledAttention | null {
  const key = attentionModuleKey(shape);
  let compiled = modules.get(key);
  if (compiled === undefined) {
    simd ??= simdAvailable();
    const { HS, T, NH, NKV } = shape;
    compiled = simd && HS > 0 && HS % 4 === 0 && T >= 1 && NKV >= 1 && NH % NKV === 0 ? compile(shape) : null;
    modules.set(key, compiled);
  }
  return compiled;
}

function compile(shape: AttentionShape): CompiledAttention | null {
  const layout = attentionLayout(shape);
  if (!layout) return null; // a working set past 2 GiB
  try {
    return { module: new WebAssembly.Module(buildAttentionModule(layout)), layout };
  } catch {
    return null; // a runtime without some SIMD instruction keeps the JS kernels
  }
}

/** True when the fast set runs this shape on the SIMD kernels. */
export function simdAttentionApplies(shape: AttentionShape): boolean {
  return compiledAttention(shape) !== null;
}

interface Instance {
  kernel: AttentionUnitKernel;
  heap: Float32Array;
  layout: AttentionLayout;
}

const MAX_INSTANCES = 4;

/** One thread's instances of the compiled kernels (each owns its memory). */
export class SimdAttentionThread {
  private readonly instances = new Map<string, Instance>();
  /** The unit counter when this thread runs alone. */
  private readonly counter = new Int32Array(1);

  /** Same contract as attentionForward in ../reference/attention.ts; false (nothing done) where the SIMD path does not apply. */
  forward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape, counter: Int32Array = this.counter, counterAt = 0): boolean {
    const instance = this.instanceFor(shape);
    if (!instance) return false;
    if (counter === this.counter) counter[0] = 0;
    simdForwardUnits(instance.kernel, instance.heap, instance.layout, out, att, q, k, v, shape.B, counter, counterAt);
    return true;
  }

  /** Same contract as attentionBackward in ../reference/attention.ts (no scratch needed); false where the SIMD path does not apply. */
  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape, counter: Int32Array = this.counter, counterAt = 0): boolean {
    const instance = this.instanceFor(shape);
    if (!instance) return false;
    if (counter === this.counter) counter[0] = 0;
    simdBackwardUnits(instance.kernel, instance.heap, instance.layout, dq, dk, dv, dout, q, k, v, att, shape.B, counter, counterAt);
    return true;
  }

  private instanceFor(shape: AttentionShape): Instance | null {
    const key = attentionModuleKey(shape);
    let instance = this.instances.get(key);
    if (!instance) {
      const compiled = compiledAttention(shape);
      if (!compiled) return null;
      // a few shapes at a time: a run that changes T often must not keep a memory per length it saw
      if (this.instances.size >= MAX_INSTANCES) this.instances.delete(this.instances.keys().next().value!);
      let memory: WebAssembly.Memory;
      try {
        memory = new WebAssembly.Memory({ initial: compiled.layout.pages });
      } catch {
        return null; // no room for this working set: the caller keeps the JS kernels
      }
      const exports = new WebAssembly.Instance(compiled.module, { env: { memory } }).exports as unknown as AttentionUnitKernel;
      instance = { kernel: exports, heap: new Float32Array(memory.buffer), layout: compiled.layout };
      this.instances.set(key, instance);
    }
    return instance;
  }
}
