// The one shared WebAssembly memory the engine's kernels work in place in: the two-thread SIMD matmul's
// (ParallelSimdMatmul), where the model keeps its activations, gradient scratch and logits. The
// attention (./attention-resident.ts) and element-wise kernels (./pointwise-resident.ts) register it
// and run on arrays that live there without copying them.

/** A shared memory and its owner's bookkeeping: where arrays live in it, and room for scratch. */
export interface ResidentMemory {
  /** A shared WebAssembly memory (it may grow; views of its earlier buffers stay valid). */
  readonly memory: WebAssembly.Memory;
  /** Its maximum size in pages (the modules importing it declare the same). */
  readonly maxPages: number;
  /** The byte address of an array that lives in the memory, else -1. */
  addressOf(array: Float32Array): number;
  /** Zeroed floats inside the memory, kept for good, or null when there is no room. */
  allocate(floats: number): Float32Array | null;
}

const PAGE = 65536;

/**
 * A shared memory of its own with a bump allocator, as a ResidentMemory: tests and benchmarks place
 * operands there (the fast kernel set uses the SIMD matmul's memory instead). Null where shared
 * WebAssembly memory is missing.
 */
export class SharedArena implements ResidentMemory {
  readonly memory: WebAssembly.Memory;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private end = 0;

  constructor(readonly maxPages = 16384) {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared: true });
    this.buffers.add(this.memory.buffer);
  }

  addressOf(array: Float32Array): number {
    return this.buffers.has(array.buffer) ? array.byteOffset : -1;
  }

  allocate(floats: number): Float32Array | null {
    const at = this.end, bytes = Math.ceil((floats * 4) / 16) * 16;
    if (at + bytes > this.maxPages * PAGE) return null;
    const have = this.memory.buffer.byteLength;
    if (at + bytes > have) {
      this.memory.grow(Math.ceil((at + bytes - have) / PAGE));
      this.buffers.add(this.memory.buffer);
    }
    this.end = at + bytes;
    return new Float32Array(this.memory.buffer, at, floats).fill(0);
  }
}
