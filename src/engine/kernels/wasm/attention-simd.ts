import type { AttentionShape } from "../attention.js";
import { attentionLayout, buildAttentionModule, MAX_SIMD_ATTENTION_T, type AttentionLayout } from "./attention-simd-kernel.js";
import { simdBackwardUnits, simdForwardUnits, type AttentionHeadKernel } from "./attention-units.js";
import { simdAvailable } from "./matmul-simd.js";

// The SIMD attention on one thread: compiled modules per (head size, sequence length), shared by the
// process (a WebAssembly.Module can be posted to the helper thread), and this thread's instances, each
// with its own private memory holding one unit's working set.

export interface CompiledAttention {
  module: WebAssembly.Module;
  layout: AttentionLayout;
}

const modules = new Map<string, CompiledAttention | null>();
let simd: boolean | undefined;

/** The compiled kernels for (HS, T), or null where the SIMD path does not apply (the caller uses the JS kernels). */
export function compiledAttention(HS: number, T: number): CompiledAttention | null {
  const key = `${HS}:${T}`;
  let compiled = modules.get(key);
  if (compiled === undefined) {
    simd ??= simdAvailable();
    compiled = simd && HS > 0 && HS % 4 === 0 && T >= 1 && T <= MAX_SIMD_ATTENTION_T ? compile(HS, T) : null;
    modules.set(key, compiled);
  }
  return compiled;
}

function compile(HS: number, T: number): CompiledAttention | null {
  try {
    return { module: new WebAssembly.Module(buildAttentionModule(HS, T)), layout: attentionLayout(HS, T) };
  } catch {
    return null; // a runtime without some SIMD instruction keeps the JS kernels
  }
}

/** True when the fast set runs this shape on the SIMD kernels. */
export function simdAttentionApplies(shape: AttentionShape): boolean {
  return compiledAttention(shape.HS, shape.T) !== null;
}

interface Instance {
  kernel: AttentionHeadKernel;
  heap: Float32Array;
  layout: AttentionLayout;
}

const MAX_INSTANCES = 4;

/** One thread's instances of the compiled kernels (each owns its memory). */
export class SimdAttentionThread {
  private readonly instances = new Map<string, Instance>();
  /** The unit counter when this thread runs alone. */
  private readonly counter = new Int32Array(1);

  /** Same contract as attentionForward in ../attention.ts; false (nothing done) where the SIMD path does not apply. */
  forward(out: Float32Array, att: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape, counter: Int32Array = this.counter, counterAt = 0): boolean {
    const instance = this.instanceFor(shape);
    if (!instance) return false;
    if (counter === this.counter) counter[0] = 0;
    simdForwardUnits(instance.kernel, instance.heap, instance.layout, out, att, q, k, v, shape.B, shape.T, shape.NH, shape.NKV, counter, counterAt);
    return true;
  }

  /** Same contract as attentionBackward in ../attention.ts (no scratch needed); false where the SIMD path does not apply. */
  backward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, att: Float32Array, shape: AttentionShape, counter: Int32Array = this.counter, counterAt = 0): boolean {
    const instance = this.instanceFor(shape);
    if (!instance) return false;
    if (counter === this.counter) counter[0] = 0;
    simdBackwardUnits(instance.kernel, instance.heap, instance.layout, dq, dk, dv, dout, q, k, v, att, shape.B, shape.T, shape.NH, shape.NKV, counter, counterAt);
    return true;
  }

  private instanceFor(shape: AttentionShape): Instance | null {
    const key = `${shape.HS}:${shape.T}`;
    let instance = this.instances.get(key);
    if (!instance) {
      const compiled = compiledAttention(shape.HS, shape.T);
      if (!compiled) return null;
      const memory = new WebAssembly.Memory({ initial: compiled.layout.pages });
      const exports = new WebAssembly.Instance(compiled.module, { env: { memory } }).exports as unknown as AttentionHeadKernel;
      instance = { kernel: exports, heap: new Float32Array(memory.buffer), layout: compiled.layout };
      // a few shapes at a time: a run that changes T often must not keep a memory per length it saw
      if (this.instances.size >= MAX_INSTANCES) this.instances.delete(this.instances.keys().next().value!);
      this.instances.set(key, instance);
    }
    return instance;
  }
}
